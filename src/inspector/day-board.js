/**
 * The day board as a calendar (PROTOCOL §5): a column per staff member, their opening
 * windows, appointments drawn phase by phase (busy solid, processing light) with who
 * booked them, live holds with a countdown and their call, and blocks. It refetches the
 * day when the feed says a hold of its tenant changed or a call of it ended, and once
 * every `REFRESH_MS` for what the feed does not carry (front desk and calendar changes).
 */
import { countdown, h } from './dom.js';

const REFRESH_MS = 20_000;
const REFETCH_DEBOUNCE_MS = 250;
const PX_PER_MINUTE = 1.1;
const DEFAULT_HOURS = [8 * 60, 20 * 60];
const STATE_KEY = 'callhold.inspector.board';
const SOURCE_LABELS = { call: 'phone', front_desk: 'front desk', calendar: 'calendar' };

/** Minutes after local midnight of `iso` (written in the tenant's offset) on `date`, clamped to that day. */
function minuteOf(iso, date) {
  const day = iso.slice(0, 10);
  if (day < date) return 0;
  if (day > date) return 24 * 60;
  return Number(iso.slice(11, 13)) * 60 + Number(iso.slice(14, 16));
}
const hhmm = (minutes) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
const windowMinutes = ([from, to]) => [Number(from.slice(0, 2)) * 60 + Number(from.slice(3)), to === '24:00' ? 24 * 60 : Number(to.slice(0, 2)) * 60 + Number(to.slice(3))];

/** `YYYY-MM-DD` of the browser's today; the board itself says which zone its day is in. */
function today() {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
}
function shiftDate(date, days) {
  const day = new Date(`${date}T12:00:00Z`);
  day.setUTCDate(day.getUTCDate() + days);
  return day.toISOString().slice(0, 10);
}

/**
 * @param {{ api: (path: string) => Promise<{ body: any }>, serverNow: () => number, report: (error: unknown) => void, selectCall: (tenant: string, callId: string) => void }} options
 */
export function createDayBoard({ api, serverNow, report, selectCall }) {
  const $ = (id) => document.getElementById(id);
  const saved = JSON.parse(sessionStorage.getItem(STATE_KEY) ?? '{}');
  const board = { tenant: saved.tenant ?? '', date: saved.date ?? today(), day: null, request: 0, timer: null, poller: null, knownTenants: new Set() };

  const remember = () => sessionStorage.setItem(STATE_KEY, JSON.stringify({ tenant: board.tenant, date: board.date }));

  function setStatus(text) {
    $('board-status').textContent = text;
  }

  async function load() {
    if (!board.tenant) {
      board.day = null;
      render();
      return;
    }
    const request = ++board.request;
    const { tenant, date } = board;
    try {
      const { body } = await api(`/v1/admin/tenants/${encodeURIComponent(tenant)}/day?date=${date}`);
      if (request !== board.request) return;
      board.day = { tenant, ...body };
      setStatus(`updated ${new Date(serverNow()).toLocaleTimeString()}`);
    } catch (error) {
      if (request !== board.request) return;
      board.day = null;
      setStatus(error?.message ?? 'could not load the day');
      report(error);
    }
    render();
  }

  function refetchSoon() {
    clearTimeout(board.timer);
    board.timer = setTimeout(() => load(), REFETCH_DEBOUNCE_MS);
  }

  function render() {
    const target = $('board');
    const day = board.day;
    $('board-tenant').value = board.tenant;
    $('board-date').value = board.date;
    if (!day) {
      target.replaceChildren(h('p', { class: 'empty' }, board.tenant ? `Loading ${board.tenant}…` : 'Choose a tenant to see its day.'));
      return;
    }
    const windows = day.staff.flatMap((column) => column.windows.map(windowMinutes));
    const from = Math.floor(Math.min(DEFAULT_HOURS[0], ...windows.map(([start]) => start)) / 60) * 60;
    const to = Math.ceil(Math.max(DEFAULT_HOURS[1], ...windows.map(([, end]) => end)) / 60) * 60;
    const y = (minute) => `${Math.round((Math.min(Math.max(minute, from), to) - from) * PX_PER_MINUTE)}px`;
    const height = (start, end) => `${Math.max(3, Math.round((Math.min(end, to) - Math.max(start, from)) * PX_PER_MINUTE))}px`;
    const hours = [];
    for (let minute = from; minute <= to; minute += 60) hours.push(minute);

    const axis = h('div', { class: 'board-axis' }, hours.map((minute) => h('span', { class: 'board-hour', style: { top: y(minute) } }, hhmm(minute))));
    const columns = day.staff.map((column) =>
      h(
        'div',
        { class: 'board-column', dataset: { staff: column.id } },
        h('div', { class: 'board-staff' }, column.name, column.windows.length === 0 ? h('span', { class: 'muted small' }, ' · off') : null),
        h(
          'div',
          { class: 'board-lane', style: { height: y(to) } },
          hours.map((minute) => h('span', { class: 'board-line', style: { top: y(minute) } })),
          column.windows.map((window) => {
            const [start, end] = windowMinutes(window);
            return h('div', { class: 'board-open', style: { top: y(start), height: height(start, end) }, title: `open ${window[0]}–${window[1]}` });
          }),
          column.blocks.map((block) => item('board-block', block, { block: block.id, source: block.source }, [h('strong', {}, block.reason ?? 'blocked'), h('span', { class: 'small' }, `${block.start.slice(11, 16)}–${block.end.slice(11, 16)} · ${SOURCE_LABELS[block.source] ?? block.source}`)])),
          column.appointments.map((appointment) =>
            h(
              'div',
              {
                class: `board-item board-appointment source-${appointment.source}`,
                dataset: { appointment: appointment.id, source: appointment.source },
                style: { top: y(minuteOf(appointment.start, day.date)), height: height(minuteOf(appointment.start, day.date), minuteOf(appointment.end, day.date)) },
                title: `${appointment.customer_name} · ${appointment.service} · ${appointment.start.slice(11, 16)}–${appointment.end.slice(11, 16)} · ${SOURCE_LABELS[appointment.source] ?? appointment.source}`,
              },
              appointment.phases.map((phase) =>
                h('span', {
                  class: `board-phase ${phase.staff_busy ? 'busy' : 'processing'}`,
                  dataset: { busy: String(phase.staff_busy) },
                  style: {
                    top: `${Math.round((minuteOf(phase.start, day.date) - minuteOf(appointment.start, day.date)) * PX_PER_MINUTE)}px`,
                    height: `${Math.round((minuteOf(phase.end, day.date) - minuteOf(phase.start, day.date)) * PX_PER_MINUTE)}px`,
                  },
                }),
              ),
              h(
                'span',
                { class: 'board-label' },
                h('strong', {}, appointment.customer_name),
                h('span', { class: 'small' }, `${appointment.start.slice(11, 16)} ${appointment.service}`),
                h('span', { class: `board-source source-${appointment.source}` }, SOURCE_LABELS[appointment.source] ?? appointment.source),
              ),
            ),
          ),
          column.holds.map((hold) =>
            item('board-hold', hold, { hold: hold.id, call: hold.call_id ?? '' }, [
              h('span', { class: 'countdown', dataset: { expires: hold.expires_at } }, countdown(Date.parse(hold.expires_at) - serverNow())),
              h('span', { class: 'small' }, `held · ${hold.service}`),
              h('span', { class: 'small mono' }, hold.call_id ?? ''),
            ], hold.call_id ? () => selectCall(day.tenant, hold.call_id) : null),
          ),
        ),
      ),
    );
    const nowLine = nowMarker(day, from, to, y);
    target.replaceChildren(h('div', { class: 'board-grid' }, axis, h('div', { class: 'board-columns' }, columns, nowLine)));

    function item(kind, entry, dataset, content, onclick = null) {
      const start = minuteOf(entry.start, day.date);
      const end = minuteOf(entry.end, day.date);
      return h(
        'div',
        {
          class: `board-item ${kind}`,
          dataset,
          style: { top: y(start), height: height(start, end) },
          title: `${entry.start.slice(11, 16)}–${entry.end.slice(11, 16)}`,
          ...(onclick ? { onclick, tabindex: 0, role: 'button' } : {}),
        },
        h('span', { class: 'board-label' }, content),
      );
    }
  }

  /** A line at the broker's now, when the board shows today in the tenant's zone. */
  function nowMarker(day, from, to, y) {
    const local = new Intl.DateTimeFormat('sv-SE', { timeZone: day.timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(serverNow()));
    if (local.slice(0, 10) !== day.date) return null;
    const minute = Number(local.slice(11, 13)) * 60 + Number(local.slice(14, 16));
    if (minute < from || minute > to) return null;
    return h('div', { class: 'board-now', style: { top: `calc(${y(minute)} + var(--board-head))` }, title: `now ${local.slice(11, 16)}` });
  }

  function choose(tenant, date) {
    board.tenant = tenant.trim();
    board.date = date || today();
    board.day = null;
    remember();
    render();
    load();
  }

  $('board-form').addEventListener('submit', (event) => {
    event.preventDefault();
    choose($('board-tenant').value, $('board-date').value);
  });
  $('board-date').addEventListener('change', () => choose($('board-tenant').value, $('board-date').value));
  $('board-prev').addEventListener('click', () => choose(board.tenant, shiftDate(board.date, -1)));
  $('board-next').addEventListener('click', () => choose(board.tenant, shiftDate(board.date, 1)));
  $('board-today').addEventListener('click', () => choose(board.tenant, today()));

  return {
    start() {
      render();
      load();
      clearInterval(board.poller);
      board.poller = setInterval(() => load(), REFRESH_MS);
    },
    stop() {
      clearInterval(board.poller);
      clearTimeout(board.timer);
      board.day = null;
    },
    /** Tenants the page has heard of: offered in the picker, the first one shown when none is chosen. */
    knowTenants(tenants) {
      for (const tenant of tenants) board.knownTenants.add(tenant);
      $('board-tenants').replaceChildren(...[...board.knownTenants].sort().map((tenant) => h('option', { value: tenant })));
      if (!board.tenant && board.knownTenants.size > 0) choose([...board.knownTenants].sort()[0], board.date);
    },
    onFeedEvent(event) {
      // After a (re)connect the feed starts afresh: catch up on what it did not carry.
      if (event.type === 'feed.ready') return refetchSoon();
      if (event.tenant && !board.knownTenants.has(event.tenant)) this.knowTenants([event.tenant]);
      if (event.tenant === board.tenant && (event.type === 'hold.changed' || event.type === 'session.ended')) refetchSoon();
    },
  };
}
