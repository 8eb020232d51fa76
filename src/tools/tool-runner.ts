/**
 * The tools of PROTOCOL §4, independent of any wire format: our WebSocket, a runtime
 * adapter's socket or a webhook all hand a `ToolCall` and the session's view here and
 * get back the answer plus what changed (hold, appointment, what was asked).
 * @see ../../docs/PROTOCOL.md §4
 */
import { Info, type WeekdayNumbers } from 'luxon';
import type {
  AlternativeView,
  HoldChange,
  SessionView,
  SlotRequestView,
  ToolCall,
  ToolOutcome,
  ToolResponse,
} from '../../machines/call-session.types.js';
import { fitsHours, layOut, localDateOf, localInstant, openingWindows, type Slot } from '../booking/availability.js';
import type { BookingService, SlotRequest } from '../booking/booking-service.js';
import type { CatalogCache } from '../booking/catalog-cache.js';
import { serviceDurationMin, staffOffering, type Catalog, type StaffMember } from '../booking/catalog.js';
import type { AppointmentRecord, SessionFence } from '../booking/ports.js';
import { languageOf, matchService, messages, resolveDate, resolveTime, type Language, type SpokenSlot } from '../language/index.js';
import { BrokerError, isToolError, type ToolErrorCode } from '../errors.js';
import { describeIssues } from '../protocol/issues.js';
import { isToolName, toolDefinitions, type ToolArguments, type ToolName } from './definitions.js';
import { isoIn, wireAlternative, wireAppointment, wireHold } from '../protocol/records.js';
import { appointmentView, holdView } from './machine-views.js';
import { inZone } from '../time-zones.js';

/** A tool call that cannot be answered as asked: `ok: false` with this code, and `result` beside it. */
const toolError = (code: ToolErrorCode, message: string, result: Record<string, unknown> = {}) => new BrokerError(code, message, { result });

export interface ToolRunnerOptions {
  catalogs: CatalogCache;
  booking: BookingService;
  clock: () => Date;
}

/** What a tool answers: the response and what it changed, before the session stamps when it finished. */
export type ToolAnswer = Omit<ToolOutcome, 'finishedAt'>;
type Answer = ToolAnswer;

/** The call a tool runs for: the session's view, the tenant's catalog, the language, now. */
export interface ToolScope {
  session: SessionView;
  /** The ownership the session's writes are made under; null outside a live call (the tools CLI, tests). */
  fence: SessionFence | null;
  /** The call's id may have run before without its answer kept (see `ToolAnswers`): what it placed is looked up by the id first. */
  repeated: boolean;
  catalog: Catalog;
  language: Language;
  now: Date;
}

/** Weekday names by language, as luxon says them (Monday first): asked of Intl once, not per call. */
const weekdayNames = new Map<Language, string[]>();
const weekdayName = (language: Language, weekday: WeekdayNumbers) => {
  let names = weekdayNames.get(language);
  if (!names) weekdayNames.set(language, (names = Info.weekdays('long', { locale: language })));
  return names[weekday - 1]!;
};

/** What a tool call's holds and bookings are keyed by: the same call again finds them instead of claiming twice. */
const idempotencyKeyOf = (session: SessionView, call: ToolCall) => `${session.sessionId}:${call.id}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ToolRunner {
  constructor(private readonly options: ToolRunnerOptions) {}

  /** Runs one tool call; never throws for a bad call, only for storage failures (and `TAKEN_OVER`). */
  async run(call: ToolCall, session: SessionView, fence: SessionFence | null = null, repeated = false): Promise<Answer> {
    const language = languageOf(session.locale ?? undefined);
    try {
      if (!isToolName(call.name)) {
        throw toolError('UNKNOWN_TOOL', `unknown tool "${call.name.slice(0, 64)}"`, { message: messages.cannotDoThat(language) });
      }
      const definition = toolDefinitions[call.name];
      const parsed = definition.arguments.safeParse(call.arguments);
      if (!parsed.success) {
        const argument = parsed.error.issues[0]?.path[0];
        throw toolError('INVALID_ARGUMENT', describeIssues(parsed.error).join('; '), {
          message: messages.notUnderstood(language, typeof argument === 'string' ? argument : undefined),
        });
      }
      const catalog = await this.options.catalogs.get(session.tenantId);
      if (!catalog) throw toolError('UNAVAILABLE', `tenant "${session.tenantId}" has no catalog`);
      const scope: ToolScope = { session, fence, repeated, catalog, language, now: this.options.clock() };
      return await (definition.run as (tools: ToolRunner, args: unknown, scope: ToolScope, call: ToolCall) => Promise<Answer>)(this, parsed.data, scope, call);
    } catch (error) {
      if (!isToolError(error)) throw error;
      return { response: toolResponseOf(error, language) };
    }
  }

  async currentContext({ session, catalog, language, now }: ToolScope): Promise<Answer> {
    const local = inZone(now.getTime(), catalog.timezone);
    return ok({
      call_id: session.callId,
      now: isoIn(now, catalog.timezone),
      date: local.toISODate(),
      weekday: local.isValid ? weekdayName(language, local.weekday) : null,
      time: local.toFormat('HH:mm'),
      timezone: catalog.timezone,
      business: catalog.name,
      caller_phone: session.callerPhone,
    });
  }

  async checkCustomer(args: ToolArguments<'check_customer'>, { session, catalog, language, now }: ToolScope): Promise<Answer> {
    const phone = args.phone ?? session.callerPhone;
    if (!phone) return ok({ known: false, customer: null, upcoming: [], message: messages.customerUnknown(language) });
    const [customer, upcoming] = await Promise.all([
      this.options.booking.findCustomer(catalog.tenantId, phone),
      this.options.booking.upcomingAppointments(catalog.tenantId, phone, now),
    ]);
    const name = customer?.name ?? upcoming[0]?.customerName ?? null;
    return ok({
      known: name !== null,
      customer: name !== null ? { name, phone } : null,
      upcoming: upcoming.map((appointment) => describeAppointment(appointment, catalog)),
      message: name !== null ? messages.customerKnown(language, name, upcoming.length) : messages.customerUnknown(language),
    });
  }

  async listServices({ catalog, language }: ToolScope): Promise<Answer> {
    return ok({
      services: catalog.services.map((service) => ({ id: service.id, name: service.name, duration_min: serviceDurationMin(service) })),
      message: messages.servicesList(language, catalog.services.map((service) => service.name)),
    });
  }

  async checkAvailability(args: ToolArguments<'check_availability'>, scope: ToolScope, call: ToolCall): Promise<Answer> {
    const { session, catalog, language } = scope;
    const { request, requestView, timeWasAmbiguous } = this.resolveSlot(args, scope);
    const idempotencyKey = idempotencyKeyOf(session, call);
    // A repeated id gets what it placed, also when the slot would be refused now (expired since, taken by another).
    const outcome =
      (scope.repeated ? await this.options.booking.heldByKey(catalog, idempotencyKey) : null) ??
      (await this.options.booking.hold(request, {
        sessionId: session.sessionId,
        callId: session.callId,
        currentHoldId: session.hold?.id ?? null,
        epoch: scope.fence?.epoch ?? null,
        idempotencyKey,
      }));
    if (outcome.available) {
      const hold = holdView(outcome.hold);
      const live = outcome.hold.status === 'held' && hold.expiresAt > scope.now.getTime();
      return {
        response: ok({
          available: true,
          // A replay says what storage holds now: an expired or released hold is not called held.
          hold: wireHold(hold, live ? 'held' : outcome.hold.status === 'held' ? 'expired' : outcome.hold.status, catalog.timezone),
          service: request.service.id,
          staff: outcome.staff.id,
          staff_name: outcome.staff.name,
          start: isoIn(hold.start, catalog.timezone),
          end: isoIn(hold.end, catalog.timezone),
          message: messages.available(language, request.service.name, spoken(outcome.hold.start, outcome.staff), catalog.timezone, timeWasAmbiguous),
        }).response,
        // A replay changed nothing now; the session takes the hold unless it has it already (a
        // restored one has storage's word) or it is no longer live (then the session's own checks tell).
        ...(!outcome.replayed || (live && hold.id !== session.hold?.id) ? { hold: { kind: 'placed', hold }, keyedByCall: true } : {}),
        request: requestView,
        alternatives: [],
      };
    }
    return {
      response: ok({
        available: false,
        reason: outcome.reason,
        alternatives: outcome.alternatives.map((slot) => wireAlternative(slot, catalog)),
        message: messages.unavailable(language, outcome.reason, request.service.name, request.start, outcome.alternatives.map(spokenSlot), catalog.timezone),
      }).response,
      request: requestView,
      alternatives: outcome.alternatives.map(alternativeView),
    };
  }

  async bookAppointment(args: ToolArguments<'book_appointment'>, scope: ToolScope, call: ToolCall): Promise<Answer> {
    const { session, catalog, language } = scope;
    const remembered = session.request;
    const named = args.service !== undefined || args.date !== undefined || args.time !== undefined;
    const wanted = {
      service: args.service ?? (remembered ? catalog.services.find((s) => s.id === remembered.serviceId)?.name : undefined),
      date: args.date ?? remembered?.date,
      time: args.time ?? remembered?.time,
      staff: args.staff ?? (remembered?.staffId ?? undefined),
    };
    const explicit =
      named && wanted.service !== undefined && wanted.date !== undefined && wanted.time !== undefined
        ? this.resolveSlot({ service: wanted.service, date: wanted.date, time: wanted.time, staff: wanted.staff }, scope)
        : null;
    // "Book it" means the slot named now, else the one held, else the one last asked about.
    const request =
      explicit?.request ??
      (session.hold ? this.requestForHold(session.hold, catalog) : null) ??
      (remembered ? this.requestFromView(remembered, catalog) : null);
    const held = session.hold ? { ...session.hold, start: new Date(session.hold.start) } : null;
    const outcome = await this.options.booking.book(session.tenantId, held, request, {
      customerName: args.customer_name,
      phone: args.phone ?? session.callerPhone,
      callId: session.callId,
      sessionId: session.sessionId,
      epoch: scope.fence?.epoch ?? null,
      idempotencyKey: idempotencyKeyOf(session, call),
    });

    if (outcome.booked) {
      const appointment = outcome.appointment;
      const service = catalog.services.find((s) => s.id === appointment.serviceId);
      // A replay reports only the end of the hold it booked: any other hold the session has now may be newer than that booking.
      const bookedHeld = session.hold !== null && appointment.holdId === session.hold.id;
      const holdChange: HoldChange | undefined =
        session.hold && (bookedHeld || !outcome.replayed) ? { kind: 'ended', status: bookedHeld ? 'booked' : 'released' } : undefined;
      return {
        response: ok({
          booked: true,
          appointment: { ...describeAppointment(appointment, catalog) },
          message: messages.booked(language, service?.name ?? appointment.serviceId, spoken(appointment.start, staffOf(catalog, appointment.staffId)), catalog.timezone),
        }).response,
        ...(holdChange ? { hold: holdChange } : {}),
        // A replayed booking the salon has cancelled since is not the session's appointment again.
        ...(appointment.status === 'booked' ? { appointment: appointmentView(appointment) } : {}),
        keyedByCall: true,
        ...(explicit ? { request: explicit.requestView } : {}),
      };
    }

    const alternatives = outcome.alternatives;
    // A slot that was never bookable (closed, or past) is said so, not called "taken".
    const message =
      request && outcome.reason && outcome.reason !== 'SLOT_TAKEN'
        ? messages.unavailable(language, outcome.reason, request.service.name, request.start, alternatives.map(spokenSlot), catalog.timezone)
        : messages.bookingFailed(language, outcome.code, alternatives.map(spokenSlot), catalog.timezone);
    throw toolError(outcome.code, BOOKING_FAILURE_DETAILS[outcome.reason ?? outcome.code], {
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      alternatives: alternatives.map((slot) => wireAlternative(slot, catalog)),
      message,
    });
  }

  async releaseHold({ session, fence, language }: ToolScope): Promise<Answer> {
    if (!session.hold) return ok({ released: false, message: messages.released(language, false) });
    const released = await this.options.booking.releaseHold(session.tenantId, session.hold.id, fence);
    return {
      ...ok({ released, message: messages.released(language, released) }),
      hold: { kind: 'ended', status: released ? 'released' : 'expired' },
    };
  }

  async cancelAppointment(args: ToolArguments<'cancel_appointment'>, scope: ToolScope): Promise<Answer> {
    const { session, catalog, language, now } = scope;
    const notFound = toolError('NOT_FOUND', 'no appointment booked under the caller’s number matches', { message: messages.appointmentNotFound(language) });
    const phone = session.callerPhone;
    if (!phone) throw notFound;
    let appointmentId = args.appointment_id;
    if (appointmentId === undefined) {
      const date = this.resolveDateArgument(String(args.date), scope);
      const times = this.resolveTimeArgument(String(args.time), scope);
      const upcoming = await this.options.booking.upcomingAppointments(catalog.tenantId, phone, now);
      appointmentId = upcoming.find((appointment) =>
        times.some((time) => appointment.start.getTime() === localInstant(date, time, catalog.timezone)?.getTime()),
      )?.id;
    }
    if (!appointmentId || !UUID.test(appointmentId)) throw notFound;
    const cancelled = await this.options.booking.cancelForCaller(catalog.tenantId, appointmentId, phone, scope.fence);
    if (!cancelled) throw notFound;
    const service = catalog.services.find((s) => s.id === cancelled.serviceId);
    return {
      ...ok({
        cancelled: true,
        appointment: describeAppointment(cancelled, catalog),
        message: messages.cancelled(language, service?.name ?? cancelled.serviceId, cancelled.start, catalog.timezone),
      }),
      cancelledAppointmentId: cancelled.id,
    };
  }

  /** Reads service, staff, date and time as the caller said them into a catalog slot. */
  private resolveSlot(
    args: { service: string; date: string; time: string; staff?: string | undefined },
    scope: ToolScope,
  ): { request: SlotRequest; requestView: SlotRequestView; timeWasAmbiguous: boolean } {
    const { catalog } = scope;
    const service = this.resolveService(args.service, scope);
    const staff = args.staff !== undefined ? this.resolveStaff(args.staff, service.id, scope) : null;
    const date = this.resolveDateArgument(args.date, scope);
    const candidates = this.resolveTimeArgument(args.time, scope);
    const workers = staff ? [staff] : staffOffering(catalog, service.id);
    const fits = (time: string) => {
      const start = localInstant(date, time, catalog.timezone);
      return start !== null && workers.some((member) => fitsHours(openingWindows(catalog, member, date), layOut(service, start).span));
    };
    const time = candidates.find(fits) ?? candidates[0]!;
    return {
      request: { catalog, service, date, start: localInstant(date, time, catalog.timezone), staff },
      requestView: { serviceId: service.id, date, time, staffId: staff?.id ?? null },
      timeWasAmbiguous: candidates.length > 1,
    };
  }

  private resolveService(query: string, { catalog, language }: ToolScope) {
    const match = matchService(query, catalog.services);
    const names = catalog.services.map((service) => service.name);
    if (match.kind === 'none') {
      throw toolError('UNKNOWN_SERVICE', `service: "${query}" matches no service of this salon`, { services: names, message: messages.unknownService(language, names) });
    }
    if (match.kind === 'ambiguous') {
      const candidates = match.ids.map((id) => catalog.services.find((service) => service.id === id)!.name);
      throw toolError('UNKNOWN_SERVICE', `service: "${query}" matches ${candidates.join(' and ')} equally`, {
        candidates: match.ids,
        message: messages.ambiguousService(language, candidates),
      });
    }
    return catalog.services.find((service) => service.id === match.id)!;
  }

  private resolveStaff(query: string, serviceId: string, { catalog, language }: ToolScope): StaffMember {
    const offering = staffOffering(catalog, serviceId);
    const byName = catalog.staff.map((member) => ({ id: member.id, name: member.name, aliases: [member.name.split(' ')[0]!] }));
    const match = matchService(query, byName);
    const member = match.kind === 'match' ? offering.find((candidate) => candidate.id === match.id) : undefined;
    if (!member) {
      throw toolError('UNKNOWN_STAFF', `staff: "${query}" is no staff member who offers ${serviceId}`, {
        staff: offering.map((candidate) => ({ id: candidate.id, name: candidate.name })),
        message: messages.unknownStaff(language, offering.map((candidate) => candidate.name)),
      });
    }
    return member;
  }

  private resolveDateArgument(expression: string, { catalog, now, language }: ToolScope): string {
    const resolved = resolveDate(expression, { now, timezone: catalog.timezone });
    if (!resolved.ok) throw toolError('INVALID_ARGUMENT', `date: ${resolved.reason}`, { message: messages.notUnderstood(language, 'date') });
    return resolved.date;
  }

  private resolveTimeArgument(expression: string, { language }: ToolScope): string[] {
    const resolved = resolveTime(expression);
    if (!resolved.ok) throw toolError('INVALID_ARGUMENT', `time: ${resolved.reason}`, { message: messages.notUnderstood(language, 'time') });
    return resolved.candidates;
  }

  private requestForHold(hold: NonNullable<SessionView['hold']>, catalog: Catalog): SlotRequest | null {
    const service = catalog.services.find((s) => s.id === hold.serviceId);
    const staff = catalog.staff.find((m) => m.id === hold.staffId);
    if (!service || !staff) return null;
    const start = new Date(hold.start);
    return { catalog, service, date: localDateOf(start, catalog.timezone), start, staff };
  }

  private requestFromView(view: SlotRequestView, catalog: Catalog): SlotRequest | null {
    const service = catalog.services.find((s) => s.id === view.serviceId);
    if (!service) return null;
    const staff = view.staffId ? (catalog.staff.find((m) => m.id === view.staffId) ?? null) : null;
    return { catalog, service, date: view.date, start: localInstant(view.date, view.time, catalog.timezone), staff };
  }
}

/** The tool-result edge of the one error type (PROTOCOL §4): `ok: false`, the code, and a sentence to speak. */
function toolResponseOf(error: BrokerError & { code: ToolErrorCode }, language: Language): ToolResponse {
  const spoken = error.code === 'UNAVAILABLE' ? messages.unavailableStorage(language) : error.message;
  return { ok: false, result: { message: spoken, ...error.options.result }, error: { code: error.code, message: error.message } };
}

function ok(result: Record<string, unknown>): Answer {
  return { response: { ok: true, result } };
}

const staffOf = (catalog: Catalog, staffId: string): StaffMember =>
  catalog.staff.find((member) => member.id === staffId) ?? { id: staffId, name: staffId, openingHours: null, services: [] };

const spoken = (start: Date, staff: StaffMember): SpokenSlot => ({ start, staffName: staff.name });
const spokenSlot = (slot: Slot): SpokenSlot => spoken(slot.span.start, slot.staff);

const BOOKING_FAILURE_DETAILS = {
  NO_HOLD: 'there is no hold to book and no service, date and time were given',
  SLOT_TAKEN: 'the slot was taken before it could be booked',
  OUTSIDE_HOURS: 'the slot is outside opening hours',
  IN_THE_PAST: 'the slot is in the past',
} as const;
const alternativeView = (slot: Slot): AlternativeView => ({ start: slot.span.start.getTime(), end: slot.span.end.getTime(), staffId: slot.staff.id });

function describeAppointment(appointment: AppointmentRecord, catalog: Catalog) {
  return {
    ...wireAppointment(appointmentView(appointment), catalog.timezone),
    service_name: catalog.services.find((s) => s.id === appointment.serviceId)?.name ?? appointment.serviceId,
    staff_name: staffOf(catalog, appointment.staffId).name,
    customer_name: appointment.customerName,
  };
}
