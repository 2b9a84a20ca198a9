/**
 * Benchmark: how large and how long a simulation this machine can run. It owns the "sim-scale" section of
 * docs/benchmarks.md:
 *
 * - 10,000 nodes: the wall time and peak memory of building a settled cluster (the bootstrap) and of
 *   running 30 gossip rounds on it, separately and together (targets: 120 s and 16 GiB together);
 * - 1,000 nodes for one simulated hour (target: 60 s).
 *
 * Each case runs in a fresh child process (this script with `--child`), so the peak resident set size it
 * reports (`process.resourceUsage().maxRSS`) belongs to that case alone. The children run the simulator as
 * the `grapevine` executable does, compiled by tsc into dist/ (the script runs `npm run build`'s compile
 * first), not the sources through tsx's on-the-fly transform, which ran about 5% slower. The invariant
 * checkers run as in every scenario. The script exits 1 when a target is missed or a checker reported a
 * violation, and says which.
 *
 *   node --import tsx bench/sim-scale.ts            # both cases (needs the machine to itself)
 *   node --import tsx bench/sim-scale.ts --quick    # small sizes, to check the script itself; writes nothing
 *
 * Node's own flags given to this script (`node --max-old-space-size=8192 --import tsx ...`) are passed on
 * to the child processes, which also get a young generation of 128 MiB semispaces (`--max-semi-space-size`,
 * unless given): a simulation allocates a message, a frame and an arrival object for every datagram, nearly
 * all dead within a few simulated milliseconds, and with V8's default of 16 MiB it collects eight times as
 * often. On 2026-11-26, alternating runs of the one-hour case at N = 1,000 took 59.1 and 59.4 s with 64 MiB
 * and 57.6 and 57.9 s with 128 MiB (commit 802a9b4, `node --max-semi-space-size=S --import tsx
 * bench/sim-scale.ts`); the peak resident set grows by about 0.1 GiB at N = 1,000 and 0.2 GiB at 10,000.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { parseSeed } from '../src/cli/sim-command.js';
import { commandLine } from './lib/args.js';
import { markdownTable, writeBenchmarkSection } from './lib/report.js';
import { loadSimulator } from './lib/simulator.js';

interface Flags {
  seed: number;
  quick: boolean;
  write: boolean;
  child?: string;
}

interface ScaleCase {
  readonly name: string;
  readonly nodes: number;
  readonly seed: number;
  readonly simulatedMs: number;
  /** Progress is printed every this many simulated milliseconds. */
  readonly progressEveryMs: number;
  /** Targets for the whole case (bootstrap and run); null for the quick sizes, which have none. */
  readonly wallSecondsMax: number | null;
  readonly peakRssBytesMax: number | null;
}

interface ScaleResult {
  readonly scaleCase: ScaleCase;
  readonly bootstrapSeconds: number;
  readonly runSeconds: number;
  readonly bootstrapPeakRssBytes: number;
  readonly peakRssBytes: number;
  readonly violations: readonly string[];
  /** Why the case's process failed (out of memory, say); its numbers are then NaN. */
  readonly error?: string;
}

const ROUND_MS = 1000;
const GIB = 2 ** 30;
const MIB = 2 ** 20;

function casesFor(flags: Flags): ScaleCase[] {
  const seed = flags.seed;
  if (flags.quick) {
    return [
      {
        name: '30 rounds',
        nodes: 1000,
        seed,
        simulatedMs: 30 * ROUND_MS,
        progressEveryMs: 10 * ROUND_MS,
        wallSecondsMax: null,
        peakRssBytesMax: null,
      },
      {
        name: 'ten simulated minutes',
        nodes: 100,
        seed,
        simulatedMs: 600_000,
        progressEveryMs: 120_000,
        wallSecondsMax: null,
        peakRssBytesMax: null,
      },
    ];
  }
  return [
    {
      name: '30 rounds',
      nodes: 10_000,
      seed,
      simulatedMs: 30 * ROUND_MS,
      progressEveryMs: ROUND_MS,
      wallSecondsMax: 120,
      peakRssBytesMax: 16 * GIB,
    },
    {
      name: 'one simulated hour',
      nodes: 1000,
      seed,
      simulatedMs: 3_600_000,
      progressEveryMs: 300_000,
      wallSecondsMax: 60,
      peakRssBytesMax: null,
    },
    // Reference points without targets: the same work per node and round (one exchange, two pages of up
    // to 64 members) at other sizes, to show what the cost per node-round owes to N.
    ...[100, 300, 3000].map((nodes) => ({
      name: 'cost per node-round',
      nodes,
      seed,
      simulatedMs: Math.round(300_000 / nodes) * ROUND_MS,
      progressEveryMs: Math.round(300_000 / nodes) * ROUND_MS,
      wallSecondsMax: null,
      peakRssBytesMax: null,
    })),
  ];
}

// ---------------------------------------------------------------------------------------------------------
// The child: one case, measured in a process of its own

function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

async function measure(scaleCase: ScaleCase): Promise<ScaleResult> {
  const say = (text: string) => process.stderr.write(`  [N=${scaleCase.nodes}] ${text}\n`);
  // Compiled by buildDist in the parent.
  const simulator = await loadSimulator('dist');
  const bootstrapStarted = performance.now();
  const cluster = new simulator.SimCluster({ nodes: scaleCase.nodes, seed: scaleCase.seed });
  const checkers = new simulator.Checkers(cluster);
  cluster.startSettled();
  const bootstrapSeconds = (performance.now() - bootstrapStarted) / 1000;
  const bootstrapPeakRssBytes = peakRssBytes();
  say(`bootstrap ${bootstrapSeconds.toFixed(1)} s, peak RSS ${(bootstrapPeakRssBytes / MIB).toFixed(0)} MiB`);
  const runStarted = performance.now();
  for (let elapsed = 0; elapsed < scaleCase.simulatedMs; elapsed += scaleCase.progressEveryMs) {
    cluster.runFor(Math.min(scaleCase.progressEveryMs, scaleCase.simulatedMs - elapsed));
    const done = Math.min(elapsed + scaleCase.progressEveryMs, scaleCase.simulatedMs);
    say(
      `${(done / 1000).toFixed(0)} of ${scaleCase.simulatedMs / 1000} simulated s, ${((performance.now() - runStarted) / 1000).toFixed(1)} s wall`,
    );
  }
  const runSeconds = (performance.now() - runStarted) / 1000;
  checkers.stop();
  return {
    scaleCase,
    bootstrapSeconds,
    runSeconds,
    bootstrapPeakRssBytes,
    peakRssBytes: peakRssBytes(),
    violations: checkers.violations.map(
      (violation) => `t=${(violation.atMs / 1000).toFixed(3)}s ${violation.checker}: ${violation.message}`,
    ),
  };
}

async function runChild(spec: string): Promise<void> {
  const result = await measure(JSON.parse(spec) as ScaleCase);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------------------------------------
// The parent: one child per case, then the table

function runInChild(scaleCase: ScaleCase): ScaleResult {
  process.stderr.write(`${scaleCase.name} at N=${scaleCase.nodes}, seed ${scaleCase.seed} (fresh process)\n`);
  const script = fileURLToPath(import.meta.url);
  const youngGeneration = process.execArgv.some((flag) => flag.startsWith('--max-semi-space-size'))
    ? []
    : ['--max-semi-space-size=128'];
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, ...youngGeneration, script, '--child', JSON.stringify(scaleCase)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    },
  );
  if (child.status === 0) return JSON.parse(child.stdout) as ScaleResult;
  return {
    scaleCase,
    bootstrapSeconds: Number.NaN,
    runSeconds: Number.NaN,
    bootstrapPeakRssBytes: Number.NaN,
    peakRssBytes: Number.NaN,
    violations: [],
    error: `its process failed (exit status ${child.status}, signal ${child.signal ?? 'none'}${child.error === undefined ? '' : `, ${child.error.message}`})`,
  };
}

function totalSeconds(result: ScaleResult): number {
  return result.bootstrapSeconds + result.runSeconds;
}

function failuresOf(result: ScaleResult): string[] {
  const { scaleCase } = result;
  const label = `${scaleCase.name} at N=${scaleCase.nodes}`;
  const failures = result.violations.map((violation) => `${label}: seed ${scaleCase.seed}: ${violation}`);
  if (result.error !== undefined) failures.push(`${label}: ${result.error}`);
  if (scaleCase.wallSecondsMax !== null && totalSeconds(result) > scaleCase.wallSecondsMax) {
    failures.push(
      `${label}: ${totalSeconds(result).toFixed(1)} s of wall time exceeds ${scaleCase.wallSecondsMax} s`,
    );
  }
  if (scaleCase.peakRssBytesMax !== null && result.peakRssBytes > scaleCase.peakRssBytesMax) {
    failures.push(
      `${label}: peak RSS of ${formatGiB(result.peakRssBytes)} GiB exceeds ${formatGiB(scaleCase.peakRssBytesMax)} GiB`,
    );
  }
  return failures;
}

/** A number for the table; '-' when the case failed and has none. */
function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

function formatGiB(bytes: number): string {
  return fixed(bytes / GIB, 2);
}

function targetText(scaleCase: ScaleCase): string {
  const parts: string[] = [];
  if (scaleCase.wallSecondsMax !== null) parts.push(`<= ${scaleCase.wallSecondsMax} s`);
  if (scaleCase.peakRssBytesMax !== null) parts.push(`<= ${formatGiB(scaleCase.peakRssBytesMax)} GiB`);
  return parts.length === 0 ? '-' : parts.join(', ');
}

function row(result: ScaleResult): (string | number)[] {
  const { scaleCase } = result;
  const hasTarget = scaleCase.wallSecondsMax !== null || scaleCase.peakRssBytesMax !== null;
  const met =
    result.error !== undefined
      ? 'FAILED'
      : !hasTarget
        ? 'no target'
        : failuresOf(result).length === 0
          ? 'yes'
          : 'MISSED';
  return [
    scaleCase.nodes.toLocaleString('en'),
    scaleCase.name,
    scaleCase.seed,
    fixed(result.bootstrapSeconds, 1),
    fixed(result.runSeconds, 1),
    fixed(totalSeconds(result), 1),
    fixed((result.runSeconds * 1e6) / (scaleCase.nodes * (scaleCase.simulatedMs / ROUND_MS)), 1),
    formatGiB(result.bootstrapPeakRssBytes),
    formatGiB(result.peakRssBytes),
    targetText(scaleCase),
    met,
    result.violations.length,
  ];
}

function sectionBody(results: readonly ScaleResult[]): string {
  const hourMissed = results.some(
    (result) => result.scaleCase.name === 'one simulated hour' && failuresOf(result).length > 0,
  );
  const table = markdownTable(
    [
      'nodes',
      'run',
      'seed',
      'bootstrap (s)',
      'run (s)',
      'together (s)',
      'run per node-round (µs)',
      'peak RSS after bootstrap (GiB)',
      'peak RSS overall (GiB)',
      'target (together)',
      'met',
      'violations',
    ],
    results.map(row),
  );
  return [
    'Each case runs in a fresh Node.js process, on the simulator compiled into dist/ as the `grapevine` ' +
      'executable runs it (the script compiles it first). The **bootstrap** builds the simulated cluster (one ' +
      'production `GossipNode` and `Runner` per host) and starts it settled: every node receives the full ' +
      'member list as one `sync` message, as if it had just joined. The **run** then advances the simulated ' +
      'clock with default options (1000 ms rounds) and the invariant checkers on, as in every scenario. Wall ' +
      "times are seconds on this machine; peak RSS is `process.resourceUsage().maxRSS` of the case's " +
      'process, read after the bootstrap and at the end. **Run per node-round** is the run time divided by ' +
      'nodes times rounds.',
    '',
    table,
    '',
    'The rows "cost per node-round" have no target: they run the same work per node and round at other ' +
      'sizes (one exchange a round, digest pages of at most 64 members, so a node handles about the same ' +
      'bytes at every N). What grows with N is where the data sits: 1,000 nodes hold about 80 MB of member ' +
      'columns and their objects besides, far more than the processor caches, so every event a node ' +
      'handles starts with cache misses: in the pages it reads and writes and, for the larger share of the ' +
      "growth, in everything else an event reaches (the node's objects, the one member a message is about, " +
      'each probe of a search).' +
      (hourMissed
        ? ' That is why the one-hour target at N = 1,000 is missed: reaching it needs fewer scattered ' +
          'accesses per event (fewer objects per node and per message, a flatter per-node layout) more ' +
          'than less protocol work; docs/architecture.md ("Where a large simulation spends its time") has ' +
          'the measurements.'
        : ''),
  ].join('\n');
}

function parseFlags(argv: readonly string[]): Flags {
  return new Command('sim-scale')
    .description('Wall time and peak memory of large simulations, each case in a fresh process')
    .option('--seed <n|commit>', 'seed of every case', parseSeed, 1)
    .option('--quick', 'small sizes, to check the script itself; writes nothing', false)
    .option('--no-write', 'print the table only; leave docs/ alone')
    .addOption(
      new Option('--child <case>', 'internal: measure one case (JSON) and print the result').hideHelp(),
    )
    .parse(argv as string[], { from: 'node' })
    .opts<Flags>();
}

/** Compiles src/ into dist/ as `npm run build` does, so that the children measure the current code. */
function buildDist(): void {
  process.stderr.write('compiling src/ into dist/ (tsc -p tsconfig.build.json)\n');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const built = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (built.status !== 0)
    throw new Error(`tsc failed (exit ${built.status}): dist/ would not hold the current code`);
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv);
  if (flags.child !== undefined) {
    await runChild(flags.child);
    return;
  }
  buildDist();
  const results = casesFor(flags).map(runInChild);
  const body = sectionBody(results);
  process.stdout.write(`${body}\n`);
  if (flags.write && !flags.quick) {
    writeBenchmarkSection({
      id: 'sim-scale',
      title: 'Simulation: scale of the simulator',
      command: commandLine('bench/sim-scale.ts'),
      body,
    });
    process.stderr.write('wrote docs/benchmarks.md (section sim-scale)\n');
  }
  const failures = results.flatMap(failuresOf);
  for (const failure of failures) process.stderr.write(`FAILED ${failure}\n`);
  process.exitCode = failures.length > 0 ? 1 : 0;
}

await main();
