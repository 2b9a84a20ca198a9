/**
 * `grapevine sim`: runs the deterministic simulator over the production core and prints a table, one JSON
 * object (--json), and optionally an SVG chart. It exits 1 when any invariant checker reported a violation,
 * so the canary scenario (a planted bug) makes it fail.
 */
import { writeFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { fnv1aString, GOSSIP_OPTION_SPECS } from '../core/index.js';
import { formatTable, renderChart, type SimSummary, summarize } from '../sim/report.js';
import { type RunReport, runScenario, SCENARIOS, type ScenarioName } from '../sim/scenarios.js';

interface SimFlags {
  nodes: number[];
  fanout: number;
  intervalMs: number;
  loss: number;
  runs: number;
  seed: number;
  scenario: ScenarioName;
  json: boolean;
  chart?: string;
  silent: boolean;
  durationMs?: number;
  progress?: boolean;
  set: Record<string, number>;
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return parsed;
  };
}

function nodeList(value: string): number[] {
  const parse = integer('--nodes', 2, 100_000);
  return value.split(',').map((part) => parse(part.trim()));
}

function lossRate(value: string): number {
  const parsed = Number(value);
  if (!(parsed >= 0 && parsed < 1))
    throw new InvalidArgumentError('--loss must be a fraction from 0 to below 1 (0.1 = 10%)');
  return parsed;
}

/** `--set name=value`: any protocol option by its name (docs/configuration.md), numbers only. */
function optionSetting(value: string, previous: Record<string, number>): Record<string, number> {
  const match = /^([A-Za-z]+)=(-?[0-9.]+)$/.exec(value);
  if (match === null) throw new InvalidArgumentError('--set takes name=number, for example eagerFanout=0');
  const name = match[1]!;
  if (!(name in GOSSIP_OPTION_SPECS))
    throw new InvalidArgumentError(`--set: ${name} is not a protocol option`);
  return { ...previous, [name]: Number(match[2]) };
}

/** A seed is a number, or a 40-character git commit hash (so CI can use its commit and still replay). */
export function parseSeed(value: string): number {
  if (/^[0-9a-f]{40}$/i.test(value)) return fnv1aString(value.toLowerCase());
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 2 ** 32 - 1) {
    throw new InvalidArgumentError(
      '--seed must be an integer from 0 to 4294967295 or a 40-character commit hash',
    );
  }
  return parsed;
}

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('Simulate a cluster running the production protocol code, deterministically from a seed')
    .option(
      '--nodes <n[,n...]>',
      'cluster size; several sizes, comma-separated, are run one after another',
      nodeList,
      [100],
    )
    .option('--fanout <n>', 'peers per round while there is news', integer('--fanout', 1, 16), 3)
    .option('--interval-ms <ms>', 'gossip interval', integer('--interval-ms', 10, 60_000), 1000)
    .option('--loss <fraction>', 'random datagram loss, 0 to below 1', lossRate, 0)
    .option(
      '--runs <n>',
      'runs per cluster size, with seeds seed, seed+1, ...',
      integer('--runs', 1, 10_000),
      1,
    )
    .option(
      '--seed <n|commit>',
      'first seed; printed with the results so any run replays exactly',
      parseSeed,
      1,
    )
    .addOption(
      new Option('--scenario <name>', 'what to simulate').choices([...SCENARIOS]).default('converge'),
    )
    .option('--silent', 'crash scenario: the whole host goes silent instead of only the process dying', false)
    .option(
      '--duration-ms <ms>',
      'calm, stall, partition and churn: length of the faulty phase',
      integer('--duration-ms', 1000, 86_400_000),
    )
    .option(
      '--set <name=value>',
      'any other protocol option, repeatable (eagerFanout=0 spreads changes by rounds alone)',
      optionSetting,
      {},
    )
    .option('--json', 'print one JSON object (an array with several --nodes) instead of a table', false)
    .option('--chart <file.svg>', 'write an SVG chart of the fraction of nodes informed per round')
    .option('--progress', 'show a progress bar (default: when stderr is a terminal)')
    .option('--no-progress', 'never show a progress bar')
    .action((flags: SimFlags) => {
      process.exitCode = runSim(flags);
    });
}

function runSim(flags: SimFlags): number {
  const summaries: SimSummary[] = [];
  const total = flags.nodes.length * flags.runs;
  const showProgress = flags.progress ?? process.stderr.isTTY === true;
  const bar = showProgress
    ? new SingleBar({
        stream: process.stderr,
        noTTYOutput: true,
        format: 'sim {bar} {value}/{total} runs | N={nodes} seed={seed} | {duration}s',
      })
    : null;
  bar?.start(total, 0, { nodes: flags.nodes[0], seed: flags.seed });
  const gossip = { ...flags.set, fanout: flags.fanout, gossipIntervalMs: flags.intervalMs };
  for (const nodes of flags.nodes) {
    const started = performance.now();
    const reports: RunReport[] = [];
    for (let run = 0; run < flags.runs; run++) {
      const seed = (flags.seed + run) >>> 0;
      bar?.update({ nodes, seed });
      reports.push(
        runScenario({
          scenario: flags.scenario,
          nodes,
          seed,
          lossRate: flags.loss,
          gossip,
          silent: flags.silent,
          ...(flags.durationMs === undefined ? {} : { durationMs: flags.durationMs }),
        }),
      );
      bar?.increment();
    }
    summaries.push(
      summarize(reports, {
        fanout: flags.fanout,
        intervalMs: flags.intervalMs,
        lossRate: flags.loss,
        options: flags.set,
        wallSeconds: (performance.now() - started) / 1000,
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
      }),
    );
  }
  bar?.stop();
  if (flags.json) {
    const output = summaries.length === 1 ? summaries[0] : summaries;
    process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  } else {
    process.stdout.write(`${summaries.map(formatTable).join('\n\n')}\n`);
  }
  if (flags.chart !== undefined) {
    writeFileSync(flags.chart, renderChart(summaries));
    if (!flags.json) process.stdout.write(`chart written to ${flags.chart}\n`);
  }
  return summaries.some((summary) => summary.violations.length > 0) ? 1 : 0;
}
