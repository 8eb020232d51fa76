/**
 * `npm run simulate -- --runtime vapi|retell|elevenlabs`: a simulated caller's call carried
 * the way that runtime carries it to us (PROTOCOL §6.2), over HTTP tool webhooks. The
 * harness plays the vendor: it gives the tenant temporary settings of that kind (secrets of
 * its own, removed after the run; a tenant with real settings is refused), signs every
 * request as the vendor does (its own node:crypto code, not the broker's checks), and
 * turns the caller's actions into the vendor's requests:
 *
 * - Vapi: `tool-calls` server messages with a `toolCallList`, caller speech as
 *   `speech-update` / `transcript` with role user, `end-of-call-report` to hang up.
 * - Retell: `call_started`, full-payload custom function calls, `call_ended`, each signed
 *   `X-Retell-Signature: v=<ms>,d=<hex HMAC-SHA256(api_key, body + ms)>`.
 * - ElevenLabs: one POST per tool with `conversation_id` and `caller_id` in the body and
 *   `Authorization: Bearer <tool_secret>`, the signed post-call webhook to hang up.
 *
 * Retell and ElevenLabs pass none of the caller's speech on: only their tool requests count
 * as activity (`carriesSpeech: false`, so the caller judges its silence the same way).
 * These runtimes tell a caller nothing between answers, so what the broker holds is read
 * from the admin API: the hold's end while one is held, and the outcome after the hang-up.
 * A drop is silence (no end webhook): the broker ends the session as `dropped` after
 * HTTP_SESSION_IDLE_S, which the harness does not wait for; a reconnection within it is the
 * same call going on, resumed with whatever hold the broker still has for it.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { FrameInbox, type CallClient, type Frame, type ToolResultFrame } from './runtime-client.js';
import { TargetError } from './target.js';

export const httpRuntimes = ['vapi', 'retell', 'elevenlabs'] as const;
export type HttpRuntimeName = (typeof httpRuntimes)[number];
export const isHttpRuntime = (name: string): name is HttpRuntimeName => (httpRuntimes as readonly string[]).includes(name);

export interface HttpRuntime {
  dial(callId: string, phone: string, reconnecting: boolean): Promise<CallClient>;
  close(): Promise<void>;
}

type WireHold = { id: string; status: string; [key: string]: unknown };
type Secrets = Record<string, string>;

const SALON_NUMBER = '+49301234567';
const hex = (key: string, data: string) => createHmac('sha256', key).update(data).digest('hex');

interface Environment {
  runtime: HttpRuntimeName;
  url: string;
  tenant: string;
  adminToken: string;
  secrets: Secrets;
}

/** How one vendor says each thing the caller does; every method resolves with the answer's JSON. */
interface Wire {
  readonly carriesSpeech: boolean;
  start(callId: string, phone: string): Promise<void>;
  tool(callId: string, phone: string, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
  speech(callId: string, phone: string, frame: Record<string, unknown>): void;
  end(callId: string, phone: string): Promise<void>;
}

async function post(env: Environment, path: string, body: unknown, headers: Record<string, string>): Promise<unknown> {
  const raw = JSON.stringify(body);
  const response = await fetch(new URL(`/v1/integrations/${env.runtime}/${encodeURIComponent(env.tenant)}${path}`, env.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers, ...signatureOf(env, raw) },
    body: raw,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${env.runtime} ${path || '/'} answered HTTP ${response.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : {};
}

/** The vendor's own signature of a raw body, where it signs one. */
function signatureOf(env: Environment, raw: string): Record<string, string> {
  if (env.runtime === 'retell') {
    const ms = String(Date.now());
    return { 'x-retell-signature': `v=${ms},d=${hex(env.secrets.api_key!, raw + ms)}` };
  }
  return {};
}

function wireFor(env: Environment): Wire {
  switch (env.runtime) {
    case 'vapi': {
      const auth = { 'x-vapi-secret': env.secrets.secret! };
      const message = (callId: string, phone: string, fields: Record<string, unknown>) => ({ message: { ...fields, call: { id: callId, customer: { number: phone } } } });
      // Speech goes out without waiting for its answer, but in order: a call's next tool call or its end follows it.
      const pending = new Map<string, Promise<unknown>>();
      const settled = (callId: string) => pending.get(callId) ?? Promise.resolve();
      return {
        carriesSpeech: true,
        start: async () => {},
        async tool(callId, phone, name, args) {
          await settled(callId);
          const id = `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
          const answer = (await post(env, '', message(callId, phone, { type: 'tool-calls', toolCallList: [{ id, name, parameters: args }] }), auth)) as { results?: Array<{ toolCallId: string; result: string }> };
          const result = answer.results?.find((entry) => entry.toolCallId === id);
          if (!result) throw new Error(`vapi answered no result for tool call ${id}`);
          return JSON.parse(result.result) as Record<string, unknown>;
        },
        speech(callId, phone, frame) {
          const fields =
            frame.type === 'caller.activity'
              ? { type: 'speech-update', role: 'user', status: frame.speaking === true ? 'started' : 'stopped' }
              : { type: 'transcript', role: 'user', transcriptType: frame.final === true ? 'final' : 'partial', transcript: String(frame.text ?? '') };
          const sent = settled(callId).then(() => post(env, '', message(callId, phone, fields), auth)).catch(() => {});
          pending.set(callId, sent);
        },
        async end(callId, phone) {
          await settled(callId);
          pending.delete(callId);
          await post(env, '', message(callId, phone, { type: 'end-of-call-report', endedReason: 'customer-ended-call' }), auth);
        },
      };
    }
    case 'retell': {
      const call = (callId: string, phone: string) => ({ call_id: callId, from_number: phone, to_number: SALON_NUMBER, direction: 'inbound', call_type: 'phone_call' });
      return {
        carriesSpeech: false,
        async start(callId, phone) {
          await post(env, '/webhook', { event: 'call_started', call: { ...call(callId, phone), call_status: 'ongoing' } }, {});
        },
        async tool(callId, phone, name, args) {
          return (await post(env, '/tools', { name, call: call(callId, phone), args }, {})) as Record<string, unknown>;
        },
        speech: () => {},
        async end(callId, phone) {
          await post(env, '/webhook', { event: 'call_ended', call: { ...call(callId, phone), call_status: 'ended', disconnection_reason: 'user_hangup' } }, {});
        },
      };
    }
    case 'elevenlabs':
      return {
        carriesSpeech: false,
        start: async () => {},
        async tool(callId, phone, name, args) {
          return (await post(env, `/tools/${name}`, { ...args, conversation_id: callId, caller_id: phone }, { authorization: `Bearer ${env.secrets.tool_secret}` })) as Record<string, unknown>;
        },
        speech: () => {},
        async end(callId) {
          const raw = JSON.stringify({ type: 'post_call_transcription', event_timestamp: Math.floor(Date.now() / 1000), data: { conversation_id: callId, agent_id: 'harness', status: 'done' } });
          const t = String(Math.floor(Date.now() / 1000));
          const response = await fetch(new URL(`/v1/integrations/elevenlabs/${encodeURIComponent(env.tenant)}/webhook`, env.url), {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'elevenlabs-signature': `t=${t},v0=${hex(env.secrets.webhook_secret!, `${t}.${raw}`)}` },
            body: raw,
          });
          const text = await response.text();
          if (response.status !== 200) throw new Error(`elevenlabs /webhook answered HTTP ${response.status}: ${text.slice(0, 300)}`);
        },
      };
  }
}

type SessionDetail = { status?: string; outcome?: string; appointment?: unknown; hold?: WireHold | null };

async function sessionDetail(env: Environment, callId: string): Promise<SessionDetail | null> {
  const response = await fetch(new URL(`/v1/sessions/${encodeURIComponent(env.tenant)}/${encodeURIComponent(callId)}`, env.url), { headers: { authorization: `Bearer ${env.adminToken}` } });
  return (await response.json().catch(() => null)) as SessionDetail | null;
}

const HOLD_POLL_MS = 250;

export class HttpCallClient extends FrameInbox implements CallClient {
  readonly carriesSpeech: boolean;
  private closedWith: ((value: { code: number; reason: string }) => void) | null = null;
  private readonly closed: Promise<{ code: number; reason: string }>;
  private toolCounter = 0;
  private gone = false;
  private poller: NodeJS.Timeout | null = null;

  constructor(
    private readonly env: Environment,
    private readonly wire: Wire,
    private readonly callId: string,
    private readonly phone: string,
    private hold: WireHold | null,
    private readonly resumed: boolean,
  ) {
    super();
    this.carriesSpeech = wire.carriesSpeech;
    this.closed = new Promise((resolve) => (this.closedWith = resolve));
  }

  async start(): Promise<Frame> {
    if (!this.resumed) await this.wire.start(this.callId, this.phone);
    const ready: Frame = { type: 'session.ready', call_id: this.callId, resumed: this.resumed, hold: this.hold, now: new Date().toISOString() };
    this.watchHold();
    this.receive(ready);
    return ready;
  }

  async tool(name: string, args: Record<string, unknown> = {}, id = `t${++this.toolCounter}`, timeoutMs = 5000): Promise<ToolResultFrame> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${name}: no answer within ${timeoutMs} ms`)), timeoutMs)));
    const body = await Promise.race([this.wire.tool(this.callId, this.phone, name, args), timeout]).finally(() => clearTimeout(timer));
    const { ok, error, ...result } = body as { ok?: unknown; error?: { code: string; message: string } } & Record<string, unknown>;
    const frame: ToolResultFrame = { type: 'tool.result', id, ok: ok === true, result, ...(error ? { error } : {}) };
    this.receive(frame);
    this.holdFrom(name, frame);
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

  /** While a hold is held, asks the admin API whether the broker still has it: these runtimes would not say. */
  private watchHold(): void {
    const tick = async () => {
      if (this.gone) return;
      const hold = this.hold;
      if (hold) {
        const detail = await sessionDetail(this.env, this.callId).catch(() => null);
        if (detail && this.hold?.id === hold.id) {
          const now = detail.hold ?? null;
          const over = detail.status === 'ended' || !now || now.id !== hold.id || !['held', 'extended'].includes(now.status);
          if (over) this.holdUpdate({ ...hold, status: now && now.id === hold.id ? now.status : 'expired' });
        }
      }
      if (!this.gone) this.poller = setTimeout(tick, HOLD_POLL_MS);
    };
    this.poller = setTimeout(tick, HOLD_POLL_MS);
  }

  send(frame: Record<string, unknown>): void {
    if (this.gone) return;
    if (frame.type === 'caller.activity' || (frame.type === 'transcript' && frame.role === 'caller')) this.wire.speech(this.callId, this.phone, frame);
  }

  /** The caller hangs up: the vendor's end webhook; the outcome is read back from the admin API. */
  async end(): Promise<Frame> {
    this.stop();
    await this.wire.end(this.callId, this.phone);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const detail = await sessionDetail(this.env, this.callId).catch(() => null);
      if (detail?.status === 'ended') {
        const ended: Frame = { type: 'session.ended', outcome: detail.outcome ?? 'no_booking', appointment: detail.appointment ?? null };
        this.receive(ended);
        this.closedWith?.({ code: 1000, reason: '' });
        return ended;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the session did not end within 15 s of the hang-up');
  }

  waitClosed(): Promise<{ code: number; reason: string }> {
    return this.closed;
  }

  /** The caller vanishes: nothing more is sent, no end webhook; the broker's idle limit ends the session. */
  drop(): void {
    this.stop();
    this.closedWith?.({ code: 1006, reason: '' });
  }

  private stop(): void {
    this.gone = true;
    if (this.poller) clearTimeout(this.poller);
  }

  /** A reconnection is the same call going on: resumed while the broker still has it live, with the hold it still has. */
  static async resume(env: Environment, wire: Wire, callId: string, phone: string): Promise<HttpCallClient> {
    const detail = await sessionDetail(env, callId).catch(() => null);
    const live = detail?.status === 'live';
    const hold = live && detail?.hold && ['held', 'extended'].includes(detail.hold.status) ? detail.hold : null;
    return new HttpCallClient(env, wire, callId, phone, hold, live);
  }
}

const settingsOf = (runtime: HttpRuntimeName): Secrets => {
  const secret = () => `harness-${randomBytes(18).toString('base64url')}`;
  if (runtime === 'vapi') return { secret: secret() };
  if (runtime === 'retell') return { api_key: secret() };
  return { tool_secret: secret(), webhook_secret: secret() };
};

export async function prepareHttpRuntime(options: { runtime: HttpRuntimeName; url: string; tenant: string | undefined; adminToken: string | undefined; locale: string }): Promise<HttpRuntime> {
  const { runtime, tenant, adminToken } = options;
  if (!tenant || !adminToken) throw new TargetError(`--runtime ${runtime} needs --tenant and --admin-token (or the demo broker): it gives the tenant temporary ${runtime} settings`);
  const settingsPath = `/v1/admin/tenants/${encodeURIComponent(tenant)}/integrations/${runtime}`;
  const admin = async (method: string, body?: unknown) => {
    const response = await fetch(new URL(settingsPath, options.url), {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    await response.arrayBuffer();
    return response.status;
  };
  const existing = await admin('GET');
  if (existing === 401 || existing === 403) throw new TargetError(`the broker refused the admin token (HTTP ${existing}): --runtime ${runtime} needs the broker's ADMIN_TOKEN to give the tenant temporary ${runtime} settings`);
  if (existing === 200) throw new TargetError(`tenant "${tenant}" has ${runtime} settings already; the harness would replace them: use a tenant of its own (--tenant sim-${runtime})`);
  const secrets = settingsOf(runtime);
  const put = await admin('PUT', { ...secrets, locale: options.locale });
  if (put !== 200) throw new TargetError(`storing the tenant's ${runtime} settings failed: HTTP ${put} (does this broker have PROTOCOL §6.2?)`);
  const env: Environment = { runtime, url: options.url, tenant, adminToken, secrets };
  const wire = wireFor(env);
  return {
    async dial(callId, phone, reconnecting) {
      return reconnecting ? HttpCallClient.resume(env, wire, callId, phone) : new HttpCallClient(env, wire, callId, phone, null, false);
    },
    async close() {
      await admin('DELETE').catch(() => {});
    },
  };
}
