/**
 * Writes benchmark results into docs/benchmarks.md. Each benchmark owns one section, delimited by
 * `<!-- id:start -->` and `<!-- id:end -->` markers, and replaces it whole on every run, stamped with the
 * date, the machine and the command that produced it; the rest of the file is left alone.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const BENCHMARKS_FILE = new URL('../../docs/benchmarks.md', import.meta.url);

export function machineDescription(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const memoryGiB = Math.round(os.totalmem() / 2 ** 30);
  return `${model}, ${cpus.length} cores, ${memoryGiB} GiB, ${os.type()} ${os.release()}, Node.js ${process.version}`;
}

/** Replaces (or appends) the section `id` of docs/benchmarks.md with `body`, under a stamped heading. */
export function writeBenchmarkSection(options: {
  id: string;
  title: string;
  command: string;
  body: string;
}): void {
  const start = `<!-- ${options.id}:start -->`;
  const end = `<!-- ${options.id}:end -->`;
  const date = new Date().toISOString().slice(0, 10);
  const section = [
    start,
    `## ${options.title}`,
    '',
    `Measured ${date} on ${machineDescription()}.`,
    '',
    `Command: \`${options.command}\``,
    '',
    options.body.trim(),
    end,
  ].join('\n');
  const current = existsSync(BENCHMARKS_FILE) ? readFileSync(BENCHMARKS_FILE, 'utf8') : '# Benchmarks\n';
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? current.slice(0, from) + section + current.slice(to + end.length)
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(BENCHMARKS_FILE, next);
}

/** A markdown table from a header row and data rows. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
