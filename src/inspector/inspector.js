/**
 * The session state inspector page. It asks for the admin token, keeps it in
 * sessionStorage, and from then on learns every change from the live feed
 * (`/v1/sessions/feed`): no polling. It fetches the list of calls and the hold
 * statistics when the feed (re)connects, and a call's detail when it is selected or
 * when the feed says that call changed.
 */
import { createDayBoard } from './day-board.js';
import { brief, clockTime, countdown, duration, h, stateParts } from './dom.js';
import { renderStateTree } from './state-tree.js';

const TOKEN_KEY = 'callhold.inspector.token';
const LIST_LIMIT = 200;
const DETAIL_DEBOUNCE_MS = 150;
const STATS_DEBOUNCE_MS = 300;
const MAX_FEED_RETRY_MS = 15_000;
const URGENT_HOLD_MS = 15_000;

const $ = (id) => document.getElementById(id);
const keyOf = (tenant, callId) => `${tenant}/${callId}`;

const app = {
  token: null,
  machine: null,
  /** key → the call as the table shows it (the list's fields, updated from the feed). */
  rows: new Map(),
  totalCalls: 0,
  selected: null,
  detail: null,
  detailRequest: 0,
  feed: null,
  feedRetryMs: 1000,
  /** Server clock minus ours, from the feed's greeting: countdowns follow the broker's clock. */
  clockSkewMs: 0,
  loadingRows: new Set(),
  timers: new Map(),
  renderQueued: false,
};

const serverNow = () => Date.now() + app.clockSkewMs;

class Unauthorized extends Error {}

let dayBoard = null;

async function api(path) {
  const response = await fetch(path, { headers: { authorization: `Bearer ${app.token}` }, cache: 'no-store' });
  if (response.status === 401) throw new Unauthorized('the broker refused the admin token');
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message ?? `request failed with ${response.status}`);
  return { body, headers: response.headers };
}

/** Runs `task` once, `ms` after the last call with the same name. */
function debounce(name, ms, task) {
  clearTimeout(app.timers.get(name));
  app.timers.set(name, setTimeout(() => {
    app.timers.delete(name);
    task();
  }, ms));
}

function report(error) {
  if (error instanceof Unauthorized) logout('The broker refused the token. Enter it again.');
  else console.warn('inspector:', error);
}

// ---- sign-in ---------------------------------------------------------------------------

async function login(token) {
  app.token = token;
  try {
    app.machine = (await api('/v1/sessions/machine')).body;
  } catch (error) {
    app.token = null;
    throw error;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $('login').hidden = true;
  $('workspace').hidden = false;
  $('logout').hidden = false;
  document.querySelector('.tenant-filter').hidden = false;
  dayBoard.start();
  connectFeed();
}

function logout(message = '') {
  sessionStorage.removeItem(TOKEN_KEY);
  app.token = null;
  const feed = app.feed;
  app.feed = null;
  feed?.close();
  for (const timer of app.timers.values()) clearTimeout(timer);
  app.timers.clear();
  app.rows.clear();
  app.selected = null;
  app.detail = null;
  dayBoard.stop();
  setFeedStatus('offline');
  $('workspace').hidden = true;
  $('logout').hidden = true;
  document.querySelector('.tenant-filter').hidden = true;
  $('login').hidden = false;
  $('login-error').hidden = !message;
  $('login-error').textContent = message;
  $('token-input').value = '';
  $('token-input').focus();
}

// ---- live feed -------------------------------------------------------------------------

function setFeedStatus(status) {
  const badge = $('feed-status');
  badge.dataset.status = status;
  badge.textContent = { live: 'live', connecting: 'connecting…', offline: 'offline' }[status];
}

function connectFeed() {
  if (!app.token) return;
  const url = new URL('/v1/sessions/feed', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('token', app.token);
  const socket = new WebSocket(url);
  app.feed = socket;
  setFeedStatus('connecting');
  socket.addEventListener('message', (message) => {
    if (app.feed !== socket) return;
    try {
      onFeedEvent(JSON.parse(message.data));
    } catch (error) {
      report(error);
    }
  });
  socket.addEventListener('close', () => {
    if (app.feed !== socket) return;
    app.feed = null;
    setFeedStatus('offline');
    const wait = app.feedRetryMs;
    app.feedRetryMs = Math.min(app.feedRetryMs * 2, MAX_FEED_RETRY_MS);
    debounce('feed', wait, reconnectFeed);
  });
}

/** A WebSocket refused with 401 looks like any other failure; ask the API whether the token still holds. */
async function reconnectFeed() {
  if (!app.token) return;
  try {
    await api('/v1/sessions?limit=1');
    connectFeed();
  } catch (error) {
    if (error instanceof Unauthorized) report(error);
    else debounce('feed', app.feedRetryMs, reconnectFeed);
  }
}

function onFeedEvent(event) {
  if (event.type === 'feed.ready') {
    app.clockSkewMs = Date.parse(event.at) - Date.now();
    app.feedRetryMs = 1000;
    setFeedStatus('live');
    // Everything from now on reaches us through the feed; catch up on what happened before.
    loadCalls().catch(report);
    loadStats().catch(report);
    if (app.selected) loadDetail().catch(report);
    dayBoard.onFeedEvent(event);
    return;
  }
  dayBoard.onFeedEvent(event);
  const key = keyOf(event.tenant, event.call_id);
  const row = app.rows.get(key) ?? addUnknownRow(event);
  switch (event.type) {
    case 'session.started':
      row.status = 'live';
      row.outcome = null;
      row.connected = true;
      row.runtime = event.runtime ?? row.runtime;
      break;
    case 'state.changed':
      row.state = event.state;
      break;
    case 'hold.changed':
      row.hold = event.hold;
      debounce('stats', STATS_DEBOUNCE_MS, () => loadStats().catch(report));
      break;
    case 'tool.answered':
      row.last_tool = { id: event.id, name: event.tool, latency_ms: event.latency_ms, ok: event.ok };
      break;
    case 'session.ended':
      row.status = 'ended';
      row.outcome = event.outcome;
      row.connected = false;
      debounce('stats', STATS_DEBOUNCE_MS, () => loadStats().catch(report));
      break;
    default:
      return;
  }
  scheduleRender();
  if (app.selected === key) {
    if (event.type === 'state.changed') drawStateTree();
    debounce('detail', DETAIL_DEBOUNCE_MS, () => loadDetail().catch(report));
  }
}

/** A call the table has not seen yet: shown at once, its details fetched once. */
function addUnknownRow(event) {
  const key = keyOf(event.tenant, event.call_id);
  const row = { tenant: event.tenant, call_id: event.call_id, runtime: event.runtime ?? null, status: 'live', state: null, hold: null, outcome: null, started_at: event.at, ended_at: null, connected: null, last_tool: null };
  app.rows.set(key, row);
  if (!app.loadingRows.has(key)) {
    app.loadingRows.add(key);
    api(sessionPath(key))
      .then(({ body }) => mergeRow(body, { keepFeedState: true }))
      .catch(report)
      .finally(() => app.loadingRows.delete(key));
  }
  return row;
}

// ---- data ------------------------------------------------------------------------------

const sessionPath = (key) => {
  const [tenant, ...rest] = key.split('/');
  return `/v1/sessions/${encodeURIComponent(tenant)}/${encodeURIComponent(rest.join('/'))}`;
};

/** Takes a session as the API lists it; `keepFeedState` keeps what the feed already said (it is newer). */
function mergeRow(session, { keepFeedState = false } = {}) {
  const key = keyOf(session.tenant, session.call_id);
  const existing = app.rows.get(key);
  const fresh = {
    tenant: session.tenant,
    call_id: session.call_id,
    runtime: session.runtime ?? null,
    status: session.status,
    state: session.state,
    hold: session.hold,
    outcome: session.outcome,
    started_at: session.started_at,
    ended_at: session.ended_at,
    connected: session.connected,
    last_tool: session.last_tool,
  };
  if (existing && keepFeedState) {
    app.rows.set(key, { ...fresh, ...pick(existing, ['state', 'hold', 'last_tool']), status: existing.status === 'ended' ? 'ended' : fresh.status, outcome: existing.outcome ?? fresh.outcome });
  } else {
    app.rows.set(key, existing ? { ...existing, ...fresh, last_tool: fresh.last_tool ?? existing.last_tool } : fresh);
  }
  scheduleRender();
}

function pick(object, names) {
  return Object.fromEntries(names.filter((name) => object[name] !== null && object[name] !== undefined).map((name) => [name, object[name]]));
}

async function loadCalls() {
  const { body, headers } = await api(`/v1/sessions?limit=${LIST_LIMIT}`);
  for (const session of body) mergeRow(session);
  dayBoard.knowTenants(body.map((session) => session.tenant));
  app.totalCalls = Number(headers.get('x-total-count') ?? body.length);
  scheduleRender();
  const wanted = decodeURIComponent(location.hash.slice(1));
  if (!app.selected && wanted && app.rows.has(wanted)) select(wanted);
}

async function loadStats() {
  const { body } = await api('/v1/sessions/stats');
  renderStats(body);
  dayBoard.knowTenants(body.map((row) => row.tenant));
}

async function loadDetail() {
  const key = app.selected;
  if (!key) return;
  const request = ++app.detailRequest;
  const { body } = await api(sessionPath(key));
  if (request !== app.detailRequest || app.selected !== key) return;
  app.detail = body;
  mergeRow(body, { keepFeedState: true });
  renderDetail();
}

function select(key) {
  app.selected = key;
  app.detail = null;
  history.replaceState(null, '', `#${encodeURIComponent(key)}`);
  scheduleRender();
  renderDetail();
  loadDetail().catch(report);
}

// ---- calls table -----------------------------------------------------------------------

function scheduleRender() {
  if (app.renderQueued) return;
  app.renderQueued = true;
  requestAnimationFrame(() => {
    app.renderQueued = false;
    renderCalls();
  });
}

function renderCalls() {
  const filter = $('tenant-filter').value.trim().toLowerCase();
  const rows = [...app.rows.values()]
    .filter((row) => !filter || row.tenant.toLowerCase().includes(filter))
    .sort((a, b) => (b.started_at ?? '').localeCompare(a.started_at ?? '') || a.call_id.localeCompare(b.call_id));
  $('calls').replaceChildren(...rows.map(callRow));
  $('calls-empty').hidden = rows.length > 0;
  const live = rows.filter((row) => row.status === 'live').length;
  const more = app.totalCalls > app.rows.size ? ` (latest ${app.rows.size} of ${app.totalCalls})` : '';
  $('call-count').textContent = rows.length ? `${live} live · ${rows.length} shown${more}` : '';
  tick();
}

function callRow(row) {
  const key = keyOf(row.tenant, row.call_id);
  return h(
    'tr',
    {
      class: [app.selected === key ? 'selected' : '', row.status].join(' '),
      dataset: { key, status: row.status },
      tabindex: 0,
      'aria-selected': app.selected === key ? 'true' : 'false',
      onclick: () => select(key),
      onkeydown: (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          select(key);
        }
      },
    },
    h('td', {}, row.tenant),
    h(
      'td',
      { class: 'mono call-id', title: row.call_id },
      h('span', { class: `dot ${row.status}${row.connected === false && row.status === 'live' ? ' suspended' : ''}`, title: row.status }),
      row.call_id,
      // Which runtime carries the call: our WebSocket (callhold), OpenAI Realtime, Retell, Vapi or ElevenLabs.
      row.runtime ? h('span', { class: 'runtime muted', dataset: { field: 'runtime' } }, row.runtime) : null,
      h('span', { class: 'started muted', dataset: { field: 'started' } }, `started ${clockTime(row.started_at)}`),
    ),
    h('td', { dataset: { field: 'state' } }, stateChips(row.state)),
    h('td', { dataset: { field: 'hold', holdStatus: row.hold?.status ?? 'none' } }, holdCell(row.hold)),
    h(
      'td',
      { dataset: { field: 'tool' } },
      row.last_tool
        ? [h('span', { class: row.last_tool.ok === false ? 'tool failed' : 'tool' }, row.last_tool.name), ' ', h('span', { class: 'muted' }, duration(row.last_tool.latency_ms))]
        : h('span', { class: 'muted' }, '—'),
    ),
    h('td', { dataset: { field: 'outcome', outcome: row.outcome ?? '' } }, outcomeBadge(row)),
  );
}

function stateChips(state) {
  if (state === null || state === undefined) return h('span', { class: 'muted' }, '…');
  return h(
    'span',
    { class: 'chips' },
    stateParts(state).map(([region, leaf]) =>
      h('span', { class: `chip ${region ? `region-${region}` : 'root'} ${/running|extending|checking|retrying|suspended/.test(leaf) ? 'busy' : ''}`, dataset: { region: region ?? 'root' } }, region ? h('span', { class: 'chip-region' }, region) : null, leaf),
    ),
  );
}

function holdCell(hold) {
  if (!hold) return h('span', { class: 'muted' }, '—');
  if (hold.status === 'held' || hold.status === 'extended') {
    return h(
      'span',
      { class: 'hold-live' },
      h('span', { class: 'countdown', dataset: { expires: hold.expires_at }, title: `expires at ${clockTime(hold.expires_at)}` }, countdown(Date.parse(hold.expires_at) - serverNow())),
      h('span', { class: 'muted small' }, `${hold.service} · ${slotLabel(hold.start)}`),
    );
  }
  return h('span', { class: `badge hold-${hold.status}` }, hold.status);
}

function outcomeBadge(row) {
  if (row.outcome) return h('span', { class: `badge outcome-${row.outcome}` }, row.outcome.replace('_', ' '));
  return h('span', { class: 'muted' }, row.status === 'live' ? 'in call' : '—');
}

/** `Fri 28.11. 10:00` of a slot start, in the tenant's offset. */
function slotLabel(iso) {
  if (typeof iso !== 'string') return '';
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][new Date(`${iso.slice(0, 10)}T12:00:00Z`).getUTCDay()];
  return `${weekday} ${iso.slice(8, 10)}.${iso.slice(5, 7)}. ${iso.slice(11, 16)}`;
}

/** Moves every hold countdown on the page along; the broker's clock (via the skew) decides. */
function tick() {
  for (const element of document.querySelectorAll('.countdown[data-expires]')) {
    const left = Date.parse(element.dataset.expires) - serverNow();
    element.textContent = countdown(left);
    element.classList.toggle('urgent', left > 0 && left < URGENT_HOLD_MS);
    element.classList.toggle('over', left <= 0);
  }
}

// ---- hold statistics -------------------------------------------------------------------

function renderStats(stats) {
  const cell = (row, field) => h('td', { class: 'num', dataset: { field } }, String(row[field]));
  $('stats').replaceChildren(
    ...stats.map((row) =>
      h(
        'tr',
        { dataset: { tenant: row.tenant } },
        h('td', {}, row.tenant),
        ['placed', 'held', 'converted', 'expired', 'lost', 'released'].map((field) => cell(row, field)),
        h(
          'td',
          { dataset: { field: 'conversion_rate' } },
          h('span', { class: 'meter' }, h('span', { class: 'meter-fill', style: { width: `${Math.round((row.conversion_rate ?? 0) * 100)}%` } })),
          h('span', { class: 'rate' }, row.conversion_rate === null ? '—' : `${Math.round(row.conversion_rate * 100)} %`),
        ),
      ),
    ),
  );
  $('stats-empty').hidden = stats.length > 0;
}

// ---- detail ----------------------------------------------------------------------------

function renderDetail() {
  const panel = $('detail');
  if (!app.selected) {
    panel.replaceChildren(h('p', { class: 'empty' }, 'Select a call to see its state machine, its hold and its timeline.'));
    return;
  }
  const detail = app.detail;
  if (!detail) {
    panel.replaceChildren(h('p', { class: 'empty' }, `Loading ${app.selected}…`));
    return;
  }
  const row = app.rows.get(app.selected);
  panel.replaceChildren(
    h(
      'header',
      { class: 'detail-head' },
      h('div', {}, h('h2', { class: 'mono' }, detail.call_id), h('div', { class: 'muted' }, `${detail.tenant} · ${detail.timezone} · started ${clockTime(detail.started_at)}`)),
      h(
        'div',
        { class: 'badges' },
        h('span', { class: `badge status-${row?.status ?? detail.status}` }, row?.status ?? detail.status),
        detail.runtime ? h('span', { class: 'badge runtime', dataset: { field: 'runtime' } }, detail.runtime) : null,
        (row?.status ?? detail.status) === 'live' ? h('span', { class: `badge ${detail.connected === false ? 'status-suspended' : 'status-connected'}` }, connectionLabel(detail.connected)) : null,
        detail.outcome ? h('span', { class: `badge outcome-${detail.outcome}` }, detail.outcome.replace('_', ' ')) : null,
      ),
    ),
    h('section', { class: 'block' }, h('h3', {}, 'State machine ', h('span', { class: 'muted' }, `${app.machine.id} v${app.machine.version}`)), h('div', { id: 'state-tree' })),
    h('div', { class: 'block-row' }, holdBlock(detail), summaryBlock(detail)),
    h('section', { class: 'block' }, h('h3', {}, 'Timeline ', h('span', { class: 'muted' }, `${detail.events.length} frames`)), timeline(detail.events)),
    h('details', { class: 'block context' }, h('summary', {}, 'Machine context'), h('pre', { class: 'json' }, JSON.stringify(detail.context, null, 2))),
  );
  drawStateTree();
  tick();
}

function connectionLabel(connected) {
  if (connected === true) return 'connected';
  if (connected === false) return 'waiting for reconnect';
  return 'not in this broker';
}

/** The feed's state is the freshest; the detail's is the fallback. */
function drawStateTree() {
  const target = document.getElementById('state-tree');
  if (!target || !app.machine) return;
  const state = app.rows.get(app.selected)?.state ?? app.detail?.state;
  target.replaceChildren(renderStateTree(app.machine, state));
}

function holdBlock(detail) {
  const hold = detail.hold;
  return h(
    'section',
    { class: 'block hold-block' },
    h('h3', {}, 'Hold'),
    hold
      ? h(
          'div',
          { class: 'hold-card' },
          h('div', { class: 'big countdown', dataset: { expires: hold.expires_at } }, countdown(Date.parse(hold.expires_at) - serverNow())),
          h('dl', {}, dt('service', `${hold.service} with ${hold.staff}`), dt('slot', `${slotLabel(hold.start)}–${clockTime(hold.end).slice(0, 5)}`), dt('placed', clockTime(hold.placed_at)), dt('expires', clockTime(hold.expires_at)), dt('at the latest', clockTime(hold.max_expires_at))),
        )
      : h('p', { class: 'muted' }, 'No hold now.'),
    detail.holds.length
      ? h(
          'ol',
          { class: 'hold-history' },
          detail.holds.map((past) =>
            h(
              'li',
              { dataset: { holdStatus: past.status } },
              h('span', { class: `badge hold-${past.status}` }, past.status),
              ` ${past.service} · ${slotLabel(past.start)} `,
              h('span', { class: 'muted' }, `placed ${clockTime(past.placed_at)}${past.ended_at ? `, ended ${clockTime(past.ended_at)}` : ''}${past.extensions ? `, extended ${past.extensions}×` : ''}`),
            ),
          ),
        )
      : null,
  );
}

function dt(term, value) {
  return [h('dt', {}, term), h('dd', {}, value)];
}

function summaryBlock(detail) {
  const latencies = Object.entries(detail.summary.tool_latency_ms);
  return h(
    'section',
    { class: 'block summary-block' },
    h('h3', {}, 'Summary'),
    h(
      'dl',
      {},
      dt('outcome', detail.summary.outcome ? detail.summary.outcome.replace('_', ' ') : 'in call'),
      dt('hold placed → booked', duration(detail.summary.hold_placed_to_booked_ms)),
      dt('call length', duration(detail.summary.duration_ms)),
    ),
    latencies.length
      ? h(
          'table',
          { class: 'latency' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Tool'), h('th', { class: 'num' }, 'Calls'), h('th', { class: 'num' }, 'p50'), h('th', { class: 'num' }, 'Max'))),
          h(
            'tbody',
            {},
            latencies.map(([tool, stats]) =>
              h('tr', { dataset: { tool } }, h('td', {}, tool), h('td', { class: 'num' }, String(stats.count)), h('td', { class: 'num' }, duration(stats.p50)), h('td', { class: 'num' }, duration(stats.max))),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No tool calls yet.'),
  );
}

function timeline(events) {
  if (events.length === 0) return h('p', { class: 'muted' }, 'No frames yet.');
  const start = Date.parse(events[0].at);
  const slowest = Math.max(1, ...events.map((event) => event.latency_ms ?? 0));
  return h(
    'div',
    { class: 'table-wrap timeline-wrap' },
    h(
      'table',
      { class: 'timeline', id: 'timeline' },
      h('thead', {}, h('tr', {}, h('th', { class: 'num' }, '+s'), h('th', {}, 'Time'), h('th', {}, ''), h('th', {}, 'Frame'), h('th', {}, 'Detail'), h('th', {}, 'Latency'))),
      h(
        'tbody',
        {},
        events.map((event) =>
          h(
            'tr',
            { dataset: { type: event.type, direction: event.direction } },
            h('td', { class: 'num mono muted' }, ((Date.parse(event.at) - start) / 1000).toFixed(3)),
            h('td', { class: 'mono muted' }, clockTime(event.at)),
            h('td', { class: `direction ${event.direction}`, title: event.direction === 'in' ? 'runtime → broker' : 'broker → runtime' }, event.direction === 'in' ? '→' : '←'),
            h('td', { class: 'mono' }, event.type),
            h('td', {}, h('details', {}, h('summary', {}, describeFrame(event)), h('pre', { class: 'json' }, JSON.stringify(event.payload, null, 2)))),
            h(
              'td',
              { class: 'latency-cell' },
              event.latency_ms === null
                ? null
                : [h('span', { class: 'bar', style: { width: `${Math.max(2, Math.round((event.latency_ms / slowest) * 48))}px` } }), ' ', duration(event.latency_ms)],
            ),
          ),
        ),
      ),
    ),
  );
}

/** One line saying what a frame was about. */
function describeFrame(event) {
  const frame = event.payload ?? {};
  switch (event.type) {
    case 'session.start':
      return `from ${frame.call?.from_number ?? 'unknown'}${frame.locale ? ` · ${frame.locale}` : ''}`;
    case 'session.ready':
      return `${frame.resumed ? 'resumed' : 'new session'}${frame.hold ? ` · hold until ${clockTime(frame.hold.expires_at)}` : ''}`;
    case 'tool.call':
      return `${frame.name} ${brief(frame.arguments ?? {}, 70)}`;
    case 'tool.result': {
      const tool = event.tool ? `${event.tool}: ` : '';
      if (!frame.ok) return `${tool}✗ ${frame.error?.code ?? 'failed'}${frame.result?.message ? ` · ${brief(frame.result.message, 60)}` : ''}`;
      return `${tool}✓ ${brief(frame.result?.message ?? frame.result ?? '', 80)}`;
    }
    case 'hold.updated':
      return `${frame.hold?.status} · ${frame.hold?.service} ${slotLabel(frame.hold?.start)} · until ${clockTime(frame.hold?.expires_at)}`;
    case 'caller.activity':
      return frame.speaking ? 'caller speaking' : 'caller silent';
    case 'transcript':
      return `${frame.role}: ${brief(frame.text ?? '', 80)}`;
    case 'session.end':
      return frame.reason ?? '';
    case 'session.ended':
      return `${frame.outcome}${frame.appointment ? ` · ${frame.appointment.service} ${slotLabel(frame.appointment.start)}` : ''}`;
    case 'error':
      return `${frame.code}: ${brief(frame.message ?? '', 70)}`;
    default:
      return brief(frame, 80);
  }
}

// ---- start -----------------------------------------------------------------------------

function start() {
  dayBoard = createDayBoard({
    api,
    serverNow,
    report,
    // A hold on the board opens its call, when the calls table knows it.
    selectCall: (tenant, callId) => {
      if (app.rows.has(keyOf(tenant, callId))) select(keyOf(tenant, callId));
    },
  });
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token-input').value.trim();
    if (!token) return;
    $('login-error').hidden = true;
    login(token).catch((error) => {
      $('login-error').hidden = false;
      $('login-error').textContent = error instanceof Unauthorized ? 'That token was refused.' : `Could not reach the broker: ${error.message}`;
    });
  });
  $('logout').addEventListener('click', () => logout());
  $('tenant-filter').addEventListener('input', scheduleRender);
  setInterval(tick, 500);

  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    login(saved).catch((error) => logout(error instanceof Unauthorized ? 'The saved token was refused. Enter it again.' : `Could not reach the broker: ${error.message}`));
  } else {
    logout();
  }
}

start();
