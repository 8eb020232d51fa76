/**
 * The booking domain's verbs: hold a slot the moment it is confirmed free, turn a hold
 * into an appointment, and answer every refusal with alternatives in the same breath.
 * No transport here and no SQL: storage is the `BookingStore` port.
 */
import type { Catalog, Customer, Service, StaffMember } from './catalog.js';
import { staffOffering } from './catalog.js';
import { alternatives, alternativesWindow, isFree, judgeSlot, localDays, type Slot, type SlotQuery } from './availability.js';
import type { AppointmentRecord, BookingDetails, BookingStore, CatalogStore, HoldRecord, InstantRange, SessionFence, StaffClaim } from './ports.js';

export type Unavailable = 'SLOT_TAKEN' | 'OUTSIDE_HOURS' | 'IN_THE_PAST';

/**
 * How long a read of a day's claims may order the candidates of later requests without a
 * read of their own (a day's requests come seconds apart; the claim statement decides, so
 * staleness costs only the choice of whom to try first). Measured at 500 live calls:
 * that read was one statement in six.
 */
const RECENT_DAY_MS = 2000;
const MAX_RECENT_DAYS = 10_000;

/** A slot the caller asked for, already resolved to the catalog and an instant. */
export interface SlotRequest {
  catalog: Catalog;
  service: Service;
  date: string;
  start: Date | null;
  staff: StaffMember | null;
}

/** `replayed`: the owner's idempotency key had placed `hold` already (see `hold`). */
export type HoldOutcome =
  | { available: true; hold: HoldRecord; staff: StaffMember; replayed: boolean }
  | { available: false; reason: Unavailable; alternatives: Slot[] };

export type MoveOutcome =
  | { moved: true; appointment: AppointmentRecord }
  | { moved: false; code: 'SLOT_TAKEN'; reason: Unavailable; alternatives: Slot[] }
  | { moved: false; code: 'NOT_BOOKED' };

export type BookOutcome =
  | { booked: true; appointment: AppointmentRecord; replayed: boolean }
  | { booked: false; code: 'SLOT_TAKEN' | 'NO_HOLD'; reason: Unavailable | null; alternatives: Slot[] };

/** The session's hold as the session knows it; storage decides whether it is still held. */
export interface HeldSlot {
  id: string;
  serviceId: string;
  staffId: string;
  start: Date;
}

export interface BookingServiceOptions {
  store: BookingStore;
  /** Who the salon's customers are (the catalog's customer list). */
  customers: Pick<CatalogStore, 'findCustomer'>;
  clock: () => Date;
  holdTtlMs: number;
  holdMaxMs: number;
}

export class BookingService {
  private readonly turns = new ClaimTurns();
  private readonly reads = new SharedReads<{ claims: StaffClaim[]; readAt: Date; answers: Map<string, { catalog: Catalog; slots: Slot[] }> }>();
  /** The last read of each day's claims, by `dayKey`: it orders the candidates of the next request for that day (see `judge`). */
  private readonly recentDays = new Map<string, { claims: StaffClaim[]; readAt: number }>();

  constructor(private readonly options: BookingServiceOptions) {}

  findCustomer(tenantId: string, phone: string): Promise<Customer | null> {
    return this.options.customers.findCustomer(tenantId, phone);
  }

  /** Every appointment of the tenant starting in `window`, cancelled ones included. */
  appointmentsIn(tenantId: string, window: InstantRange): Promise<AppointmentRecord[]> {
    return this.options.store.listAppointments(tenantId, window);
  }

  /** Booked appointments under `phone` from `from` on, soonest first. */
  upcomingAppointments(tenantId: string, phone: string, from: Date): Promise<AppointmentRecord[]> {
    return this.options.store.upcomingAppointments(tenantId, phone, from);
  }

  /** Gives a hold up; false when it was no longer held. */
  releaseHold(tenantId: string, holdId: string, fence: SessionFence | null = null): Promise<boolean> {
    return this.options.store.releaseHold(tenantId, holdId, fence);
  }

  /** Cancels an appointment for a caller: only one booked under their number; null when there is none. */
  cancelForCaller(tenantId: string, appointmentId: string, phone: string, fence: SessionFence | null = null): Promise<AppointmentRecord | null> {
    return this.options.store.cancelAppointment(tenantId, appointmentId, phone, fence);
  }

  /**
   * Holds the requested slot if it is free, releasing `currentHoldId` only when the new
   * hold is placed. The session's own current hold never counts against it. An
   * `idempotencyKey` that placed a hold already gets that hold back (`replayed`), with
   * its staff member, whoever the candidates are now.
   */
  async hold(
    request: SlotRequest,
    owner: { sessionId: string | null; callId: string | null; currentHoldId: string | null; epoch?: number | null; idempotencyKey?: string | null },
  ): Promise<HoldOutcome> {
    const { store, holdTtlMs, holdMaxMs } = this.options;
    const claimed = await this.claimFirst(request, owner.currentHoldId, async (slot) => {
      const placed = await this.inTurn(request, slot, owner.currentHoldId, null, () =>
        store.placeHold({
          ...this.claimOf(request, slot),
          sessionId: owner.sessionId,
          epoch: owner.epoch ?? null,
          callId: owner.callId,
          ttlMs: holdTtlMs,
          maxMs: holdMaxMs,
          replacesHoldId: owner.currentHoldId,
          idempotencyKey: owner.idempotencyKey ?? null,
        }),
      );
      return placed?.placed ? placed : null;
    });
    if (claimed.slot) {
      const { hold, replayed } = claimed.result;
      const staff = replayed ? (request.catalog.staff.find((member) => member.id === hold.staffId) ?? claimed.slot.staff) : claimed.slot.staff;
      return { available: true, hold, staff, replayed };
    }
    return { available: false, reason: claimed.reason, alternatives: await this.alternatives(request, owner.currentHoldId) };
  }

  /**
   * The hold `idempotencyKey` placed, answered as `hold` answers its replay; null when it
   * placed none (or its staff member has left the catalog: `hold` then decides).
   */
  async heldByKey(catalog: Catalog, idempotencyKey: string): Promise<Extract<HoldOutcome, { available: true }> | null> {
    const hold = await this.options.store.findHoldByKey(catalog.tenantId, idempotencyKey);
    const staff = hold ? catalog.staff.find((member) => member.id === hold.staffId) : undefined;
    return hold && staff ? { available: true, hold, staff, replayed: true } : null;
  }

  /**
   * Books the session's hold, or the requested slot at once when there is no usable hold
   * (none, expired, or for another slot). `request` is what the caller asked to book: the
   * slot named in the tool call, else the slot of the session's hold. A retried key
   * returns the first appointment (converting a hold looks the key up in the same step).
   */
  async book(tenantId: string, hold: HeldSlot | null, request: SlotRequest | null, details: BookingDetails): Promise<BookOutcome> {
    const { store } = this.options;
    if (hold && (request === null || holdCovers(hold, request))) {
      const converted = await store.convertHold(tenantId, hold.id, details);
      if (converted.booked) return { booked: true, appointment: converted.appointment, replayed: converted.replayed };
    }
    if (details.idempotencyKey) {
      const earlier = await store.findAppointmentByKey(tenantId, details.idempotencyKey);
      if (earlier) return { booked: true, appointment: earlier, replayed: true };
    }
    if (!request) return { booked: false, code: 'NO_HOLD', reason: null, alternatives: [] };

    const holdId = hold?.id ?? null;
    const claimed = await this.claimFirst(request, holdId, async (slot) => {
      const booked = await this.inTurn(request, slot, holdId, null, () => store.bookDirect(this.claimOf(request, slot), details, holdId));
      return booked?.booked ? booked : null;
    });
    if (claimed.slot) return { booked: true, appointment: claimed.result.appointment, replayed: claimed.result.replayed ?? false };
    return { booked: false, code: 'SLOT_TAKEN', reason: claimed.reason, alternatives: await this.alternatives(request, holdId) };
  }

  /**
   * Moves a booked appointment to the requested slot (`request.staff` set: that staff
   * member) in one transaction. Its own claims never count against the new slot; when
   * the new slot is not free the old one stays booked, and the answer carries
   * alternatives as a refused booking does.
   */
  async move(appointment: AppointmentRecord, request: SlotRequest): Promise<MoveOutcome> {
    const verdict = await this.judge(request, null, appointment.id, false);
    if (verdict.free) {
      for (const slot of verdict.slots) {
        const moved = await this.options.store.moveAppointment(appointment.id, this.claimOf(request, slot));
        if (moved.moved) return { moved: true, appointment: moved.appointment };
        if (moved.gone) return { moved: false, code: 'NOT_BOOKED' };
      }
    }
    return {
      moved: false,
      code: 'SLOT_TAKEN',
      reason: verdict.free ? 'SLOT_TAKEN' : verdict.reason,
      alternatives: await this.alternatives(request, null, appointment.id),
    };
  }

  /**
   * Free slots near the request, from a read of the live claims that began after it was
   * asked, so each is free at the moment of answering (not held: the claim statement of
   * a later check or booking decides). Callers refused at the same moment share that read
   * and its answer (see `SharedReads`): 99 callers losing one slot cost one read, not 99.
   */
  async alternatives(request: SlotRequest, ignoreHoldId: string | null, ignoreAppointmentId: string | null = null): Promise<Slot[]> {
    const { catalog, service } = request;
    const staffIds = staffOffering(catalog, service.id).map((member) => member.id);
    const window = alternativesWindow(catalog, request.date, this.options.clock());
    const key = JSON.stringify([catalog.tenantId, staffIds, window.start.getTime(), window.end.getTime(), ignoreHoldId, ignoreAppointmentId]);
    const read = await this.reads.read(key, async () => {
      const readAt = this.options.clock();
      const claims = await this.options.store.liveClaims(catalog.tenantId, staffIds, window, ignoreHoldId, ignoreAppointmentId);
      return { claims, readAt, answers: new Map<string, { catalog: Catalog; slots: Slot[] }>() };
    });
    // Everyone who shares the read was asking at or before it began: its start is "now" for all of them.
    const asked = JSON.stringify([service.id, request.date, request.start?.getTime() ?? null, request.staff?.id ?? null]);
    const known = read.answers.get(asked);
    if (known?.catalog === catalog) return known.slots;
    const slots = alternatives({ ...request, now: read.readAt }, read.claims);
    read.answers.set(asked, { catalog, slots });
    return slots;
  }

  /**
   * Claims the first candidate for `request` that `claim` takes (it answers null for a
   * slot it could not claim), or says why none was. Candidates come from `judge`; when
   * they were judged from a recent read and none was taken, a fresh read judges again and
   * the candidates not tried yet are tried, so a stale read can never refuse a free slot.
   */
  private async claimFirst<T>(request: SlotRequest, ignoreHoldId: string | null, claim: (slot: Slot) => Promise<T | null>): Promise<{ slot: Slot; result: T } | { slot: null; reason: Unavailable }> {
    const tried = new Set<string>();
    let verdict = await this.judge(request, ignoreHoldId, null, true);
    for (;;) {
      if (verdict.free) {
        for (const slot of verdict.slots) {
          if (tried.has(slot.staff.id)) continue;
          tried.add(slot.staff.id);
          const result = await claim(slot);
          if (result !== null) return { slot, result };
        }
      }
      if (!verdict.recent) return { slot: null, reason: verdict.free ? 'SLOT_TAKEN' : verdict.reason };
      verdict = await this.judge(request, ignoreHoldId, null, false);
    }
  }

  /**
   * The requested slot judged before its claim statement runs. With a staff member named
   * there is nothing to read first: the statement takes the claim or refuses it in the
   * same round trip a read would cost. Without one, the day's claims decide whom to try
   * first (the least busy). With `mayUseRecent`, a read of them from the last
   * `RECENT_DAY_MS` may do (`recent` is then true), but only to propose: a verdict of
   * "not free" from it is not taken, the day is read again.
   */
  private async judge(request: SlotRequest, ignoreHoldId: string | null, ignoreAppointmentId: string | null, mayUseRecent: boolean) {
    const query = this.queryOf(request);
    if (!request.start || request.staff) return { ...judgeSlot(query, []), recent: false };
    // The whole staff's claims, not only of those who offer the service: one read of a day then orders the candidates of every service asked for that day.
    const staffIds = request.catalog.staff.map((member) => member.id);
    const at = this.dayOf(request, staffIds, ignoreHoldId, ignoreAppointmentId);
    if (mayUseRecent) {
      const recent = this.recentDays.get(at.key);
      if (recent && query.now.getTime() - recent.readAt < RECENT_DAY_MS) {
        const verdict = judgeSlot(query, recent.claims);
        if (verdict.free) return { ...verdict, recent: true };
      }
    }
    const claims = await this.dayClaims(request, staffIds, ignoreHoldId, ignoreAppointmentId, at);
    if (this.recentDays.size >= MAX_RECENT_DAYS) this.recentDays.clear();
    this.recentDays.set(at.key, { claims, readAt: query.now.getTime() });
    return { ...judgeSlot(query, claims), recent: false };
  }

  /** The request's local day, and the key its reads (and the recent one) go by. */
  private dayOf(request: SlotRequest, staffIds: string[], ignoreHoldId: string | null, ignoreAppointmentId: string | null) {
    const day = localDays(request.catalog, request.date);
    return { day, key: JSON.stringify(['day', request.catalog.tenantId, staffIds, day.start.getTime(), ignoreHoldId, ignoreAppointmentId]) };
  }

  /** The live claims of `staffIds` on the request's local day, from a read that began after the call (shared with identical ones). */
  private async dayClaims(
    request: SlotRequest,
    staffIds: string[],
    ignoreHoldId: string | null,
    ignoreAppointmentId: string | null,
    { key, day } = this.dayOf(request, staffIds, ignoreHoldId, ignoreAppointmentId),
  ): Promise<StaffClaim[]> {
    const read = await this.reads.read(key, async () => ({
      claims: await this.options.store.liveClaims(request.catalog.tenantId, staffIds, day, ignoreHoldId, ignoreAppointmentId),
      readAt: this.options.clock(),
      answers: new Map(),
    }));
    return read.claims;
  }

  /**
   * Runs the claim statement for `slot` in this broker's turn for that staff member's
   * day. PostgreSQL queues claims on one staff member's day behind an advisory lock
   * anyway, so 100 callers on one slot would run 100 statements one after another, 99 of
   * them to be refused. Here one runs at a time; the others wait for it, then look at the
   * live claims in one shared read, and only those whose slot still looks free take
   * their turn; the others are refused (null) without a statement. The read only spares
   * statements that would fail: whether a slot is claimed is decided by the statement.
   */
  private inTurn<T>(request: SlotRequest, slot: Slot, ignoreHoldId: string | null, ignoreAppointmentId: string | null, claim: () => Promise<T>): Promise<T | null> {
    const key = `${request.catalog.tenantId}\u0000${slot.staff.id}\u0000${request.date}`;
    const stillFree = async () => isFree(slot.busy, await this.dayClaims(request, [slot.staff.id], ignoreHoldId, ignoreAppointmentId), slot.staff.id);
    return this.turns.run(key, stillFree, claim);
  }

  private queryOf(request: SlotRequest): SlotQuery {
    return { ...request, now: this.options.clock() };
  }

  private claimOf(request: SlotRequest, slot: Slot) {
    return { tenantId: request.catalog.tenantId, staffId: slot.staff.id, serviceId: request.service.id, span: slot.span, busy: slot.busy };
  }
}

function holdCovers(hold: HeldSlot, request: SlotRequest): boolean {
  return (
    hold.serviceId === request.service.id &&
    hold.start.getTime() === request.start?.getTime() &&
    (request.staff === null || request.staff.id === hold.staffId)
  );
}

/**
 * Identical reads asked at the same time share one query, and never a stale one: a read
 * asked while an identical one is in flight waits for the next, which starts when the one
 * in flight ends, so every caller gets the result of a query that began after it asked.
 * What is shared only proposes (alternatives offered, not held); nothing here decides
 * that a slot is free.
 */
export class SharedReads<T> {
  private readonly entries = new Map<string, { running: Promise<T> | null; waiting: Promise<T> | null }>();

  read(key: string, run: () => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (!entry) this.entries.set(key, (entry = { running: null, waiting: null }));
    const current = entry;
    const running = current.running;
    if (!running) return this.start(key, current, run);
    current.waiting ??= running.then(noop, noop).then(() => {
      current.waiting = null;
      return this.start(key, current, run);
    });
    return current.waiting;
  }

  private start(key: string, entry: { running: Promise<T> | null; waiting: Promise<T> | null }, run: () => Promise<T>): Promise<T> {
    const running: Promise<T> = run().finally(() => {
      if (entry.running === running) entry.running = null;
      if (!entry.running && !entry.waiting && this.entries.get(key) === entry) this.entries.delete(key);
    });
    entry.running = running;
    return running;
  }
}

const noop = () => {};

/** One claim at a time per key, in this process; see `BookingService.inTurn`. */
export class ClaimTurns {
  private readonly current = new Map<string, Promise<void>>();

  /** `maxWaitMs`: how long to wait for a claim in flight; one stuck on storage must not hold the others for ever. */
  constructor(private readonly maxWaitMs = 1000) {}

  /**
   * Runs `claim` once no other claim on `key` is in flight (or that one has run for
   * `maxWaitMs`). After every wait `stillFree` is asked again; when it says no, the answer
   * is null and `claim` never runs.
   */
  async run<T>(key: string, stillFree: () => Promise<boolean>, claim: () => Promise<T>): Promise<T | null> {
    for (let busy = this.current.get(key); busy; busy = this.current.get(key)) {
      if (!(await settlesWithin(busy, this.maxWaitMs))) break;
      if (!(await stillFree())) return null;
    }
    let done = noop;
    const turn = new Promise<void>((resolve) => (done = resolve));
    this.current.set(key, turn);
    try {
      return await claim();
    } finally {
      if (this.current.get(key) === turn) this.current.delete(key);
      done();
    }
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
