/**
 * A token bucket over injected time: `ratePerSecond` tokens a second, at most `ratePerSecond` saved up
 * (one second's burst). Bounds how often a node pushes outside its rounds.
 */
export class TokenBucket {
  readonly ratePerSecond: number;
  #tokens: number;
  #refilledAtMs: number;

  constructor(ratePerSecond: number, nowMs = 0) {
    this.ratePerSecond = ratePerSecond;
    this.#tokens = ratePerSecond;
    this.#refilledAtMs = nowMs;
  }

  /** Takes one token if there is one. */
  take(nowMs: number): boolean {
    const refill = ((nowMs - this.#refilledAtMs) / 1000) * this.ratePerSecond;
    this.#tokens = Math.min(this.ratePerSecond, this.#tokens + refill);
    this.#refilledAtMs = nowMs;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
