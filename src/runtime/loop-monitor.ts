/**
 * Watches this process's event loop and reports when it did not run: a blocked loop, a long GC pause, a
 * SIGSTOP. Such a stall must reach the core (`runner.reportStall`), or a node that was frozen would wake up
 * and accuse peers whose heartbeats it simply did not read.
 *
 * One instrument: a cheap chain of timers measures its own lateness. A timer due in `resolutionMs` that
 * fires 600 ms late means the loop was blocked for about 600 ms: that is a stall, and the last minute of
 * such lateness samples gives the lag statistics for the metrics (p99, max).
 *
 * Invariant: one report per blocked period. Each timer is armed only after the previous one fired, and its
 * lateness is measured from its own arming, so a single blocked period shows up in exactly one timer.
 */
import { performance } from 'node:perf_hooks';

export interface LoopMonitorOptions {
  /** Called once per stall with how long the loop did not run, in milliseconds. */
  onStall(durationMs: number): void;
  /** Lateness that counts as a stall; default 300 ms (the runner's own stall threshold). */
  readonly thresholdMs?: number;
  /** Period of the lateness timer; default 250 ms. */
  readonly resolutionMs?: number;
}

export interface LoopMonitorStats {
  /** 99th percentile of event-loop delay over the last minute (240 samples at the default period). */
  readonly lagMsP99: number;
  /** Largest event-loop delay over the same window. */
  readonly lagMsMax: number;
  /** Stalls reported so far. */
  readonly stalls: number;
}

export interface LoopMonitor {
  stop(): void;
  stats(): LoopMonitorStats;
}

const DEFAULT_THRESHOLD_MS = 300;
/**
 * 250 ms. A stall is seen short by at most one period (it may begin just after a timer was armed), so a
 * stall of 300 to 550 ms can go unreported: the acceptable pause (1500 ms by default) absorbs those anyway,
 * and the stalls that matter (seconds) are reported within a quarter of a second. Each wake-up of an idle
 * agent costs CPU: sampling every 10 to 20 ms (what monitorEventLoopDelay needs to measure long delays at
 * all: at 50 ms and above its histogram caps every sample at the resolution) was most of its CPU at rest,
 * and at 100 ms this timer still woke an idle agent ten times a second, more often than all its gossip.
 */
const DEFAULT_RESOLUTION_MS = 250;
/** Lateness samples kept for the lag statistics: one minute at the default resolution. */
const SAMPLES_KEPT = 240;

export function startLoopMonitor(options: LoopMonitorOptions): LoopMonitor {
  const thresholdMs = options.thresholdMs ?? DEFAULT_THRESHOLD_MS;
  const resolutionMs = Math.max(1, Math.round(options.resolutionMs ?? DEFAULT_RESOLUTION_MS));
  // The timer's own lateness is the loop's delay: kept in a ring for the lag statistics.
  const samples = new Float64Array(SAMPLES_KEPT);
  let sampled = 0;
  let stalls = 0;
  let stopped = false;
  let dueAtMs = 0;
  let timer: NodeJS.Timeout;

  const arm = (): void => {
    dueAtMs = performance.now() + resolutionMs;
    timer = setTimeout(check, resolutionMs);
    // A monitor alone must not keep the process alive.
    timer.unref();
  };

  const check = (): void => {
    if (stopped) return;
    const latenessMs = Math.max(0, performance.now() - dueAtMs);
    arm();
    samples[sampled % SAMPLES_KEPT] = latenessMs;
    sampled++;
    if (latenessMs > thresholdMs) {
      stalls++;
      options.onStall(latenessMs);
    }
  };

  arm();
  return {
    stop(): void {
      stopped = true;
      clearTimeout(timer);
    },
    stats(): LoopMonitorStats {
      const kept = Array.from(samples.subarray(0, Math.min(sampled, SAMPLES_KEPT))).sort((a, b) => a - b);
      if (kept.length === 0) return { lagMsP99: 0, lagMsMax: 0, stalls };
      const rank = Math.max(1, Math.ceil(0.99 * kept.length));
      return { lagMsP99: kept[rank - 1]!, lagMsMax: kept[kept.length - 1]!, stalls };
    },
  };
}
