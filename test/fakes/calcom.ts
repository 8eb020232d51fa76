/**
 * A fake of Cal.com's API v2 on a loopback port: the booking calls calendar sync makes
 * (`POST /v2/bookings`, `POST /v2/bookings/{uid}/cancel`, `GET /v2/bookings`), checked for
 * the bearer key and `cal-api-version`, with Cal.com's unique key on a repeated booking
 * of the same slot; and Cal.com's own webhooks, signed `X-Cal-Signature-256` (hex
 * HMAC-SHA256 of the body), sent to a subscriber as the real one does; slot reservations
 * (`POST/DELETE /v2/slots/reservations`, `cal-api-version: 2024-09-04`). Tests script
 * failures, and answers lost after the booking was made.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeBooking {
  id: number;
  uid: string;
  start: string;
  end: string;
  status: 'accepted' | 'cancelled';
  eventTypeId: number;
  attendees: Array<{ name: string; email: string; timeZone: string; phoneNumber?: string }>;
  metadata: Record<string, unknown>;
  hosts: Array<{ username: string }>;
}

export interface FakeReservation {
  reservationUid: string;
  eventTypeId: number;
  slotStart: string;
  slotEnd: string;
  reservationDuration: number;
  released: boolean;
}

export interface CalcomRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

export class FakeCalcom {
  readonly bookings: FakeBooking[] = [];
  readonly reservations: FakeReservation[] = [];
  readonly requests: CalcomRequest[] = [];
  /** Webhooks sent to the subscriber, with the status it answered. */
  readonly webhooksSent: Array<{ triggerEvent: string; uid: string; status: number }> = [];
  /** Where Cal.com's webhooks go, and their secret; none are sent without it. */
  subscriber: { url: string; secret: string } | null = null;
  /** Minutes per event type; 30 when not given. Host username per event type. */
  eventTypes = new Map<number, { minutes: number; host: string }>();
  private failCreates: number[] = [];
  private dropCreateAnswers = 0;
  private nextId = 1000;

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
    readonly apiKey: string,
  ) {}

  static async start(apiKey = 'cal_test_key'): Promise<FakeCalcom> {
    let fake!: FakeCalcom;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: any = null;
        try {
          body = raw ? JSON.parse(raw) : null;
        } catch {
          body = null;
        }
        fake.handle({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body }, (status, payload) => {
          if (status === 0) return response.destroy();
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(JSON.stringify(payload));
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    fake = new FakeCalcom(server, `http://127.0.0.1:${port}/v2`, apiKey);
    return fake;
  }

  /** The next creates answer these statuses (nothing booked). */
  failNextCreates(...statuses: number[]): void {
    this.failCreates.push(...statuses);
  }

  /** The next `count` creates book, then drop the connection without an answer. */
  dropNextCreateAnswers(count = 1): void {
    this.dropCreateAnswers += count;
  }

  live(): FakeBooking[] {
    return this.bookings.filter((booking) => booking.status === 'accepted');
  }

  /** A booking made on Cal.com's own page; its webhook goes to the subscriber. */
  async bookExternally(options: { eventTypeId: number; start: string; end?: string; host: string; name?: string }): Promise<FakeBooking> {
    const start = new Date(options.start);
    const end = options.end ? new Date(options.end) : new Date(start.getTime() + this.minutes(options.eventTypeId) * 60_000);
    const booking = this.store({ eventTypeId: options.eventTypeId, start, end, host: options.host, attendee: { name: options.name ?? 'Web Walter', email: 'walter@example.com', timeZone: 'Europe/Berlin' }, metadata: {} });
    await this.emit('BOOKING_CREATED', booking);
    return booking;
  }

  async cancelExternally(uid: string): Promise<void> {
    const booking = this.bookings.find((candidate) => candidate.uid === uid)!;
    booking.status = 'cancelled';
    await this.emit('BOOKING_CANCELLED', booking);
  }

  /** Signs a webhook body as Cal.com does. */
  static sign(rawBody: string, secret: string): string {
    return createHmac('sha256', secret).update(rawBody).digest('hex');
  }

  /** The JSON body Cal.com posts for a booking event. */
  static webhookBody(triggerEvent: string, booking: FakeBooking, extra: Record<string, unknown> = {}): string {
    return JSON.stringify({
      triggerEvent,
      createdAt: new Date().toISOString(),
      payload: {
        type: `event-${booking.eventTypeId}`,
        title: `Booking ${booking.uid}`,
        startTime: booking.start,
        endTime: booking.end,
        organizer: { name: booking.hosts[0]?.username, email: `${booking.hosts[0]?.username}@example.com`, username: booking.hosts[0]?.username, timeZone: 'Europe/Berlin' },
        attendees: booking.attendees,
        uid: booking.uid,
        bookingId: booking.id,
        eventTypeId: booking.eventTypeId,
        metadata: booking.metadata,
        status: booking.status === 'cancelled' ? 'CANCELLED' : 'ACCEPTED',
        ...extra,
      },
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private minutes(eventTypeId: number): number {
    return this.eventTypes.get(eventTypeId)?.minutes ?? 30;
  }

  private store(options: { eventTypeId: number; start: Date; end: Date; host: string; attendee: FakeBooking['attendees'][number]; metadata: Record<string, unknown> }): FakeBooking {
    const booking: FakeBooking = {
      id: this.nextId++,
      uid: randomUUID().replaceAll('-', '').slice(0, 22),
      start: options.start.toISOString(),
      end: options.end.toISOString(),
      status: 'accepted',
      eventTypeId: options.eventTypeId,
      attendees: [options.attendee],
      metadata: options.metadata,
      hosts: [{ username: options.host }],
    };
    this.bookings.push(booking);
    return booking;
  }

  private async emit(triggerEvent: string, booking: FakeBooking): Promise<void> {
    if (!this.subscriber) return;
    const body = FakeCalcom.webhookBody(triggerEvent, booking);
    const response = await fetch(this.subscriber.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-cal-signature-256': FakeCalcom.sign(body, this.subscriber.secret) },
      body,
    });
    await response.text();
    this.webhooksSent.push({ triggerEvent, uid: booking.uid, status: response.status });
  }

  private handle(request: CalcomRequest, answer: (status: number, payload: unknown) => void): void {
    this.requests.push(request);
    const url = new URL(request.path, 'http://fake');
    const error = (status: number, message: string) => answer(status, { status: 'error', error: { code: String(status), message } });
    if (request.headers.authorization !== `Bearer ${this.apiKey}`) return error(401, 'invalid api key');
    const version = url.pathname.startsWith('/v2/slots/') ? '2024-09-04' : '2024-08-13';
    if (request.headers['cal-api-version'] !== version) return error(400, `cal-api-version ${version} expected`);

    if (request.method === 'POST' && url.pathname === '/v2/slots/reservations') {
      const body = request.body ?? {};
      if (typeof body.eventTypeId !== 'number' || typeof body.slotStart !== 'string' || !body.slotStart.endsWith('Z')) return error(400, 'eventTypeId and slotStart (UTC) are required');
      const start = new Date(body.slotStart);
      const reservation: FakeReservation = {
        reservationUid: randomUUID(),
        eventTypeId: body.eventTypeId,
        slotStart: start.toISOString(),
        slotEnd: new Date(start.getTime() + (body.slotDuration ?? this.minutes(body.eventTypeId)) * 60_000).toISOString(),
        reservationDuration: body.reservationDuration ?? 5,
        released: false,
      };
      this.reservations.push(reservation);
      return answer(201, { status: 'success', data: reservation });
    }
    const reservation = /^\/v2\/slots\/reservations\/([^/]+)$/.exec(url.pathname);
    if (request.method === 'DELETE' && reservation) {
      const found = this.reservations.find((candidate) => candidate.reservationUid === decodeURIComponent(reservation[1]!) && !candidate.released);
      if (!found) return error(404, 'reservation not found');
      found.released = true;
      return answer(200, { status: 'success' });
    }

    if (request.method === 'POST' && url.pathname === '/v2/bookings') {
      const failure = this.failCreates.shift();
      if (failure) return error(failure, 'scripted failure');
      const body = request.body ?? {};
      if (typeof body.start !== 'string' || !body.start.endsWith('Z') || typeof body.eventTypeId !== 'number' || !body.attendee?.email || !body.attendee?.name || !body.attendee?.timeZone) {
        return error(400, 'start (UTC), eventTypeId and attendee {name, email, timeZone} are required');
      }
      const start = new Date(body.start);
      if (this.live().some((booking) => booking.eventTypeId === body.eventTypeId && booking.start === start.toISOString())) {
        return error(409, 'Unique constraint failed on the fields: (`userId`,`startTime`,`endTime`)');
      }
      const booking = this.store({
        eventTypeId: body.eventTypeId,
        start,
        end: new Date(start.getTime() + this.minutes(body.eventTypeId) * 60_000),
        host: this.eventTypes.get(body.eventTypeId)?.host ?? 'owner',
        attendee: body.attendee,
        metadata: body.metadata ?? {},
      });
      // Cal.com sends its webhook for every booking, ours too: the echo the broker must recognise.
      void this.emit('BOOKING_CREATED', booking).catch(() => {});
      if (this.dropCreateAnswers > 0) {
        this.dropCreateAnswers--;
        return answer(0, null);
      }
      return answer(201, { status: 'success', data: booking });
    }

    const cancel = /^\/v2\/bookings\/([^/]+)\/cancel$/.exec(url.pathname);
    if (request.method === 'POST' && cancel) {
      const booking = this.bookings.find((candidate) => candidate.uid === decodeURIComponent(cancel[1]!));
      if (!booking) return error(404, 'booking not found');
      if (booking.status !== 'cancelled') {
        booking.status = 'cancelled';
        void this.emit('BOOKING_CANCELLED', booking).catch(() => {});
      }
      return answer(200, { status: 'success', data: booking });
    }

    if (request.method === 'GET' && url.pathname === '/v2/bookings') {
      const q = url.searchParams;
      let found = [...this.bookings];
      if (q.get('attendeeEmail')) found = found.filter((booking) => booking.attendees.some((attendee) => attendee.email === q.get('attendeeEmail')));
      if (q.get('eventTypeId')) found = found.filter((booking) => booking.eventTypeId === Number(q.get('eventTypeId')));
      if (q.get('afterStart')) found = found.filter((booking) => booking.start >= new Date(q.get('afterStart')!).toISOString());
      if (q.get('beforeEnd')) found = found.filter((booking) => booking.end <= new Date(q.get('beforeEnd')!).toISOString());
      const status = q.get('status');
      if (status === 'upcoming') found = found.filter((booking) => booking.status === 'accepted');
      if (status === 'cancelled') found = found.filter((booking) => booking.status === 'cancelled');
      const skip = Number(q.get('skip') ?? 0);
      const take = Number(q.get('take') ?? 100);
      return answer(200, { status: 'success', data: found.slice(skip, skip + take) });
    }
    return error(404, `no route ${request.method} ${url.pathname}`);
  }
}
