/**
 * Command-line pieces shared by the benchmarks: flag parsers for commander and the command line a report
 * quotes, so that every section of docs/benchmarks.md names the exact command that produced it.
 */
import { InvalidArgumentError } from 'commander';

export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}

export function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError('must be an integer >= 0');
  return parsed;
}

/** Comma-separated cluster sizes, each at least 2. */
export function nodeList(value: string): number[] {
  return value.split(',').map((part) => {
    const parsed = positiveInteger(part.trim());
    if (parsed < 2) throw new InvalidArgumentError('a cluster needs at least 2 nodes');
    return parsed;
  });
}

/** How this run of `script` (a path from the repository root) was invoked, for the report. */
export function commandLine(script: string): string {
  return ['node --import tsx', script, ...process.argv.slice(2)].join(' ');
}
