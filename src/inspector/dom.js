/**
 * Small helpers for the inspector page: building elements (text is always set as text,
 * never parsed as HTML) and formatting times, durations and state values.
 */

/**
 * Creates an element. `attrs`: `class`, `dataset` and `style` (objects), `on<event>` (listener),
 * anything else as an attribute; null, undefined and false are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    // Through the CSSOM: the page's content security policy refuses inline style attributes.
    else if (name === 'style') Object.assign(element.style, value);
    else if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** `HH:MM:SS` of an ISO 8601 instant, in the offset it was written with (the tenant's zone). */
export function clockTime(iso) {
  return typeof iso === 'string' && iso.length >= 19 ? iso.slice(11, 19) : '—';
}

/** `YYYY-MM-DD HH:MM` of an ISO 8601 instant, in the offset it was written with. */
export function localDateTime(iso) {
  return typeof iso === 'string' && iso.length >= 16 ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : '—';
}

/** `m:ss` left until an instant; `0:00` once it has passed. */
export function countdown(ms) {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** A duration for people: `12 ms`, `1.4 s`, `2 min 05 s`. */
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}

/** Every dotted path that is active in a state value, ancestors included: `live`, `live.hold`, `live.hold.held`… */
export function activePaths(value, prefix = '') {
  const paths = new Set();
  if (typeof value === 'string') {
    paths.add(prefix + value);
  } else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      paths.add(prefix + key);
      for (const path of activePaths(child, `${prefix}${key}.`)) paths.add(path);
    }
  }
  return paths;
}

/**
 * A state value as short labelled parts, one per parallel region:
 * `{ live: { tools: 'idle', hold: { held: 'steady' } } }` → `[['tools', 'idle'], ['hold', 'held › steady']]`.
 */
export function stateParts(value) {
  if (typeof value === 'string') return [[null, value]];
  if (!value || typeof value !== 'object') return [[null, '—']];
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0][1] && typeof entries[0][1] === 'object') {
    return Object.entries(entries[0][1]).map(([region, child]) => [region, leafPath(child)]);
  }
  return [[null, leafPath(value)]];
}

function leafPath(value) {
  if (typeof value === 'string') return value;
  if (!value || typeof value !== 'object') return '—';
  return Object.entries(value)
    .map(([key, child]) => `${key} › ${leafPath(child)}`)
    .join(', ');
}

/** A compact one-line JSON for tables, cut at `max` characters. */
export function brief(value, max = 90) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text === undefined) return '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
