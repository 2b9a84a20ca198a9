/**
 * Benchmark: what gossip costs a node at rest, by cluster size. It owns the "sim-bandwidth" section of
 * docs/benchmarks.md: bytes per node per second (payload, and an estimate on the wire), datagrams per node
 * per second, and the largest datagram any node sent, at N = 10, 30, 60, 100, 1,000 and 10,000.
 *
 * Each run is the simulator's `converge` scenario with the default options: traffic is measured over eight
 * rounds at rest after the cluster settled, and the largest datagram over the whole run, the spread of a
 * new key included. The target is that no datagram exceeds `datagramBytesMax` (1400 bytes) at any N; the
 * script exits 1 when one does or a checker reported a violation, and says which.
 *
 *   node --import tsx bench/sim-bandwidth.ts                          # every size (N=10,000 takes minutes)
 *   node --import tsx bench/sim-bandwidth.ts --nodes 10,30,60,100,1000  # all but the largest
 *   node --import tsx bench/sim-bandwidth.ts --quick                  # a smoke run; writes nothing
 */
import { Command } from 'commander';
import { parseSeed } from '../src/cli/sim-command.js';
import { GOSSIP_OPTION_SPECS } from '../src/core/index.js';
import { type SimSummary, summarize } from '../src/sim/report.js';
import { type RunReport, runScenario } from '../src/sim/scenarios.js';
import { commandLine, nodeList, positiveInteger } from './lib/args.js';
import { markdownTable, writeBenchmarkSection } from './lib/report.js';

interface Flags {
  seed: number;
  seeds?: number;
  nodes?: number[];
  quick: boolean;
  write: boolean;
}

/** Ethernet (14), IPv4 (20) and UDP (8) headers that every datagram carries on the wire. */
const HEADER_BYTES_PER_DATAGRAM = 42;
const FULL_SIZES = [10, 30, 60, 100, 1000, 10_000];
const QUICK_SIZES = [10, 30, 100];
/** Traffic at rest varies little between seeds; the largest size is costly, so it gets one. */
const SEEDS_SMALL = 3;
const SEEDS_LARGE = 1;
const LARGE_NODES = 10_000;
const DATAGRAM_BYTES_MAX = GOSSIP_OPTION_SPECS.datagramBytesMax.default;
const INTERVAL_MS = GOSSIP_OPTION_SPECS.gossipIntervalMs.default;

function seedsFor(nodes: number, flags: Flags): number {
  if (flags.seeds !== undefined) return flags.seeds;
  if (flags.quick) return 1;
  return nodes >= LARGE_NODES ? SEEDS_LARGE : SEEDS_SMALL;
}

function runSize(nodes: number, flags: Flags): SimSummary {
  const seeds = seedsFor(nodes, flags);
  const started = performance.now();
  const reports: RunReport[] = [];
  for (let run = 0; run < seeds; run++) {
    const seed = (flags.seed + run) >>> 0;
    const runStarted = performance.now();
    const report = runScenario({ scenario: 'converge', nodes, seed, lossRate: 0 });
    reports.push(report);
    const seconds = ((performance.now() - runStarted) / 1000).toFixed(1);
    process.stderr.write(
      `N=${nodes} seed ${seed} (${run + 1}/${seeds}): ${report.bytesPerNodePerSecond.toFixed(0)} bytes/node/s, ` +
        `largest datagram ${report.largestDatagramBytes} bytes, ${report.violations.length} violations (${seconds} s)\n`,
    );
  }
  return summarize(reports, {
    fanout: GOSSIP_OPTION_SPECS.fanout.default,
    intervalMs: INTERVAL_MS,
    lossRate: 0,
    wallSeconds: (performance.now() - started) / 1000,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  });
}

/** Payload plus the headers each datagram adds on an Ethernet link. Streams (none at rest) are ignored. */
function wireBytesPerNodePerSecond(summary: SimSummary): number {
  return summary.bytesPerNodePerSecond + HEADER_BYTES_PER_DATAGRAM * summary.datagramsPerNodePerSecond;
}

function row(summary: SimSummary): (string | number)[] {
  const wire = wireBytesPerNodePerSecond(summary);
  return [
    summary.nodes.toLocaleString('en'),
    `${summary.seed}..${summary.seed + summary.runs - 1}`,
    summary.bytesPerNodePerSecond.toFixed(0),
    wire.toFixed(0),
    ((wire * INTERVAL_MS) / 1000).toFixed(0),
    summary.datagramsPerNodePerSecond.toFixed(2),
    summary.largestDatagramBytes,
    summary.largestDatagramBytes <= DATAGRAM_BYTES_MAX ? 'yes' : 'NO',
    summary.violations.length,
  ];
}

function failuresOf(summary: SimSummary): string[] {
  const label = `N=${summary.nodes}`;
  const failures = summary.violations.map(
    (violation) => `${label}: seed ${violation.seed}: ${violation.checker}: ${violation.message}`,
  );
  if (summary.largestDatagramBytes > DATAGRAM_BYTES_MAX) {
    failures.push(
      `${label}: a datagram of ${summary.largestDatagramBytes} bytes exceeds ${DATAGRAM_BYTES_MAX}`,
    );
  }
  return failures;
}

function sectionBody(summaries: readonly SimSummary[]): string {
  const table = markdownTable(
    [
      'nodes',
      'seeds',
      'payload bytes/node/s',
      'on the wire, est. (bytes/node/s)',
      'on the wire, est. (bytes/node/round)',
      'datagrams/node/s',
      'largest datagram (bytes)',
      `<= ${DATAGRAM_BYTES_MAX}`,
      'violations',
    ],
    summaries.map(row),
  );
  return [
    `Each run is the \`converge\` scenario with the default options (fanout ${GOSSIP_OPTION_SPECS.fanout.default}, ` +
      `idle fanout ${GOSSIP_OPTION_SPECS.idleFanout.default}, ${INTERVAL_MS} ms rounds, one watcher). ` +
      'Traffic is what each node sent per second over eight rounds at rest, after the cluster settled and ' +
      'before the new key was written (median over seeds): **payload** is frame bytes (the grapevine header ' +
      `and the message), and **on the wire** adds ${HEADER_BYTES_PER_DATAGRAM} bytes of Ethernet, IPv4 and ` +
      'UDP headers per datagram (no preamble, inter-frame gap or tunnel). The largest datagram is over the ' +
      'whole run, the spread of the key included; the target is that none exceeds `datagramBytesMax` at any N.',
    '',
    table,
    '',
    'At rest a node starts one exchange per round (syn, syn-ack and, when one side lacks something, ack) ' +
      'and sends one heartbeat to its watcher. A digest carries one page of the member list, which grows ' +
      'with N until it holds `pageEntriesMax` (64) members (about 260 bytes of heartbeats and versions) and ' +
      'then rotates through the key space; from then on a node sends about the same bytes per round ' +
      '(its syn, the syn-ack to the exchange it answers and a heartbeat) whatever N is. Explicit pages and ' +
      'deltas, larger, go only where two views differ, which at rest is rare.',
  ].join('\n');
}

function parseFlags(argv: readonly string[]): Flags {
  return new Command('sim-bandwidth')
    .description('Bytes and datagrams per node per second at rest, and the largest datagram, by cluster size')
    .option('--nodes <n[,n...]>', `sizes to run (default ${FULL_SIZES.join(',')})`, nodeList)
    .option(
      '--seeds <n>',
      `seeds per size (default ${SEEDS_SMALL}, and ${SEEDS_LARGE} from N=${LARGE_NODES})`,
      positiveInteger,
    )
    .option('--seed <n|commit>', 'first seed; runs use seed, seed+1, ...', parseSeed, 1)
    .option('--quick', 'small sizes and one seed, to check the script itself; writes nothing', false)
    .option('--no-write', 'print the table only; leave docs/ alone')
    .parse(argv as string[], { from: 'node' })
    .opts<Flags>();
}

function main(): void {
  const flags = parseFlags(process.argv);
  const sizes = flags.nodes ?? (flags.quick ? QUICK_SIZES : FULL_SIZES);
  const summaries = sizes.map((nodes) => runSize(nodes, flags));
  const body = sectionBody(summaries);
  process.stdout.write(`${body}\n`);
  if (flags.write && !flags.quick) {
    writeBenchmarkSection({
      id: 'sim-bandwidth',
      title: 'Simulation: bandwidth at rest',
      command: commandLine('bench/sim-bandwidth.ts'),
      body,
    });
    process.stderr.write('wrote docs/benchmarks.md (section sim-bandwidth)\n');
  }
  const failures = summaries.flatMap(failuresOf);
  for (const failure of failures) process.stderr.write(`FAILED ${failure}\n`);
  process.exitCode = failures.length > 0 ? 1 : 0;
}

main();
