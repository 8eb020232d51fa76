/**
 * A token bucket: `ratePerS` sustained, bursts of up to `burst`. Each call socket has one
 * (PROTOCOL §1 `MAX_FRAMES_PER_S`, bursts up to 4×), so a flooding client costs the
 * broker and the event log a bounded amount whatever it sends.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.refilledAt = clock();
  }

  /** Takes a token if there is one. */
  take(): boolean {
    const now = this.clock();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.ratePerS);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
