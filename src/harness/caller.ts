/**
 * One simulated caller: plays a role's step script over a real call WebSocket, the way
 * a voice runtime would carry a human's call, and records what it was told in the run's
 * tally. It speaks only the public contract (PROTOCOL §3–4).
 *
 * The caller judges the broker from the caller's side: "told available" is a promise,
 * and a refusal later is a broken promise unless the caller went quiet long enough for
 * the hold to lapse (more than 2/3 of the TTL: the broker extends a hold only when less
 * than that is left, so that is what talking guarantees) or the hold had reached HOLD_MAX.
 */
import { performance } from 'node:perf_hooks';
import type { WireHold } from '../protocol/records.js';
import { localDateTime } from './catalog.js';
import type { Prng } from './prng.js';
import { RuntimeClient, type CallClient, type Frame, type ToolResultFrame } from './runtime-client.js';
import { longestService, shortestService, type Salon } from './salon.js';
import type { Amount, Condition, SlotSpec, Step } from './scenario.js';
import type { RunTally } from './tally.js';

/** Share of the TTL a hold is guaranteed to outlast the caller's last activity (see the file comment). */
export const GUARANTEED_SHARE_OF_TTL = 2 / 3;
/** Slack for the frame in flight and timer jitter when judging whether a caller was still "talking". */
const SILENCE_MARGIN_MS = 150;

export interface Alternative {
  start: string;
  end: string;
  staff: string;
  staff_name?: string;
}

/** A slot as the caller asks for it: service name, local date and time, maybe a staff member. */
export interface AskedSlot {
  service: string;
  date: string;
  time: string;
  staff?: string | undefined;
}

export interface CallerEnvironment {
  url: string;
  /** Opens the call another way than our WebSocket (`--runtime openai`); `reconnecting` after a drop. */
  dial?: ((callId: string, phone: string, reconnecting: boolean) => Promise<CallClient>) | undefined;
  token: string;
  callId: string;
  index: number;
  role: string;
  prng: Prng;
  /** The stream shared by callers of one `share` group for the slot drawn at `stepPath`. */
  sharedPrng(stepPath: string, share: SlotSpec['share']): Prng;
  /** What the harness learned of the salon before the run. */
  salon: Salon;
  date: string;
  holdTtlMs: number;
  holdMaxMs: number;
  /** Multiplies `s` durations: holdTtl / 60 s unless overridden. */
  timeScale: number;
  wordsPerSecond: number;
  locale: string;
  customerName: string;
  phone: string;
  /** Check, release the hold at once, and book later by naming the slot: a system without holds. */
  naive: boolean;
  toolTimeoutMs: number;
  tally: RunTally;
  /** Resolves when every caller that will reach the `sync` step at `stepPath` has (or a timeout passed). */
  sync(stepPath: string): Promise<void>;
  /** Tells the run this caller was offered a slot (only the first offer counts). */
  publishOffer(slot: AskedSlot, atMs: number): void;
  /** The first slot offered to another caller of this caller's group of `size`, or null after a timeout. */
  groupOffer(size: number): Promise<{ slot: AskedSlot; atMs: number } | null>;
}

const FILLER = 'ja also ich wollte gern einen Termin haben wenn das geht vielleicht am Freitag so gegen zehn Uhr oder etwas später das wäre schön danke'.split(' ');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

export class SimulatedCaller {
  private client: CallClient | null = null;
  private everConnected = false;
  private clockOffsetMs = 0;
  private toolCounter = 0;
  private hold: WireHold | null = null;
  private request: AskedSlot | null = null;
  private offered: { slot: AskedSlot; at: number } | null = null;
  private alternatives: Alternative[] = [];
  private lastBookRefused = false;
  private booked: Record<string, unknown> | null = null;
  private lastActivityAt = performance.now();
  /** The longest silence since the current offer was made: more than the guaranteed share of the TTL and the hold may lapse. */
  private longestSilenceSinceOffer = 0;
  private currentStep = 'start';
  /** Tool errors the script does not expect (anything but a refused booking): the caller could not do its part. */
  private unexpectedErrors = 0;

  constructor(private readonly env: CallerEnvironment) {}

  /** Plays the script to the end; failures are tallied, never thrown. */
  async run(steps: Step[]): Promise<void> {
    const { tally } = this.env;
    try {
      await this.steps(steps, 'r');
      if (this.unexpectedErrors === 0) tally.completedScripts++;
    } catch (error) {
      tally.failure({ call_id: this.env.callId, what: `${this.currentStep}: ${error instanceof Error ? error.message.slice(0, 400) : String(error)}` });
    } finally {
      if (this.client) {
        this.client.drop();
        this.client = null;
      }
      if (this.everConnected) tally.live--;
      tally.finished++;
    }
  }

  private async steps(steps: Step[], path: string): Promise<void> {
    for (const [index, step] of steps.entries()) {
      const stepPath = `${path}.${index}`;
      if (step.when && !this.holds(step.when)) continue;
      if (step.chance !== undefined && !this.env.prng.chance(step.chance)) continue;
      this.currentStep = `${stepPath}:${step.do}`;
      await this.step(step, stepPath);
    }
  }

  private holds(condition: Condition): boolean {
    switch (condition) {
      case 'offered':
        return this.offered !== null;
      case 'not_offered':
        return this.offered === null;
      case 'held':
        return this.hold !== null;
      case 'no_hold':
        return this.hold === null;
      case 'booked':
        return this.booked !== null;
      case 'not_booked':
        return this.booked === null;
      case 'refused':
        return this.lastBookRefused;
    }
  }

  private async step(step: Step, path: string): Promise<void> {
    switch (step.do) {
      case 'connect':
        return this.connect(step.locale);
      case 'context':
        await this.tool('get_current_context');
        await this.tool('check_customer');
        return;
      case 'services':
        await this.tool('list_services');
        return;
      case 'say':
        return this.say(this.count(step.words ?? [3, 8]));
      case 'think':
        return sleep(this.duration(step));
      case 'talk':
        return this.talk(this.duration(step));
      case 'check':
        return this.check(await this.resolveSlot(step.slot ?? {}, path), step.sync ? path : null);
      case 'pick_alternative':
        return this.pickAlternative(step.choose ?? 'random');
      case 'book':
        return this.book(step.direct ?? false);
      case 'release':
        return this.release();
      case 'wait_hold_end':
        return this.waitHoldEnd();
      case 'drop':
        return this.drop();
      case 'reconnect':
        if (!this.client) await this.connect(undefined, true);
        return;
      case 'hangup':
        return this.hangup();
      case 'group':
        return this.steps(step.steps, path);
      case 'until_booked': {
        const attempts = step.max_attempts ?? 6;
        for (let attempt = 0; attempt < attempts && !this.booked; attempt++) await this.steps(step.steps, `${path}.${attempt}`);
        if (!this.booked) this.env.tally.gaveUp++;
        return;
      }
      case 'repeat': {
        const attempts = step.max_attempts ?? 6;
        for (let attempt = 0; attempt < attempts && !this.holds(step.until); attempt++) await this.steps(step.steps, `${path}.${attempt}`);
        return;
      }
    }
  }

  // ── connection ───────────────────────────────────────────────────────────────────

  private async connect(locale: string | undefined, reconnecting = false): Promise<void> {
    const { tally } = this.env;
    const client = this.env.dial ? await this.env.dial(this.env.callId, this.env.phone, reconnecting) : await RuntimeClient.connect(this.env.url, this.env.callId, this.env.token);
    client.onFrame((frame) => this.onFrame(frame));
    const sentAt = Date.now();
    const ready = await client.start({ from: this.env.phone, locale: locale ?? this.env.locale });
    this.client = client;
    if (typeof ready.now === 'string') this.clockOffsetMs = Date.parse(ready.now) - (sentAt + Date.now()) / 2;
    if (!this.everConnected) {
      this.everConnected = true;
      tally.calls++;
      tally.live++;
    }
    if (!reconnecting) return;
    const resumedHold = (ready.hold as WireHold | null) ?? null;
    if (ready.resumed === true) tally.resumed++;
    else tally.notResumed++;
    if (this.hold && resumedHold?.id === this.hold.id) tally.resumedWithHold++;
    else if (this.hold && Math.max(this.longestSilenceSinceOffer, this.silenceMs()) < this.guaranteedMs()) {
      tally.holdMissingAfterResume++;
      tally.violation({ call_id: this.env.callId, what: 'hold missing after a resume within its TTL', detail: { hold: this.hold, ready } });
    }
    this.hold = resumedHold;
  }

  private onFrame(frame: Frame): void {
    if (frame.type !== 'hold.updated') return;
    const hold = frame.hold as WireHold;
    this.env.tally.holdSeen(hold.status, hold.id);
    if (hold.status === 'held' || hold.status === 'extended') {
      if (!this.hold || this.hold.id === hold.id) this.hold = hold;
    } else if (this.hold?.id === hold.id) {
      this.hold = null;
    }
  }

  private drop(): void {
    if (!this.client) return;
    this.client.drop();
    this.client = null;
    this.env.tally.drops++;
  }

  private async hangup(): Promise<void> {
    const client = this.requireClient();
    const ended = await client.end();
    this.env.tally.outcome(String(ended.outcome));
    await Promise.race([client.waitClosed(), sleep(2000)]);
    this.client = null;
  }

  private requireClient(): CallClient {
    if (!this.client) throw new Error('not connected');
    return this.client;
  }

  // ── speech ───────────────────────────────────────────────────────────────────────

  /** Caller speech: activity on, partial transcripts at the speaking pace, a final one, activity off. */
  private async say(words: number): Promise<void> {
    const client = this.requireClient();
    const wordsPerChunk = Math.max(1, Math.round(this.env.wordsPerSecond));
    const chunkMs = (wordsPerChunk / this.env.wordsPerSecond) * 1000 * this.env.timeScale;
    const spoken: string[] = [];
    // A runtime that passes no speech on (Retell, ElevenLabs) leaves the broker hearing nothing: not activity.
    const heard = client.carriesSpeech !== false;
    client.send({ type: 'caller.activity', speaking: true });
    if (heard) this.touch();
    while (spoken.length < words) {
      const chunk = Math.min(wordsPerChunk, words - spoken.length);
      await sleep(chunkMs * (chunk / wordsPerChunk));
      for (let word = 0; word < chunk; word++) spoken.push(this.env.prng.pick(FILLER));
      if (spoken.length < words) {
        this.requireClient().send({ type: 'transcript', role: 'caller', text: spoken.join(' '), final: false });
        if (heard) this.touch();
      }
    }
    const live = this.requireClient();
    live.send({ type: 'transcript', role: 'caller', text: spoken.join(' '), final: true });
    live.send({ type: 'caller.activity', speaking: false });
    if (heard) this.touch();
  }

  /** Keeps talking for `ms`: sentences with short breaths between them. */
  private async talk(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      await this.say(this.env.prng.int(4, 12));
      await sleep(Math.min(this.env.prng.between(0.3, 1.2) * 1000 * this.env.timeScale, until - performance.now()));
    }
  }

  private touch(): void {
    const now = performance.now();
    if (this.offered) this.longestSilenceSinceOffer = Math.max(this.longestSilenceSinceOffer, this.silenceMs(now));
    this.lastActivityAt = now;
  }

  /** Silence up to `now`, counted from the last caller activity or the offer, whichever was later (a hold starts with a full TTL). */
  private silenceMs(now = performance.now()): number {
    return now - Math.max(this.lastActivityAt, this.offered?.at ?? 0);
  }

  private guaranteedMs(): number {
    return this.env.holdTtlMs * GUARANTEED_SHARE_OF_TTL - SILENCE_MARGIN_MS;
  }

  // ── tools ────────────────────────────────────────────────────────────────────────

  private async tool(name: string, args: Record<string, unknown> = {}): Promise<ToolResultFrame> {
    const client = this.requireClient();
    const started = performance.now();
    // Over an HTTP runtime without speech, the tool request is what the broker hears of the caller.
    if (client.carriesSpeech === false) this.touch();
    const answer = await client.tool(name, args, `t${++this.toolCounter}`, this.env.toolTimeoutMs);
    this.env.tally.latency.record(name, performance.now() - started);
    if (!answer.ok && answer.error) {
      this.env.tally.toolError(answer.error.code);
      if (!expectedToolError(name, answer.error.code)) {
        this.unexpectedErrors++;
        this.env.tally.unexpectedToolError(answer.error.code, { call_id: this.env.callId, what: `${name} answered ${answer.error.code}: ${answer.error.message}`, detail: { arguments: args } });
      }
    }
    return answer;
  }

  private async resolveSlot(spec: SlotSpec, path: string): Promise<AskedSlot> {
    const { salon } = this.env;
    if (spec.from_group) {
      const offer = await this.env.groupOffer(spec.from_group);
      if (offer) {
        if (spec.after_offer_ttl !== undefined) await sleep(offer.atMs + spec.after_offer_ttl * this.env.holdTtlMs - performance.now());
        return { ...offer.slot };
      }
    }
    const draw = spec.share ? this.env.sharedPrng(path, spec.share) : this.env.prng;

    const dateChoice = spec.date ?? 'run';
    const date = dateChoice === 'same' ? (this.request?.date ?? this.env.date) : dateChoice === 'run' ? this.env.date : dateChoice;

    // Picks choose among the services with known free time that day (all of them if none has).
    const open = salon.services.filter((candidate) => salon.startTimes(date, candidate.id).length > 0);
    const pool = open.length > 0 ? open : salon.services;
    const serviceChoice = spec.service ?? (this.request ? 'same' : 'random');
    let service: string;
    if (serviceChoice === 'same' && this.request) service = this.request.service;
    else if (serviceChoice === 'longest' || serviceChoice === 'longest_phased') service = longestService(pool, serviceChoice === 'longest_phased')!.name;
    else if (serviceChoice === 'shortest') service = shortestService(pool)!.name;
    else if (serviceChoice === 'random' || serviceChoice === 'same') service = draw.pick(pool).name;
    else service = Array.isArray(serviceChoice) ? draw.pick(serviceChoice) : serviceChoice;
    const known = salon.service(service);

    const timeChoice = spec.time ?? 'random';
    let staff: string | undefined = spec.staff === 'any' ? undefined : spec.staff;
    let time: string;
    if (timeChoice === 'same' && this.request) time = this.request.time;
    else if (timeChoice === 'first' || timeChoice === 'last') {
      const start = known ? (timeChoice === 'first' ? salon.firstStart(date, known.id) : salon.lastStart(date, known.id)) : null;
      time = start?.time ?? '12:00';
      if (spec.staff === 'any' && start?.staff) staff = salon.staff(start.staff)?.name ?? start.staff;
    } else if (timeChoice === 'random' || timeChoice === 'same') {
      const starts = known ? salon.startTimes(date, known.id) : [];
      time = starts.length > 0 ? draw.pick(starts) : '12:00';
    } else time = Array.isArray(timeChoice) ? draw.pick(timeChoice) : timeChoice;
    if (spec.staff === 'any' && staff === undefined && known) {
      const offering = salon.staffFor(known.id);
      if (offering.length > 0) staff = draw.pick(offering).name;
    }

    return { service, date, time, ...(staff ? { staff } : {}) };
  }

  private async check(slot: AskedSlot, syncPath: string | null): Promise<void> {
    if (syncPath) await this.env.sync(syncPath);
    const { tally } = this.env;
    this.request = slot;
    tally.checks++;
    const answer = await this.tool('check_availability', { ...slot, customer_name: this.env.customerName });
    const result = answer.result;
    if (answer.ok && result.available === true) {
      tally.toldAvailable++;
      const hold = result.hold as WireHold;
      this.hold = hold;
      tally.holdSeen('held', hold.id);
      this.offered = { slot: this.slotOfHold(hold, slot), at: performance.now() };
      this.longestSilenceSinceOffer = 0;
      this.env.publishOffer(this.offered.slot, this.offered.at);
      this.alternatives = [];
      if (this.env.naive) {
        // A system without holds: the check only looked; nothing keeps the slot.
        await this.tool('release_hold');
        this.hold = null;
      }
      return;
    }
    if (answer.ok) {
      tally.toldUnavailable++;
      this.refused('check_availability', result, slot);
      return;
    }
    // Not an answer about the slot (unknown service, bad argument, storage down): nothing to pick from.
    this.alternatives = [];
  }

  /** The slot a hold stands for, as the caller would name it to book it directly. */
  private slotOfHold(hold: WireHold, asked: AskedSlot): AskedSlot {
    const { date, time } = localDateTime(hold.start);
    return { service: asked.service, date, time, staff: hold.staff };
  }

  private refused(tool: string, result: Record<string, unknown>, slot: AskedSlot | null): void {
    const { tally } = this.env;
    tally.refusals++;
    const alternatives = Array.isArray(result.alternatives) ? (result.alternatives as Alternative[]) : [];
    this.alternatives = alternatives;
    if (alternatives.length === 0) {
      tally.refusalsWithoutAlternatives++;
      tally.violation({ call_id: this.env.callId, what: `${tool} refused without alternatives`, detail: { slot, result } });
    }
  }

  private async pickAlternative(choose: 'first' | 'random'): Promise<void> {
    if (this.alternatives.length === 0 || !this.request) return;
    const alternative = choose === 'first' ? this.alternatives[0]! : this.env.prng.pick(this.alternatives);
    const { date, time } = localDateTime(alternative.start);
    await this.check({ service: this.request.service, date, time, staff: alternative.staff }, null);
  }

  private async book(direct: boolean): Promise<void> {
    const { tally } = this.env;
    const offer = this.offered;
    const named = direct || this.env.naive ? (offer?.slot ?? this.request) : null;
    const silenceMs = Math.max(this.longestSilenceSinceOffer, this.silenceMs());
    const offerAgeMs = offer ? performance.now() - offer.at : 0;
    tally.bookAttempts++;
    const answer = await this.tool('book_appointment', { customer_name: this.env.customerName, ...(named ?? {}) });
    const result = answer.result;
    if (answer.ok && result.booked === true) {
      const appointment = result.appointment as Record<string, string>;
      tally.bookings.push({ id: appointment.id!, service: appointment.service!, staff: appointment.staff!, start: appointment.start!, end: appointment.end!, callId: this.env.callId });
      this.booked = appointment;
      this.hold = null;
      this.offered = null;
      this.lastBookRefused = false;
      return;
    }
    const code = answer.error?.code;
    if (code !== 'SLOT_TAKEN' && code !== 'NO_HOLD') {
      this.alternatives = [];
      return;
    }
    this.lastBookRefused = true;
    this.refused('book_appointment', result, named);
    if (offer) {
      const keptTalking = silenceMs < this.guaranteedMs() && offerAgeMs < this.env.holdMaxMs - SILENCE_MARGIN_MS;
      if (keptTalking) {
        tally.toldAvailableThenRefused++;
        tally.violation({
          call_id: this.env.callId,
          what: 'told available, then refused although the caller kept talking',
          detail: { slot: offer.slot, longest_silence_ms: Math.round(silenceMs), offered_ms_ago: Math.round(offerAgeMs), error: answer.error },
        });
      } else {
        tally.refusedAfterSilence++;
      }
    }
    this.hold = null;
    this.offered = null;
  }

  private async release(): Promise<void> {
    await this.tool('release_hold');
    this.hold = null;
    this.offered = null;
    this.env.tally.declined++;
  }

  /** Stays silent until the broker says the hold is over (expired, normally). */
  private async waitHoldEnd(): Promise<void> {
    const client = this.requireClient();
    const hold = this.hold;
    if (!hold) return;
    const brokerNow = Date.now() + this.clockOffsetMs;
    const timeoutMs = Math.max(0, Date.parse(hold.expires_at) - brokerNow) + this.env.holdTtlMs + 5000;
    await client.next(
      (frame) => frame.type === 'hold.updated' && (frame.hold as WireHold).id === hold.id && !['held', 'extended'].includes((frame.hold as WireHold).status),
      { fromStart: true, timeoutMs },
    );
  }

  // ── time ─────────────────────────────────────────────────────────────────────────

  private count(amount: Amount): number {
    return Array.isArray(amount) ? this.env.prng.int(Math.round(amount[0]), Math.round(amount[1])) : Math.round(amount);
  }

  private duration(step: { s?: Amount | undefined; ttl?: Amount | undefined }): number {
    const draw = (amount: Amount) => (Array.isArray(amount) ? this.env.prng.between(amount[0], amount[1]) : amount);
    let ms = 0;
    if (step.s !== undefined) ms += draw(step.s) * 1000 * this.env.timeScale;
    if (step.ttl !== undefined) ms += draw(step.ttl) * this.env.holdTtlMs;
    return ms;
  }
}

/** Refused bookings are part of every script (the caller takes an alternative); any other tool error means the caller could not do its part. */
export function expectedToolError(tool: string, code: string): boolean {
  return tool === 'book_appointment' && (code === 'SLOT_TAKEN' || code === 'NO_HOLD');
}
