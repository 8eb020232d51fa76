/**
 * `npm run simulate -- --runtime openai`: a simulated caller's call carried the way OpenAI
 * Realtime over SIP carries it (PROTOCOL §6.1). The harness plays OpenAI: its stand-in of
 * the Realtime service (openai-realtime-service.ts) receives the broker's accept and
 * sideband, a signed `realtime.call.incoming` rings the broker, and the caller's speech and
 * tool calls become server events (speech_started/stopped, transcriptions, function calls
 * inside a response). The broker's answers come back as function_call_output; this adapter
 * turns them into our frames (`tool.result`, and the `hold.updated` they imply), so the
 * caller scripts and the judging stay the same as over our WebSocket.
 *
 * What OpenAI does not tell a caller is read elsewhere: the end of the call from the admin
 * API (session status and outcome), an expired or lost hold from the broker's system note.
 * A drop breaks the sideband; the broker redials it by itself, and `reconnect` waits for it.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { FakeCall, FakeRealtime, ClientEventRecord } from './openai-realtime-service.js';
import { FrameInbox, type CallClient, type Frame, type ToolResultFrame } from './runtime-client.js';

export interface OpenAiCallEnvironment {
  service: FakeRealtime;
  /** The broker's base URL. */
  url: string;
  tenant: string;
  adminToken: string;
  webhookSecret: string;
}

type WireHold = { id: string; status: string; [key: string]: unknown };

/** Standard Webhooks signature, as OpenAI signs its webhooks. */
function sign(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** Rings the broker as OpenAI would and resolves once the broker has opened the call's sideband. */
export async function ringBroker(env: OpenAiCallEnvironment, callId: string, phone: string): Promise<FakeCall> {
  const body = JSON.stringify({
    object: 'event',
    id: `evt_${randomUUID()}`,
    type: 'realtime.call.incoming',
    created_at: Math.floor(Date.now() / 1000),
    data: { call_id: callId, sip_headers: [{ name: 'From', value: `<sip:${phone}@harness.invalid>;tag=${randomUUID().slice(0, 8)}` }, { name: 'To', value: 'sip:salon@sip.api.openai.com' }] },
  });
  const id = `wh_${randomUUID()}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const response = await fetch(new URL(`/v1/integrations/openai/${encodeURIComponent(env.tenant)}/webhook`, env.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': sign(env.webhookSecret, id, timestamp, body) },
    body,
  });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`the broker answered the call's webhook with HTTP ${response.status}`);
  return env.service.waitForSideband(callId, 10_000);
}

export class OpenAiCallClient extends FrameInbox implements CallClient {
  private closedWith: ((value: { code: number; reason: string }) => void) | null = null;
  private readonly closed: Promise<{ code: number; reason: string }>;
  private readonly unsubscribe: Array<() => void> = [];
  private toolCounter = 0;
  /** Sideband connections the broker had made when this one started: a redial is one more. */
  private readonly connectionsAtStart: number;

  /** `hold`: what the caller's previous connection knew, carried over a drop. */
  private constructor(
    private readonly env: OpenAiCallEnvironment,
    private readonly call: FakeCall,
    private hold: WireHold | null,
    private readonly resumed: boolean,
  ) {
    super();
    this.connectionsAtStart = call.connections;
    this.closed = new Promise((resolve) => (this.closedWith = resolve));
    this.unsubscribe.push(call.onEvent((event) => this.onBrokerEvent(event)));
    this.unsubscribe.push(call.onClose((code) => this.finish(code)));
  }

  /** The first connection rings the broker; a reconnection waits for the broker's own redial of the sideband. */
  static async dial(env: OpenAiCallEnvironment, callId: string, phone: string, previous: OpenAiCallClient | null): Promise<OpenAiCallClient> {
    if (!previous) return new OpenAiCallClient(env, await ringBroker(env, callId, phone), null, false);
    const call = previous.call;
    await call.waitForConnections(previous.connectionsAtStart + 1, 30_000);
    return new OpenAiCallClient(env, call, previous.hold, true);
  }

  /** The call is up once the sideband is: what the broker holds for it is what this caller last heard. */
  async start(): Promise<Frame> {
    const ready: Frame = { type: 'session.ready', call_id: this.call.callId, resumed: this.resumed, hold: this.hold, now: new Date().toISOString() };
    this.receive(ready);
    return ready;
  }

  async tool(name: string, args: Record<string, unknown> = {}, id = `t${++this.toolCounter}`, timeoutMs = 5000): Promise<ToolResultFrame> {
    const mark = this.call.received.length;
    const callId = `${id}_${randomUUID().slice(0, 8)}`;
    this.call.functionCall(name, args, { callId });
    const { ok, error, ...result } = await this.call.output(callId, { timeoutMs, fromIndex: mark });
    const frame: ToolResultFrame = { type: 'tool.result', id, ok: ok === true, result, ...(error ? { error } : {}) };
    this.receive(frame);
    this.holdFrom(name, frame);
    // The model reads the answer in the response the broker asks for next, and calls its next
    // function inside it, never before it: wait for that request as the model would.
    const outputAt = this.call.received.findIndex((event, index) => index >= mark && event.item?.call_id === callId);
    await this.call.waitFor((event) => event.type === 'response.create', { fromIndex: outputAt + 1, timeoutMs }).catch(() => {});
    return frame;
  }

  /** The holds a tool result implies, as our `hold.updated` frames would have told them. */
  private holdFrom(name: string, frame: ToolResultFrame): void {
    const result = frame.result;
    const held = result.hold as WireHold | undefined;
    if (name === 'check_availability' && result.available === true && held) {
      if (this.hold && this.hold.id !== held.id) this.holdUpdate({ ...this.hold, status: 'released' });
      this.holdUpdate({ ...held, status: 'held' });
    } else if ((name === 'book_appointment' && result.booked === true) || (name === 'release_hold' && result.released === true)) {
      if (this.hold) this.holdUpdate({ ...this.hold, status: name === 'release_hold' ? 'released' : 'booked' });
    }
  }

  private holdUpdate(hold: WireHold): void {
    this.hold = hold.status === 'held' || hold.status === 'extended' ? hold : null;
    this.receive({ type: 'hold.updated', hold });
  }

  /** The broker's system note that the hold expired or was lost (the only hold news OpenAI passes on). */
  private onBrokerEvent(event: ClientEventRecord): void {
    if (event.type !== 'conversation.item.create' || event.item?.type !== 'message' || !this.hold) return;
    const text = String(event.item.content?.[0]?.text ?? '');
    const status = /abgelaufen|expired/.test(text) ? 'expired' : /verloren|was lost/.test(text) ? 'lost' : null;
    if (status) this.holdUpdate({ ...this.hold, status });
  }

  /** Caller speech as OpenAI's server VAD and transcription report it; partial transcripts have no counterpart. */
  send(frame: Record<string, unknown>): void {
    if (frame.type === 'caller.activity') this.call.speech(frame.speaking === true);
    else if (frame.type === 'transcript' && frame.role === 'caller' && frame.final === true) this.call.callerSaid(String(frame.text ?? ''));
  }

  /** The caller hangs up: OpenAI closes the sideband normally; the outcome is read back from the admin API. */
  async end(): Promise<Frame> {
    this.call.hangUp();
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const response = await fetch(new URL(`/v1/sessions/${encodeURIComponent(this.env.tenant)}/${encodeURIComponent(this.call.callId)}`, this.env.url), {
        headers: { authorization: `Bearer ${this.env.adminToken}` },
      });
      const detail = (await response.json().catch(() => null)) as { status?: string; outcome?: string; appointment?: unknown } | null;
      if (detail?.status === 'ended') {
        const ended: Frame = { type: 'session.ended', outcome: detail.outcome ?? 'no_booking', appointment: detail.appointment ?? null };
        this.receive(ended);
        return ended;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the session did not end within 15 s of the hang-up');
  }

  waitClosed(): Promise<{ code: number; reason: string }> {
    return this.closed;
  }

  drop(): void {
    this.call.drop();
    this.finish(1006);
  }

  private finish(code: number): void {
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    this.closedWith?.({ code, reason: '' });
  }
}
