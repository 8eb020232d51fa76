/**
 * Our call WebSocket (PROTOCOL §3) as a codec of the session host: decoded frames become
 * machine events, what a session emits becomes frames, and the host's close reasons
 * become close codes. The transport (src/routes/calls.ts) carries the bytes.
 * @see ../../../docs/PROTOCOL.md §3
 */
import { z } from 'zod';
import type { CallSessionEmitted, CallSessionEvent } from '../../../machines/call-session.types.js';
import type { CloseReason, SessionReady } from '../../sessions/ports.js';
import { isoIn, wireAppointment, wireHold } from '../records.js';
import type { InboundFrame, OutboundFrame } from './frames.js';

/** `GET /v1/calls/{call_id}`: the runtime's own id for the call (PROTOCOL §3). */
export const callParams = z.object({ call_id: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'call_id must be 1-128 characters of [A-Za-z0-9_.:-]') });

/** Close codes of PROTOCOL §3 and RFC 6455. */
export const CloseCode = {
  ended: 1000,
  tooBig: 1009,
  restarting: 1012,
  takenOver: 4000,
  noStart: 4001,
  tooSlow: 4008,
} as const;

const closeCodeOf: Record<CloseReason, number> = { ended: CloseCode.ended, restarting: CloseCode.restarting, taken_over: CloseCode.takenOver };
const closeReasonText: Record<CloseReason, string> = { ended: 'session ended', restarting: 'broker restarting', taken_over: 'taken over by a newer connection' };

export const closeFor = (reason: CloseReason) => ({ code: closeCodeOf[reason], reason: closeReasonText[reason] });

/** The machine event a frame stands for, or null for frames the transport answers itself (start, ping) or that mean nothing to the session. */
export function sessionEventOf(frame: InboundFrame, at: number): CallSessionEvent | null {
  switch (frame.type) {
    case 'caller.activity':
      return { type: 'caller.activity', speaking: frame.speaking, at };
    case 'transcript':
      return frame.role === 'caller' ? { type: 'caller.transcript', at } : null;
    case 'tool.call':
      return { type: 'tool.requested', call: { id: frame.id, name: frame.name, arguments: frame.arguments, receivedAt: at } };
    case 'session.end':
      return { type: 'session.end', at };
    case 'session.start':
    case 'ping':
      return null;
  }
}

export function encodeReady(ready: SessionReady): OutboundFrame {
  return {
    type: 'session.ready',
    call_id: ready.callId,
    resumed: ready.resumed,
    state: ready.state,
    now: isoIn(ready.now, ready.timezone),
    timezone: ready.timezone,
    hold: ready.hold ? wireHold(ready.hold, 'held', ready.timezone) : null,
  };
}

/** A frame for what the session emitted; tool answers carry their call id and latency for the event log. */
export function encodeEmitted(event: CallSessionEmitted, timezone: string): { frame: OutboundFrame; toolCallId?: string; latencyMs?: number } {
  switch (event.type) {
    case 'tool.answered': {
      const { ok, result, error } = event.response;
      return { frame: { type: 'tool.result', id: event.call.id, ok, result, ...(error ? { error } : {}) }, toolCallId: event.call.id, latencyMs: event.latencyMs };
    }
    case 'hold.updated':
      return { frame: { type: 'hold.updated', hold: wireHold(event.hold, event.status, timezone) } };
    case 'appointment.updated':
      return { frame: { type: 'appointment.updated', appointment: { ...wireAppointment(event.appointment, timezone), status: event.status } } };
    case 'session.ended':
      return {
        frame: { type: 'session.ended', outcome: event.outcome, appointment: event.appointment ? wireAppointment(event.appointment, timezone) : null },
      };
  }
}
