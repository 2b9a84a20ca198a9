/**
 * The real clock and timer behind a Runner. It owns one invariant: at most one timer is armed at a time, so
 * a runner's wake-up requests replace one another instead of piling up.
 *
 * Time origin: `now()` is `performance.now()`, milliseconds (with a fractional part) since this process
 * started. It is monotonic (CLOCK_MONOTONIC underneath), so wall-clock changes (NTP steps, a user setting the
 * date) never make the core see time go backwards; all schedulers in a process share the origin, so their
 * times compare. It is not wall-clock time: anything that needs a date (a node's generation) reads
 * `Date.now()` itself.
 *
 * Timers are `unref`ed: a scheduler never keeps a process alive by itself; sockets and servers decide that.
 */
import { performance } from 'node:perf_hooks';
import type { Scheduler } from './transport.js';

/** Longest delay setTimeout accepts; longer waits are taken in steps. */
const TIMER_DELAY_MS_MAX = 2 ** 31 - 1;

export class RealScheduler implements Scheduler {
  #timer: NodeJS.Timeout | null = null;
  #dueAtMs = Number.POSITIVE_INFINITY;
  #wake: (() => void) | null = null;

  now(): number {
    return performance.now();
  }

  /** Wakes `wake` once `now() >= timeMs`, replacing any earlier request; Infinity cancels. */
  wakeAt(timeMs: number, wake: () => void): void {
    this.cancel();
    if (Number.isNaN(timeMs) || timeMs === Number.POSITIVE_INFINITY) return;
    this.#dueAtMs = timeMs;
    this.#wake = wake;
    this.#arm();
  }

  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#dueAtMs = Number.POSITIVE_INFINITY;
    this.#wake = null;
  }

  /** The time the armed wake-up is due (Infinity when none), for diagnostics. */
  get dueAtMs(): number {
    return this.#dueAtMs;
  }

  #arm(): void {
    const delayMs = Math.min(Math.max(0, Math.ceil(this.#dueAtMs - this.now())), TIMER_DELAY_MS_MAX);
    this.#timer = setTimeout(() => this.#fire(), delayMs);
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = null;
    // Node's timers run on the event loop's cached clock and can fire a fraction of a millisecond before
    // `now()` reaches the deadline; the core would then find nothing due. Wait out the remainder instead.
    if (this.now() < this.#dueAtMs) {
      this.#arm();
      return;
    }
    const wake = this.#wake;
    this.#dueAtMs = Number.POSITIVE_INFINITY;
    this.#wake = null;
    wake?.();
  }
}
