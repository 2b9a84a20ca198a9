/**
 * Benchmark: how many gossip rounds one new key needs to reach every live node, over many seeds, at
 * N = 100, 1,000 and 10,000 without loss and at N = 1,000 with 10% loss. It owns the "convergence" section
 * of docs/benchmarks.md and the chart docs/images/convergence.svg.
 *
 * Each run is the simulator's `converge` scenario (docs/simulation.md) with the default options, so every
 * number here can be replayed with `grapevine sim --nodes N --seed S`. The p99 of each case is held
 * against the target the issue sets; the script exits 1 when a target is missed or a checker reported a
 * violation, and says which.
 *
 *   node --import tsx bench/sim-convergence.ts                 # the full run (about 45 minutes)
 *   node --import tsx bench/sim-convergence.ts --nodes 100,1000  # a subset of the sizes
 *   node --import tsx bench/sim-convergence.ts --quick          # a smoke run of the script itself
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { parseSeed } from '../src/cli/sim-command.js';
import { GOSSIP_OPTION_SPECS } from '../src/core/index.js';
import { renderChart, type SimSummary, summarize } from '../src/sim/report.js';
import { type RunReport, runScenario } from '../src/sim/scenarios.js';
import { commandLine, nodeList, positiveInteger } from './lib/args.js';
import { markdownTable, writeBenchmarkSection } from './lib/report.js';

interface Flags {
  seeds: number;
  seed: number;
  nodes?: number[];
  quick: boolean;
  write: boolean;
}

interface Case {
  readonly nodes: number;
  readonly lossRate: number;
}

interface CaseResult {
  readonly summary: SimSummary;
  readonly targetRounds: number | null;
}

/**
 * The issue's targets for the p99 of rounds, by size and loss. A size between the listed ones takes the
 * target of the next larger listed size (more nodes never need fewer rounds); above 10,000 there is none.
 */
const TARGETS: readonly { nodesMax: number; lossRate: number; rounds: number }[] = [
  { nodesMax: 100, lossRate: 0, rounds: 5 },
  { nodesMax: 1000, lossRate: 0, rounds: 6 },
  { nodesMax: 10_000, lossRate: 0, rounds: 8 },
  { nodesMax: 1000, lossRate: 0.1, rounds: 7 },
];

const FULL_SIZES = [100, 1000, 10_000];
const QUICK_SIZES = [50, 200];
const LOSSY_NODES = 1000;
const QUICK_LOSSY_NODES = 200;
const CHART_FILE = new URL('../docs/images/convergence.svg', import.meta.url);

function targetFor(testCase: Case): number | null {
  const matching = TARGETS.filter(
    (target) => target.lossRate === testCase.lossRate && testCase.nodes <= target.nodesMax,
  );
  if (matching.length === 0) return null;
  return matching.reduce((best, target) => (target.nodesMax < best.nodesMax ? target : best)).rounds;
}

function casesFor(flags: Flags): Case[] {
  const sizes = flags.nodes ?? (flags.quick ? QUICK_SIZES : FULL_SIZES);
  const lossyNodes = flags.quick ? QUICK_LOSSY_NODES : LOSSY_NODES;
  const cases: Case[] = sizes.map((nodes) => ({ nodes, lossRate: 0 }));
  if (sizes.includes(lossyNodes)) cases.push({ nodes: lossyNodes, lossRate: 0.1 });
  return cases;
}

function runCase(testCase: Case, flags: Flags): CaseResult {
  const label = `N=${testCase.nodes} loss=${testCase.lossRate * 100}%`;
  const lastSeed = (flags.seed + flags.seeds - 1) >>> 0;
  process.stderr.write(`${label}: ${flags.seeds} seeds, ${flags.seed}..${lastSeed}\n`);
  const started = performance.now();
  const reports: RunReport[] = [];
  for (let run = 0; run < flags.seeds; run++) {
    const seed = (flags.seed + run) >>> 0;
    const report = runScenario({
      scenario: 'converge',
      nodes: testCase.nodes,
      seed,
      lossRate: testCase.lossRate,
    });
    reports.push(report);
    printProgress({ label, seed, run, runs: flags.seeds, started, report });
  }
  const summary = summarize(reports, {
    fanout: GOSSIP_OPTION_SPECS.fanout.default,
    intervalMs: GOSSIP_OPTION_SPECS.gossipIntervalMs.default,
    lossRate: testCase.lossRate,
    wallSeconds: (performance.now() - started) / 1000,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  });
  return { summary, targetRounds: targetFor(testCase) };
}

function printProgress(progress: {
  label: string;
  seed: number;
  run: number;
  runs: number;
  started: number;
  report: RunReport;
}): void {
  const elapsedSeconds = (performance.now() - progress.started) / 1000;
  const done = progress.run + 1;
  const leftSeconds = (elapsedSeconds / done) * (progress.runs - done);
  const rounds = progress.report.convergenceRounds;
  const violations = progress.report.violations.length;
  process.stderr.write(
    `  ${progress.label} seed ${progress.seed} (${done}/${progress.runs}): ` +
      `${rounds === null ? 'did not converge' : `${rounds.toFixed(2)} rounds`}` +
      `${violations > 0 ? `, ${violations} VIOLATIONS` : ''}; ` +
      `${elapsedSeconds.toFixed(0)} s so far, about ${leftSeconds.toFixed(0)} s left in this case\n`,
  );
}

function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/** Why a case failed, one sentence each; empty when it met its target without violations. */
function failuresOf(result: CaseResult): string[] {
  const { summary, targetRounds } = result;
  const label = `N=${summary.nodes} at ${summary.lossRate * 100}% loss`;
  const failures: string[] = [];
  const convergence = summary.convergence!;
  if (convergence.runsConverged < summary.runs) {
    failures.push(`${label}: only ${convergence.runsConverged} of ${summary.runs} runs converged`);
  }
  if (targetRounds !== null && !(convergence.roundsP99 <= targetRounds)) {
    failures.push(
      `${label}: p99 of ${fixed(convergence.roundsP99)} rounds misses the target of ${targetRounds}`,
    );
  }
  for (const violation of summary.violations) {
    failures.push(`${label}: seed ${violation.seed}: ${violation.checker}: ${violation.message}`);
  }
  return failures;
}

function resultRow(result: CaseResult): (string | number)[] {
  const { summary, targetRounds } = result;
  const convergence = summary.convergence!;
  const met = targetRounds === null ? 'no target' : convergence.roundsP99 <= targetRounds ? 'yes' : 'MISSED';
  return [
    summary.nodes.toLocaleString('en'),
    `${summary.lossRate * 100}%`,
    `${summary.seed}..${summary.seed + summary.runs - 1}`,
    fixed(convergence.roundsP50),
    fixed(convergence.roundsP99),
    fixed(convergence.roundsMax),
    targetRounds === null ? '-' : `<= ${targetRounds}`,
    met,
    fixed(summary.bytesPerNodePerSecond, 0),
    fixed(summary.bytesPerNodePerRound, 0),
    fixed(summary.datagramsPerNodePerSecond),
    summary.largestDatagramBytes,
    summary.violations.length,
    fixed(summary.wallSeconds, 1),
  ];
}

const HEADER = [
  'nodes',
  'loss',
  'seeds',
  'rounds p50',
  'rounds p99',
  'rounds max',
  'target (p99)',
  'met',
  'bytes/node/s',
  'bytes/node/round',
  'datagrams/node/s',
  'largest datagram (bytes)',
  'violations',
  'wall (s)',
];

function sectionBody(results: readonly CaseResult[]): string {
  return [
    `Each run is the \`converge\` scenario with the default options (fanout ${GOSSIP_OPTION_SPECS.fanout.default}, ` +
      `${GOSSIP_OPTION_SPECS.gossipIntervalMs.default} ms rounds): a settled ` +
      'cluster, one random live node sets a new key at a random moment, and the run ends when every live ' +
      'node holds it. **Rounds** are the gossip intervals from the write until the last live node held the ' +
      'key (fractional). Percentiles use the nearest rank, so the p99 of 20 seeds is the slowest of them. ' +
      'Seed `S` replays with `grapevine sim --nodes N --loss L --seed S`.',
    '',
    markdownTable(HEADER, results.map(resultRow)),
    '',
    'Bytes and datagrams are per node while the cluster is at rest (before the write), payload only: ' +
      'frames without UDP/IP headers (see the bandwidth section for an estimate on the wire). The largest ' +
      'datagram covers the whole run, the spread of the key included. Violations count every invariant ' +
      'checker report over all seeds (must be 0). For comparison, an idealised synchronous push-pull with ' +
      'fanout 3 needs about 4 rounds for 100 nodes, 5 to 6 for 1,000 and 7 for 10,000; the dashed line in ' +
      'the chart is log3 N.' +
      eagerPushNote(),
    '',
    '![Fraction of nodes holding the new key after each round, and rounds against log3 N](images/convergence.svg)',
  ].join('\n');
}

/** Eager pushes make a write travel in network round trips, not rounds: say so when they are on. */
function eagerPushNote(): string {
  const specs: Record<string, { default: unknown }> = GOSSIP_OPTION_SPECS;
  const eagerFanout = specs.eagerFanout?.default;
  if (typeof eagerFanout !== 'number' || eagerFanout === 0) return '';
  return (
    ` With eager pushes on (\`eagerFanout\` ${eagerFanout} by default), a node that writes or learns a newer ` +
    'version starts exchanges at once instead of waiting for its next round, so a key can reach every node ' +
    'in well under a round.'
  );
}

function parseFlags(argv: readonly string[]): Flags {
  const program = new Command('sim-convergence')
    .description('Rounds for one new key to reach every live node, over many seeds')
    .option('--seeds <n>', 'seeds per case', positiveInteger)
    .option('--seed <n|commit>', 'first seed; case runs use seed, seed+1, ...', parseSeed, 1)
    .option(
      '--nodes <n[,n...]>',
      'run only these sizes (the 10% loss case runs when 1000 is among them)',
      nodeList,
    )
    .option('--quick', 'small sizes and 3 seeds, to check the script itself; writes nothing', false)
    .option('--no-write', 'print the table only; leave docs/ alone')
    .parse(argv as string[], { from: 'node' });
  const options = program.opts<Omit<Flags, 'seeds'> & { seeds?: number }>();
  return {
    ...options,
    seeds: options.seeds ?? (options.quick ? 3 : 20),
    write: options.write && !options.quick,
  };
}

function main(): void {
  const flags = parseFlags(process.argv);
  const results = casesFor(flags).map((testCase) => runCase(testCase, flags));
  const body = sectionBody(results);
  process.stdout.write(`${body}\n`);
  if (flags.write) {
    writeBenchmarkSection({
      id: 'sim-convergence',
      title: 'Simulation: convergence',
      command: commandLine('bench/sim-convergence.ts'),
      body,
    });
    const lossless = results
      .filter((result) => result.summary.lossRate === 0)
      .map((result) => result.summary);
    mkdirSync(new URL('.', CHART_FILE), { recursive: true });
    writeFileSync(CHART_FILE, renderChart(lossless));
    process.stderr.write(
      'wrote docs/benchmarks.md (section sim-convergence) and docs/images/convergence.svg\n',
    );
  }
  const failures = results.flatMap(failuresOf);
  for (const failure of failures) process.stderr.write(`FAILED ${failure}\n`);
  process.exitCode = failures.length > 0 ? 1 : 0;
}

main();
