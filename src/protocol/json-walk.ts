/**
 * Walks parsed JSON without recursion, so no input, however deeply nested, can overflow
 * the stack (PROTOCOL §3: deeper than 32 levels is `BAD_MESSAGE`; no frame may stop the
 * broker). Every walk of untrusted input goes through here.
 */
import { UNSTORABLE_TEXT, UNSTORABLE_TEXT_MESSAGE, storableText } from './storable-text.js';

/** JSON nested deeper than this is refused (PROTOCOL §3). */
export const MAX_JSON_DEPTH = 32;

/** One thing in parsed JSON that is refused, with the path to it (keys made storable, so the path can be echoed). */
export interface JsonProblem {
  kind: 'too_deep' | 'unstorable_text' | 'unstorable_key';
  path: string;
}

/** A value still to look at, or a bad key found while listing its object (reported in document order). */
type Pending = { value: unknown; path: string; depth: number } | { badKeyAt: string };

const join = (path: string, key: string | number) => (path ? `${path}.${key}` : String(key));

/**
 * Problems in `value`, in document order, at most `limit` of them: nesting past
 * `maxDepth` (objects and arrays count a level each; the value itself is level 1) and keys
 * or strings that PostgreSQL cannot store. Below a too-deep container it does not look.
 */
export function findJsonProblems(value: unknown, options: { maxDepth?: number; limit?: number } = {}): JsonProblem[] {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  const limit = options.limit ?? 20;
  const problems: JsonProblem[] = [];
  const stack: Pending[] = [{ value, path: '', depth: 0 }];
  while (stack.length > 0 && problems.length < limit) {
    const pending = stack.pop()!;
    if ('badKeyAt' in pending) {
      problems.push({ kind: 'unstorable_key', path: pending.badKeyAt });
      continue;
    }
    const { value: item, path, depth } = pending;
    if (typeof item === 'string') {
      if (UNSTORABLE_TEXT.test(item)) problems.push({ kind: 'unstorable_text', path });
      continue;
    }
    if (typeof item !== 'object' || item === null) continue;
    if (depth + 1 > maxDepth) {
      problems.push({ kind: 'too_deep', path });
      continue;
    }
    const entries: Array<[string | number, unknown]> = Array.isArray(item) ? item.map((child, index) => [index, child]) : Object.entries(item);
    // Pushed last-first, so problems come out in document order.
    for (let index = entries.length - 1; index >= 0; index--) {
      const [key, child] = entries[index]!;
      const at = join(path, typeof key === 'string' ? storableText(key) : key);
      stack.push({ value: child, path: at, depth: depth + 1 });
      if (typeof key === 'string' && UNSTORABLE_TEXT.test(key)) stack.push({ badKeyAt: at });
    }
  }
  return problems;
}

/** The first problem in `value`, or null. */
export const findJsonProblem = (value: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | null => findJsonProblems(value, { maxDepth, limit: 1 })[0] ?? null;

/** "path: what is wrong", as error messages and `issues` name a field. */
export function describeJsonProblem(problem: JsonProblem, maxDepth = MAX_JSON_DEPTH): string {
  const what =
    problem.kind === 'too_deep'
      ? `JSON must not be nested deeper than ${maxDepth} levels`
      : problem.kind === 'unstorable_key'
        ? `key ${UNSTORABLE_TEXT_MESSAGE.replace(/^text /, '')}`
        : UNSTORABLE_TEXT_MESSAGE;
  return problem.path ? `${problem.path}: ${what}` : what;
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
