/**
 * Watches this process's event loop and reports when it did not run: a blocked loop, a long GC pause, a
 * SIGSTOP. Such a stall must reach the core (`runner.reportStall`), or a node that was frozen would wake up
 * and accuse peers whose heartbeats it simply did not read.
 *
 * Two instruments: perf_hooks.monitorEventLoopDelay keeps a histogram of loop delay for the metrics (p99,
 * max), and a cheap chain of timers measures its own lateness, which is what detects a stall: a timer due in
 * `resolutionMs` that fires 600 ms late means the loop was blocked for about 600 ms.
 *
 * Invariant: one report per blocked period. Each timer is armed only after the previous one fired, and its
 * lateness is measured from its own arming, so a single blocked period shows up in exactly one timer.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

export interface LoopMonitorOptions {
  /** Called once per stall with how long the loop did not run, in milliseconds. */
  onStall(durationMs: number): void;
  /** Lateness that counts as a stall; default 300 ms (the runner's own stall threshold). */
  readonly thresholdMs?: number;
  /** Period of the lateness timer and resolution of the delay histogram; default 20 ms. */
  readonly resolutionMs?: number;
}

export interface LoopMonitorStats {
  /** 99th percentile of event-loop delay since the monitor started. */
  readonly lagMsP99: number;
  /** Largest event-loop delay seen since the monitor started. */
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
 * 100 ms: fine enough to see a 300 ms stall, coarse enough to cost little. At 20 ms the monitor's two timers
 * woke an idle agent 100 times a second, most of its CPU at rest (the runner's own late-timer check catches
 * the stalls that matter to the failure detector anyway).
 */
const DEFAULT_RESOLUTION_MS = 100;
const NANOSECONDS_PER_MS = 1e6;

export function startLoopMonitor(options: LoopMonitorOptions): LoopMonitor {
  const thresholdMs = options.thresholdMs ?? DEFAULT_THRESHOLD_MS;
  const resolutionMs = Math.max(1, Math.round(options.resolutionMs ?? DEFAULT_RESOLUTION_MS));
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
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
    const latenessMs = performance.now() - dueAtMs;
    arm();
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
      histogram.disable();
    },
    stats(): LoopMonitorStats {
      const count = histogram.count;
      return {
        lagMsP99: count === 0 ? 0 : histogram.percentile(99) / NANOSECONDS_PER_MS,
        lagMsMax: count === 0 ? 0 : histogram.max / NANOSECONDS_PER_MS,
        stalls,
      };
    },
  };
}
