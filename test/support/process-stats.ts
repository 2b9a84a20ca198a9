/**
 * CPU and memory of a running process, read from /proc (Linux only), for the integration tests and the
 * side-by-side benchmark. It owns no state: a sample is a value, and CPU percent is the difference of two
 * samples of the same process, so a measurement window is whatever the caller waits between them.
 *
 * Invariant: CPU percent is the process's user plus system time (utime + stime from /proc/PID/stat, its own
 * threads only, not its children) over the wall time between the two samples, where 100 means one core
 * busy for the whole window; memory is the resident set (VmRSS from /proc/PID/status) at the time of a sample.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcessSample {
  readonly pid: number;
  /** utime + stime, in clock ticks (see `clockTicksPerSecond`). */
  readonly cpuTicks: number;
  readonly rssBytes: number;
  /** Wall time of the sample, from `performance.now()`. */
  readonly atMs: number;
}

let cachedTicksPerSecond: number | undefined;

/** The kernel's USER_HZ (`getconf CLK_TCK`), almost always 100; read once. */
export function clockTicksPerSecond(): number {
  if (cachedTicksPerSecond === undefined) {
    try {
      const text = execFileSync('getconf', ['CLK_TCK'], { timeout: 5000, encoding: 'utf8' });
      const value = Number.parseInt(text.trim(), 10);
      cachedTicksPerSecond = Number.isFinite(value) && value > 0 ? value : 100;
    } catch {
      cachedTicksPerSecond = 100;
    }
  }
  return cachedTicksPerSecond;
}

/**
 * Parses the text of /proc/PID/stat into utime + stime ticks. The command name (field 2) is in parentheses
 * and may itself contain spaces or parentheses, so fields are counted from the last ')'.
 */
export function parseCpuTicks(statText: string): number {
  const close = statText.lastIndexOf(')');
  if (close < 0) throw new Error('malformed /proc/PID/stat: no command name');
  // After the name come field 3 (state) onwards; utime and stime are fields 14 and 15.
  const fields = statText
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error('malformed /proc/PID/stat: utime or stime is not a number');
  }
  return utime + stime;
}

/** Parses the VmRSS line of /proc/PID/status into bytes (the kernel reports kB, meaning KiB). */
export function parseRssBytes(statusText: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(statusText);
  // A zombie or kernel thread has no VmRSS line: it holds no user memory.
  return match ? Number(match[1]) * 1024 : 0;
}

/** One sample of a live process; throws if the process does not exist. */
export function sampleProcess(pid: number): ProcessSample {
  const atMs = performance.now();
  const cpuTicks = parseCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const rssBytes = parseRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { pid, cpuTicks, rssBytes, atMs };
}

/** CPU use between two samples of the same process, in percent of one core. */
export function cpuPercent(before: ProcessSample, after: ProcessSample): number {
  if (before.pid !== after.pid)
    throw new Error(`samples of different processes (${before.pid}, ${after.pid})`);
  const wallSeconds = (after.atMs - before.atMs) / 1000;
  if (wallSeconds <= 0) throw new Error('the second sample must be taken after the first');
  const cpuSeconds = (after.cpuTicks - before.cpuTicks) / clockTicksPerSecond();
  return (cpuSeconds / wallSeconds) * 100;
}

export interface ProcessUsage {
  readonly pid: number;
  readonly cpuPercent: number;
  /** Resident memory at the end of the window. */
  readonly rssBytes: number;
}

/** CPU percent and resident memory of each process over the same window, from samples taken at both ends. */
export function usageOverWindow(
  before: readonly ProcessSample[],
  after: readonly ProcessSample[],
): ProcessUsage[] {
  const start = new Map(before.map((sample) => [sample.pid, sample]));
  const usages: ProcessUsage[] = [];
  for (const end of after) {
    const begin = start.get(end.pid);
    if (begin === undefined) continue;
    usages.push({ pid: end.pid, cpuPercent: cpuPercent(begin, end), rssBytes: end.rssBytes });
  }
  return usages;
}
