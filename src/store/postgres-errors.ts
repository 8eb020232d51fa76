/** SQLSTATE codes callhold reacts to, read through drizzle's wrapping of driver errors. */
export const EXCLUSION_VIOLATION = '23P01';
export const UNIQUE_VIOLATION = '23505';
/** Raised by `callhold_fence` (drizzle/0011): the session has a newer owner. */
export const SESSION_TAKEN_OVER = 'CH409';
const RETRYABLE = new Set(['40P01', '40001']);

/** drizzle wraps driver errors; the SQLSTATE sits on the error or on its `cause`. */
export function sqlState(error: unknown): string | undefined {
  for (let current = error; current instanceof Object; current = (current as { cause?: unknown }).cause) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** SQLSTATE classes 22 (data exception), 23 (integrity, e.g. a session deleted meanwhile) and 42: the rows, not storage, are at fault. */
export const refusedForItsData = (error: unknown) => /^(22|23|42)/.test(sqlState(error) ?? '');

/** Runs `work` again after a deadlock or serialization failure, a bounded number of times. */
export async function retryTransient<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !RETRYABLE.has(sqlState(error) ?? '')) throw error;
    }
  }
}
