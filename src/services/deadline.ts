/**
 * A bound on how long the broker waits for storage where the contract sets one (503
 * within 2 s at the door, readiness within 1 s): a stalled database answers nothing, and
 * postgres.js has no query timeout of its own.
 */
export async function withinDeadline<T>(work: Promise<T>, deadlineMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
