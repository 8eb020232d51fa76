import { describe, expect, it } from 'vitest';
import { SharedReads } from '../../../src/booking/booking-service.js';

/** A read whose answer the test gives when it likes, counting how many were started. */
function controlledReads() {
  const started: Array<(value: string) => void> = [];
  return {
    started,
    run: () => new Promise<string>((resolve) => started.push(resolve)),
  };
}

describe('shared reads', () => {
  it('never hands a caller a read that began before it asked: it waits for the next, which everyone waiting shares', async () => {
    const reads = new SharedReads<string>();
    const { started, run } = controlledReads();
    const first = reads.read('day', run);
    // Asked while the first read is in flight: these two must not get its answer.
    const second = reads.read('day', run);
    const third = reads.read('day', run);
    expect(started).toHaveLength(1);
    started[0]!('before');
    expect(await first).toBe('before');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(started).toHaveLength(2);
    started[1]!('after');
    expect(await second).toBe('after');
    expect(await third).toBe('after');
    expect(started).toHaveLength(2);
  });

  it('keeps different questions apart, and starts afresh once nothing is in flight', async () => {
    const reads = new SharedReads<string>();
    const { started, run } = controlledReads();
    const monday = reads.read('monday', run);
    const tuesday = reads.read('tuesday', run);
    expect(started).toHaveLength(2);
    started[0]!('m');
    started[1]!('t');
    expect([await monday, await tuesday]).toEqual(['m', 't']);
    const later = reads.read('monday', run);
    expect(started).toHaveLength(3);
    started[2]!('m2');
    expect(await later).toBe('m2');
  });

  it('lets a failed read fail only those who shared it; the next read runs', async () => {
    const reads = new SharedReads<string>();
    let calls = 0;
    const failing = reads.read('day', async () => {
      calls++;
      throw new Error('storage away');
    });
    const next = reads.read('day', async () => {
      calls++;
      return 'back';
    });
    await expect(failing).rejects.toThrow('storage away');
    expect(await next).toBe('back');
    expect(calls).toBe(2);
  });
});
