/**
 * Walks parsed JSON without recursion, so no input, however deeply nested, can overflow
 * the stack (PROTOCOL §3: deeper than 32 levels is `BAD_MESSAGE`; no frame may stop the
 * broker). Every walk of untrusted input goes through here.
 */
import { UNSTORABLE_TEXT, storableText } from './storable-text.js';

/** JSON nested deeper than this is refused (PROTOCOL §3). */
export const MAX_JSON_DEPTH = 32;

export type JsonProblem = { kind: 'too_deep'; path: string } | { kind: 'unstorable_text'; path: string };

interface Pending {
  value: unknown;
  path: string;
  depth: number;
}

const join = (path: string, key: string | number) => (path ? `${path}.${key}` : String(key));

/**
 * The first problem found in `value`, or null: nesting past `maxDepth` (objects and arrays
 * count a level each; the value itself is level 1) or a key or string that PostgreSQL
 * cannot store. The path names the field ('' for the value itself).
 */
export function findJsonProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | null {
  const stack: Pending[] = [{ value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value: item, path, depth } = stack.pop()!;
    if (typeof item === 'string') {
      if (UNSTORABLE_TEXT.test(item)) return { kind: 'unstorable_text', path };
      continue;
    }
    if (typeof item !== 'object' || item === null) continue;
    if (depth + 1 > maxDepth) return { kind: 'too_deep', path };
    if (Array.isArray(item)) {
      for (let index = item.length - 1; index >= 0; index--) stack.push({ value: item[index], path: join(path, index), depth: depth + 1 });
      continue;
    }
    const entries = Object.entries(item);
    for (let index = entries.length - 1; index >= 0; index--) {
      const [key, child] = entries[index]!;
      if (UNSTORABLE_TEXT.test(key)) return { kind: 'unstorable_text', path: join(path, key) };
      stack.push({ value: child, path: join(path, key), depth: depth + 1 });
    }
  }
  return null;
}

/**
 * A copy of `value` that PostgreSQL can store: every key and string with what it cannot
 * hold replaced by U+FFFD, and anything nested past `maxDepth` cut to a marker. For logging
 * what was sent as faithfully as storage allows, never for deciding anything.
 */
export function storableJson(value: unknown, maxDepth = MAX_JSON_DEPTH): unknown {
  if (typeof value === 'string') return storableText(value);
  if (typeof value !== 'object' || value === null) return value;
  const root: { value?: unknown } = {};
  const stack: Array<{ source: unknown; assign: (copy: unknown) => void; depth: number }> = [
    { source: value, assign: (copy) => (root.value = copy), depth: 1 },
  ];
  while (stack.length > 0) {
    const { source, assign, depth } = stack.pop()!;
    if (typeof source === 'string') {
      assign(storableText(source));
    } else if (typeof source !== 'object' || source === null) {
      assign(source);
    } else if (depth > maxDepth) {
      assign('[nested too deep]');
    } else if (Array.isArray(source)) {
      const copy: unknown[] = new Array(source.length);
      assign(copy);
      source.forEach((child, index) => stack.push({ source: child, assign: (c) => (copy[index] = c), depth: depth + 1 }));
    } else {
      const copy: Record<string, unknown> = {};
      assign(copy);
      for (const [key, child] of Object.entries(source)) {
        // defineProperty, not assignment: a "__proto__" key must stay a plain field. Defined
        // here, in order, and filled when its child is copied, so the keys keep their order.
        const define = (c: unknown) => Object.defineProperty(copy, storableText(key), { value: c, enumerable: true, writable: true, configurable: true });
        define(null);
        stack.push({ source: child, assign: define, depth: depth + 1 });
      }
    }
  }
  return root.value;
}
