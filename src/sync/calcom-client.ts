/**
 * The few Cal.com API v2 calls calendar sync makes (PROTOCOL §7): create, cancel and list
 * bookings, with `cal-api-version: 2024-08-13`. The base URL is `CALCOM_BASE_URL`.
 * @see https://cal.com/docs/api-reference/v2/bookings/create-a-booking
 */

export const CALCOM_API_VERSION = '2024-08-13';
/** Slot reservations are versioned apart from bookings. */
export const CALCOM_SLOTS_API_VERSION = '2024-09-04';
export const CALCOM_TIMEOUT_MS = 5_000;

export interface CalcomBooking {
  id: number | null;
  uid: string;
  start: Date;
  end: Date;
  /** Cal.com's status, lower case: `accepted`, `cancelled`, `pending`, `rejected`, … */
  status: string;
  eventTypeId: number | null;
  metadata: Record<string, unknown>;
  /** Usernames of the hosts (organizer first): whose calendar the booking fills. */
  hosts: string[];
}

export interface NewCalcomBooking {
  start: Date;
  eventTypeId: number;
  attendee: { name: string; email: string; timeZone: string; phoneNumber?: string };
  metadata: Record<string, string>;
}

/** A call Cal.com did not answer with success; `status` is null when no answer came at all. */
export class CalcomError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A booking as Cal.com's API (`start`/`end`) or its webhooks (`startTime`/`endTime`) describe it. */
export function toCalcomBooking(raw: Record<string, any>): CalcomBooking {
  const hosts = [raw.organizer, ...(Array.isArray(raw.hosts) ? raw.hosts : [])]
    .map((host) => (host && typeof host.username === 'string' ? host.username : null))
    .filter((name): name is string => name !== null);
  return {
    id: typeof raw.id === 'number' ? raw.id : typeof raw.bookingId === 'number' ? raw.bookingId : null,
    uid: String(raw.uid),
    start: new Date(raw.start ?? raw.startTime),
    end: new Date(raw.end ?? raw.endTime),
    status: String(raw.status ?? 'accepted').toLowerCase(),
    eventTypeId: typeof raw.eventTypeId === 'number' ? raw.eventTypeId : null,
    metadata: raw.metadata && typeof raw.metadata === 'object' ? raw.metadata : {},
    hosts: [...new Set(hosts)],
  };
}

export class CalcomClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  async createBooking(booking: NewCalcomBooking, signal: AbortSignal): Promise<CalcomBooking> {
    const body = { start: booking.start.toISOString(), eventTypeId: booking.eventTypeId, attendee: booking.attendee, metadata: booking.metadata };
    return toCalcomBooking(await this.call('POST', '/bookings', signal, body));
  }

  /** Cancels; a booking Cal.com no longer knows or has cancelled already counts as cancelled. */
  async cancelBooking(uid: string, reason: string, signal: AbortSignal): Promise<void> {
    try {
      await this.call('POST', `/bookings/${encodeURIComponent(uid)}/cancel`, signal, { cancellationReason: reason });
    } catch (error) {
      if (error instanceof CalcomError && (error.status === 404 || error.status === 410)) return;
      throw error;
    }
  }

  /** Reserves a slot so Cal.com's own page does not offer it; returns the reservation's uid. */
  async reserveSlot(slot: { eventTypeId: number; start: Date; durationMin: number; reserveMin: number }, signal: AbortSignal): Promise<string> {
    const body = { eventTypeId: slot.eventTypeId, slotStart: slot.start.toISOString(), slotDuration: slot.durationMin, reservationDuration: slot.reserveMin };
    const data = await this.call('POST', '/slots/reservations', signal, body, CALCOM_SLOTS_API_VERSION);
    if (typeof data?.reservationUid !== 'string') throw new CalcomError('Cal.com POST /slots/reservations answered without a reservationUid', null);
    return data.reservationUid;
  }

  /** Frees a reservation; one Cal.com no longer knows (expired, or freed already) counts as freed. */
  async releaseSlot(reservationUid: string, signal: AbortSignal): Promise<void> {
    try {
      await this.call('DELETE', `/slots/reservations/${encodeURIComponent(reservationUid)}`, signal, undefined, CALCOM_SLOTS_API_VERSION);
    } catch (error) {
      if (error instanceof CalcomError && (error.status === 404 || error.status === 410)) return;
      throw error;
    }
  }

  async listBookings(query: Record<string, string>, signal: AbortSignal): Promise<CalcomBooking[]> {
    const found: CalcomBooking[] = [];
    const take = 100;
    for (let skip = 0; ; skip += take) {
      const data = await this.call('GET', `/bookings?${new URLSearchParams({ ...query, take: String(take), skip: String(skip) })}`, signal);
      const page = Array.isArray(data) ? data : [];
      found.push(...page.map((raw) => toCalcomBooking(raw)));
      if (page.length < take || skip > 5_000) return found;
    }
  }

  private async call(method: string, path: string, signal: AbortSignal, body?: unknown, version = CALCOM_API_VERSION): Promise<any> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        redirect: 'manual',
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          'cal-api-version': version,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.any([signal, AbortSignal.timeout(CALCOM_TIMEOUT_MS)]),
      });
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${CALCOM_TIMEOUT_MS} ms` : (((error as Error).cause as Error | undefined)?.message ?? (error as Error).message);
      throw new CalcomError(`Cal.com ${method} ${path.split('?')[0]} failed: ${reason}`, null, { cause: error });
    }
    const text = await response.text().catch(() => '');
    let parsed: any = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!response.ok || parsed?.status === 'error') {
      const detail = parsed?.error?.message ?? parsed?.message ?? text.slice(0, 200);
      throw new CalcomError(`Cal.com ${method} ${path.split('?')[0]} answered ${response.status}${detail ? `: ${detail}` : ''}`, response.status);
    }
    return parsed?.data ?? null;
  }
}
