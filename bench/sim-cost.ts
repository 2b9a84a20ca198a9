/**
 * Diagnostic: what one simulated round costs the simulator at one size, for work on its speed. It writes
 * nothing to docs/benchmarks.md (bench/sim-scale.ts owns the targets); it prints, for a settled cluster with
 * the invariant checkers on, as in every scenario:
 *
 * - wall milliseconds per simulated round (minimum and median over repeats) and per node-round;
 * - events fired per node-round;
 * - a replay fingerprint (events fired and a checksum of every node's view): a change that claims to alter
 *   no simulated outcome must leave it unchanged;
 * - with `--allocation`, bytes allocated per node-round and the functions that allocate most (V8's sampling
 *   heap profiler, collected objects included).
 *
 *   node --max-semi-space-size=64 --import tsx bench/sim-cost.ts                  # N=1,000: 20 + 5 x 40 rounds
 *   node --import tsx bench/sim-cost.ts --nodes 100 --rounds 400 --allocation
 *
 * Pages against everything else: `--page-entries-max 8` shrinks every digest page eightfold and leaves the
 * rest of a round (its datagrams, timers and the hosts they wake) as it is; running both sizes with and
 * without it splits the extra cost of a large cluster between the two (see docs/architecture.md).
 *
 * For cache misses, run it under cachegrind twice with no repeats and take the difference per round, which
 * leaves out start-up and bootstrap (`--warmup 10` and `--warmup 30`, say):
 *
 *   valgrind --tool=cachegrind --cache-sim=yes --LL=33554432,16,64 --smc-check=all-non-file \
 *     node --single-threaded --max-semi-space-size=64 --import tsx bench/sim-cost.ts --dist --warmup 10 --repeats 0
 */
import { Session } from 'node:inspector/promises';
import { Command } from 'commander';
import { parseSeed } from '../src/cli/sim-command.js';
import { percentile } from '../src/sim/report.js';
import { nonNegativeInteger, positiveInteger } from './lib/args.js';
import { loadSimulator } from './lib/simulator.js';

interface Flags {
  nodes: number;
  seed: number;
  warmup: number;
  rounds: number;
  repeats: number;
  allocation: boolean;
  dist: boolean;
  pageEntriesMax?: number;
}

const ROUND_MS = 1000;

function parseFlags(argv: readonly string[]): Flags {
  const program = new Command()
    .name('sim-cost')
    .option('--nodes <n>', 'cluster size', positiveInteger, 1000)
    .option('--seed <seed>', 'simulation seed', parseSeed, 1)
    .option('--warmup <rounds>', 'rounds run before measuring', nonNegativeInteger, 20)
    .option('--rounds <rounds>', 'rounds per measured repeat', positiveInteger, 40)
    .option('--repeats <n>', 'measured repeats', nonNegativeInteger, 5)
    .option('--allocation', 'also sample allocations over one more repeat', false)
    .option(
      '--page-entries-max <n>',
      "members per digest page (the gossip option pageEntriesMax; default the option's default, 64)",
      positiveInteger,
    )
    .option(
      '--dist',
      'run the compiled simulator in dist/ (npm run build) instead of src/ through tsx',
      false,
    );
  program.parse([...argv], { from: 'user' });
  return program.opts<Flags>();
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Bytes allocated while `run` runs, by allocating function (sampled every 1 KiB). */
async function sampleAllocations(run: () => void): Promise<Map<string, number>> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  run();
  const { profile } = await session.post('HeapProfiler.stopSampling');
  session.disconnect();
  const bytes = new Map<string, number>();
  const visit = (node: ProfileNode) => {
    const frame = node.callFrame;
    const where = frame.url === '' ? '' : ` ${frame.url.split('/').slice(-2).join('/')}`;
    const name = `${frame.functionName || '(anonymous)'}${where}`;
    bytes.set(name, (bytes.get(name) ?? 0) + node.selfSize);
    for (const child of node.children) visit(child);
  };
  visit(profile.head as ProfileNode);
  return bytes;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const simulator = await loadSimulator(flags.dist ? 'dist' : 'src');
  const gossip = flags.pageEntriesMax === undefined ? {} : { pageEntriesMax: flags.pageEntriesMax };
  const cluster = new simulator.SimCluster({ nodes: flags.nodes, seed: flags.seed, gossip });
  const checkers = new simulator.Checkers(cluster);
  cluster.startSettled();
  cluster.runFor(flags.warmup * ROUND_MS);
  const perRound: number[] = [];
  const firedBefore = cluster.queue.fired;
  for (let repeat = 0; repeat < flags.repeats; repeat++) {
    const started = performance.now();
    cluster.runFor(flags.rounds * ROUND_MS);
    perRound.push((performance.now() - started) / flags.rounds);
  }
  const nodeRounds = flags.nodes * flags.rounds * flags.repeats;
  let checksum = 0;
  for (const host of cluster.hosts) checksum = (Math.imul(checksum, 31) + host.node.viewChecksum()) >>> 0;
  console.log(
    `N=${flags.nodes}, seed ${flags.seed}${flags.pageEntriesMax === undefined ? '' : `, pageEntriesMax ${flags.pageEntriesMax}`}:` +
      ` ${flags.warmup} rounds of warm-up, ${flags.repeats} x ${flags.rounds} measured`,
  );
  if (flags.repeats > 0) {
    const best = Math.min(...perRound);
    const middle = percentile(perRound, 0.5);
    console.log(
      `  wall ms per simulated round: min ${best.toFixed(2)}, median ${middle.toFixed(2)}` +
        ` (${((middle * 1000) / flags.nodes).toFixed(1)} µs per node-round)`,
    );
    console.log(`  events per node-round: ${((cluster.queue.fired - firedBefore) / nodeRounds).toFixed(2)}`);
  }
  console.log(`  fingerprint: ${cluster.queue.fired} events fired, view checksum ${checksum}`);
  console.log(`  checker violations: ${checkers.violations.length}`);
  if (flags.allocation) {
    const bytes = await sampleAllocations(() => cluster.runFor(flags.rounds * ROUND_MS));
    let total = 0;
    for (const value of bytes.values()) total += value;
    const perNodeRound = (value: number) => (value / (flags.nodes * flags.rounds)).toFixed(0);
    console.log(`  allocated per node-round: ${perNodeRound(total)} bytes; most by`);
    const top = [...bytes].sort((a, b) => b[1] - a[1]).slice(0, 12);
    for (const [name, value] of top) console.log(`    ${perNodeRound(value).padStart(6)}  ${name}`);
  }
  if (checkers.violations.length > 0) process.exitCode = 1;
}

await main();
