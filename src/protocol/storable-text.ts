/** NUL and unpaired UTF-16 surrogates: PostgreSQL stores neither in text nor in jsonb. */
export const UNSTORABLE_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const UNSTORABLE_TEXT_MESSAGE = 'text must not contain NUL characters or unpaired surrogates';

const UNSTORABLE_TEXT_EVERYWHERE = new RegExp(UNSTORABLE_TEXT.source, 'g');

/** `text` with what PostgreSQL cannot store replaced by U+FFFD, for logging what came in as it was. */
export const storableText = (text: string) => text.replace(UNSTORABLE_TEXT_EVERYWHERE, '\ufffd');

/** One thing in a parsed JSON value that cannot be stored, with the path to it. */
export interface UnstorableIssue {
  path: Array<string | number>;
  message: string;
}

export interface UnstorableScanOptions {
  /** Containers nested deeper than this are refused; the value itself is level 1. */
  maxDepth: number;
  /** Stops after this many issues, so a hostile body cannot make an endless answer. */
  maxIssues?: number;
}

/**
 * Every string (value or key) of a parsed JSON value that PostgreSQL cannot store, and
 * every container nested deeper than `maxDepth`. Walks with an explicit stack, never by
 * recursion, so no nesting can overflow the call stack; below `maxDepth` it does not look.
 */
export function unstorableIssues(value: unknown, options: UnstorableScanOptions): UnstorableIssue[] {
  const maxIssues = options.maxIssues ?? 20;
  const issues: UnstorableIssue[] = [];
  const stack: Array<{ value: unknown; path: Array<string | number>; depth: number }> = [{ value, path: [], depth: 1 }];
  while (stack.length > 0 && issues.length < maxIssues) {
    const { value: current, path, depth } = stack.pop()!;
    if (typeof current === 'string') {
      if (UNSTORABLE_TEXT.test(current)) issues.push({ path, message: UNSTORABLE_TEXT_MESSAGE });
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth > options.maxDepth) {
      issues.push({ path, message: `nested deeper than ${options.maxDepth} levels` });
      continue;
    }
    const entries: Array<[string | number, unknown]> = Array.isArray(current) ? current.map((item, index) => [index, item]) : Object.entries(current);
    for (const [key] of entries) {
      // The answer names the key with U+FFFD in place of what could not be stored.
      if (typeof key === 'string' && UNSTORABLE_TEXT.test(key)) issues.push({ path: [...path, storableText(key)], message: `key ${UNSTORABLE_TEXT_MESSAGE.replace(/^text /, '')}` });
    }
    // Children are pushed last-first so issues come out in document order.
    for (let index = entries.length - 1; index >= 0; index -= 1) {
      const [key, child] = entries[index]!;
      stack.push({ value: child, path: [...path, key], depth: depth + 1 });
    }
  }
  return issues;
}
