/**
 * Changes of sessions as they happen, for the inspector's live feed and the metrics. One
 * per app; a subscriber that throws does not disturb the others or the session. Holds and
 * appointments travel as the machine keeps them; whoever shows them encodes them.
 */
import type { AppointmentView, HoldUpdateStatus, HoldView } from '../../machines/call-session.types.js';

export type SessionFeedEvent =
  | { type: 'session.started'; tenant: string; call_id: string; runtime: string; resumed: boolean; at: string }
  | { type: 'state.changed'; tenant: string; call_id: string; state: unknown; at: string }
  | { type: 'hold.changed'; tenant: string; call_id: string; status: HoldUpdateStatus; hold: HoldView; timezone: string; at: string }
  | { type: 'appointment.changed'; tenant: string; call_id: string; status: 'booked' | 'cancelled'; appointment: AppointmentView; timezone: string; at: string }
  | { type: 'tool.answered'; tenant: string; call_id: string; tool: string; id: string; ok: boolean; latency_ms: number; error_code?: string; at: string }
  | { type: 'session.ended'; tenant: string; call_id: string; outcome: string; at: string };

export type SessionFeedListener = (event: SessionFeedEvent) => void;

export class SessionFeed {
  private readonly listeners = new Set<SessionFeedListener>();

  subscribe(listener: SessionFeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: SessionFeedEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        this.listeners.delete(listener);
      }
    }
  }
}
