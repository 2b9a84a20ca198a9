/**
 * Benchmark: grapevine and HashiCorp Serf side by side, as real processes, each agent in its own network
 * namespace on one bridge (so bytes on the wire are read per agent from its veth), same machine, same run.
 * It owns the "compare-serf" section of docs/benchmarks.md.
 *
 * Measured for each N: join convergence, detection of a SIGKILLed agent (median and max over the trials),
 * propagation of an update (a Serf user event, a grapevine key), and CPU, resident memory and bytes per
 * agent at rest. Then four fault scenarios at one N for both systems: 10% loss, stalls, partitions that
 * heal, and a mass restart. Serf runs its default LAN profile without encryption and grapevine its default
 * configuration without a key: neither is tuned. Needs root, iproute2, nftables and serf (Debian packages
 * `nftables` and `serf`).
 *
 *   npx tsx bench/compare-serf.ts                     # the full run (about an hour; writes the report)
 *   npx tsx bench/compare-serf.ts --quick             # a smoke run at N=6 with short windows; writes nothing
 *   npx tsx bench/compare-serf.ts --cleanup           # removes namespaces and processes a killed run left
 *
 * --nodes, --trials, --fault-nodes, --loss-minutes, --stall-minutes, --scenarios and --systems narrow a run
 * (see --help); the report always states the command that produced it.
 *
 * It exits 1 when a measurement failed or a target was missed, and says which.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { assertNetnsAvailable, cleanupByPrefix } from '../test/support/netns.js';
import type { AgentSystem } from './compare/cluster.js';
import { createGrapevineSystem } from './compare/grapevine.js';
import {
  BENCH_PREFIX,
  log,
  measureDetection,
  measurePropagation,
  measureRest,
  seededRandom,
  withFormedCluster,
} from './compare/measure.js';
import {
  type Baseline,
  baselineTable,
  evaluateTargets,
  faultTable,
  type Outcome,
  type Results,
  type SystemName,
  targetTable,
} from './compare/report.js';
import { runLoss, runMassRestart, runPartitions, runStalls } from './compare/scenarios.js';
import { createSerfSystem } from './compare/serf.js';
import { writeBenchmarkSection } from './lib/report.js';

const SCENARIOS = ['baseline', 'loss', 'stall', 'partition', 'restart'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Plan {
  readonly nodes: readonly number[];
  readonly trials: number;
  readonly faultNodes: number;
  readonly settleMs: number;
  readonly restWindowMs: number;
  readonly lossPercent: number;
  readonly lossMs: number;
  readonly stallMs: number;
  readonly longStalls: number;
  readonly oneWayHoldMs: number;
  readonly restartHoldMs: number;
}

const FULL_PLAN: Plan = {
  nodes: [10, 30, 60],
  trials: 3,
  faultNodes: 30,
  settleMs: 15_000,
  restWindowMs: 60_000,
  lossPercent: 10,
  lossMs: 600_000,
  stallMs: 300_000,
  longStalls: 3,
  oneWayHoldMs: 30_000,
  restartHoldMs: 60_000,
};

const QUICK_PLAN: Plan = {
  nodes: [6],
  trials: 2,
  faultNodes: 6,
  settleMs: 3000,
  restWindowMs: 10_000,
  lossPercent: 10,
  lossMs: 30_000,
  stallMs: 30_000,
  longStalls: 1,
  oneWayHoldMs: 15_000,
  restartHoldMs: 10_000,
};

interface Flags {
  nodes?: number[];
  trials?: number;
  faultNodes?: number;
  lossMinutes?: number;
  stallMinutes?: number;
  scenarios: string;
  systems: string;
  quick: boolean;
  write?: boolean;
  seed: number;
  cleanup: boolean;
}

function positiveIntegers(text: string): number[] {
  const values = text.split(',').map((item) => Number(item.trim()));
  if (values.some((value) => !Number.isInteger(value) || value < 2 || value > 250)) {
    throw new InvalidArgumentError('expected integers from 2 to 250, comma-separated');
  }
  return values;
}

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('expected a positive integer');
  return value;
}

function positiveNumber(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('expected a positive number');
  return value;
}

function parseFlags(argv: readonly string[]): Flags {
  const program = new Command('compare-serf')
    .description('grapevine and HashiCorp Serf side by side in network namespaces')
    .option(
      '--nodes <list>',
      'cluster sizes for the baseline (default 10,30,60; --quick: 6)',
      positiveIntegers,
    )
    .option(
      '--trials <n>',
      'detection and propagation trials per size (default 3; --quick: 2)',
      positiveInteger,
    )
    .option(
      '--fault-nodes <n>',
      'cluster size for the fault scenarios (default 30; --quick: 6)',
      positiveInteger,
    )
    .option('--loss-minutes <m>', 'duration of the loss scenario (default 10; --quick: 0.5)', positiveNumber)
    .option(
      '--stall-minutes <m>',
      'duration of the 2-second stalls (default 5; --quick: 0.5)',
      positiveNumber,
    )
    .option('--scenarios <list>', `all, or some of ${SCENARIOS.join(',')}`, 'all')
    .option('--systems <list>', 'serf,grapevine or one of them', 'serf,grapevine')
    .option('--quick', 'small N and short windows: checks the script, writes nothing', false)
    .option('--write', 'write docs/benchmarks.md (the default without --quick)')
    .option('--no-write', 'do not write docs/benchmarks.md')
    .option(
      '--seed <n>',
      'seed of the random choices (victims, origins)',
      positiveInteger,
      Date.now() % 1_000_000,
    )
    .option('--cleanup', 'remove what a killed run left behind, then exit', false);
  program.parse(argv as string[], { from: 'node' });
  return program.opts<Flags>();
}

function selectedScenarios(text: string): Set<Scenario> {
  if (text === 'all') return new Set(SCENARIOS);
  const chosen = text.split(',').map((item) => item.trim());
  for (const item of chosen) {
    if (!SCENARIOS.includes(item as Scenario))
      throw new Error(`unknown scenario "${item}"; use all or ${SCENARIOS.join(',')}`);
  }
  return new Set(chosen as Scenario[]);
}

/** Checks the tools before building anything, so a missing one is reported in one line. */
async function checkPrerequisites(systems: readonly AgentSystem[]): Promise<void> {
  await assertNetnsAvailable();
  for (const system of systems) {
    if (system.name === 'serf') {
      execFileSync('serf', ['version'], { timeout: 10_000, stdio: 'ignore' });
    } else {
      const cli = fileURLToPath(new URL('../bin/grapevine.js', import.meta.url));
      if (!existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)))) {
        throw new Error('grapevine is not built: run `npm run build` first');
      }
      execFileSync(process.execPath, [cli, 'agent', '--help'], { timeout: 20_000, stdio: 'ignore' });
    }
  }
}

async function outcome<T>(label: string, run: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`${label} failed: ${message}`);
    return { ok: false, error: message };
  }
}

async function runBaseline(system: AgentSystem, nodes: number, plan: Plan, seed: number): Promise<Baseline> {
  const random = seededRandom(seed + nodes);
  const { joinSeconds, result } = await withFormedCluster(system, nodes, async (cluster) => {
    const rest = await measureRest(cluster, { settleMs: plan.settleMs, windowMs: plan.restWindowMs });
    const propagation = await measurePropagation(cluster, {
      trials: plan.trials,
      random,
      runId: String(seed),
    });
    const detection = await measureDetection(cluster, { trials: plan.trials, random });
    return { rest, propagation, detection };
  });
  return { joinSeconds, ...result };
}

async function runAll(flags: Flags, plan: Plan, systems: readonly AgentSystem[]): Promise<Results> {
  const scenarios = selectedScenarios(flags.scenarios);
  const results: Results = {
    baselines: new Map(),
    faultNodes: plan.faultNodes,
    loss: {},
    stall: {},
    partition: {},
    restart: {},
  };
  if (scenarios.has('baseline')) {
    for (const nodes of plan.nodes) {
      const row: Partial<Record<SystemName, Outcome<Baseline>>> = {};
      results.baselines.set(nodes, row);
      for (const system of systems) {
        row[system.name] = await outcome(`${system.name} baseline N=${nodes}`, () =>
          runBaseline(system, nodes, plan, flags.seed),
        );
      }
    }
  }
  const faults = async <T>(
    scenario: Scenario,
    into: Partial<Record<SystemName, Outcome<T>>>,
    run: (system: AgentSystem) => Promise<T>,
  ) => {
    if (!scenarios.has(scenario)) return;
    for (const system of systems)
      into[system.name] = await outcome(`${system.name} ${scenario}`, () => run(system));
  };
  const onCluster = <T>(system: AgentSystem, body: Parameters<typeof withFormedCluster<T>>[2]) =>
    withFormedCluster(system, plan.faultNodes, body).then(({ result }) => result);
  await faults('loss', results.loss, (system) =>
    onCluster(system, (cluster) => runLoss(cluster, { percent: plan.lossPercent, durationMs: plan.lossMs })),
  );
  await faults('stall', results.stall, (system) =>
    onCluster(system, (cluster) =>
      runStalls(cluster, {
        durationMs: plan.stallMs,
        periodMs: 10_000,
        shortStallMs: 2000,
        longStallMs: 8000,
        longStalls: plan.longStalls,
        random: seededRandom(flags.seed + 1),
      }),
    ),
  );
  await faults('partition', results.partition, (system) =>
    onCluster(system, (cluster) => runPartitions(cluster, { oneWayHoldMs: plan.oneWayHoldMs })),
  );
  await faults('restart', results.restart, (system) =>
    onCluster(system, (cluster) => runMassRestart(cluster, { holdMs: plan.restartHoldMs })),
  );
  return results;
}

/** How the numbers were obtained, one markdown paragraph or bullet per line (markdown wraps them). */
function describeMethod(plan: Plan, systems: readonly AgentSystem[], seed: number): string {
  const lossPathPercent = Math.round(100 * (1 - (1 - plan.lossPercent / 100) ** 2));
  return [
    `Systems: ${systems.map((system) => system.title).join('; ')}. Neither is tuned: this is what each does ` +
      'out of the box. Every agent is a real process in its own network namespace on one Linux bridge (static ' +
      'ARP entries, no IPv6); the two systems run one after the other on the same machine in the same run, ' +
      'never at the same time.',
    '',
    '- join convergence: all agents started alone and ready; the clock starts when every agent is told to ' +
      'join agent 0 (`serf join`, `POST /v1/join`) and stops when every agent reports every other alive. ' +
      "Serf's member list has no suspect state (memberlist's suspicion shows as alive), grapevine's does; " +
      'suspect never counts as alive here, which can only make grapevine look slower.',
    `- detection: SIGKILL of a random agent, ${plan.trials} trials per size; seconds until the last survivor ` +
      'reports it failed (Serf) or down (grapevine). Each agent is observed through what it reports as it ' +
      "happens (Serf's `EventMember*` log lines, grapevine's member log lines), not by polling.",
    '- propagation: a Serf user event (`serf event -coalesce=false`) against a grapevine key set ' +
      '(`PUT /v1/kv/KEY`, observed on `GET /v1/events`); seconds from the origin reporting the update to the ' +
      'last agent reporting it.',
    `- at rest: after ${plan.settleMs / 1000} s of quiet, over ${plan.restWindowMs / 1000} s: CPU (utime + ` +
      'stime from /proc, % of one core) and VmRSS, medians over agents; bytes each agent sent per second as ' +
      'counted by its veth (whole Ethernet frames), mean over agents. In a closed cluster bytes received ' +
      'average the same.',
    `- faults at N = ${plan.faultNodes}. Loss: nftables drops ${plan.lossPercent}% of the packets leaving and ` +
      `${plan.lossPercent}% of those arriving at every agent (about ${lossPathPercent}% per path), at the ` +
      `device, so senders see no error, for ${plan.lossMs / 60_000} min. Stalls: SIGSTOP/SIGCONT of one ` +
      `agent, 2 s every 10 s for ${plan.stallMs / 60_000} min, then ${plan.longStalls} stalls of 8 s, 10 s ` +
      'apart once all see all alive. Partitions: packets between the two halves are dropped, one-way for ' +
      `${plan.oneWayHoldMs / 1000} s (the second half cannot reach the first), then both ways until each ` +
      'side marks the other, each followed by healing. Mass restart: every agent SIGKILLed and restarted ' +
      'one right after the other, each joining two others with retries, then watched for ' +
      `${plan.restartHoldMs / 1000} s more. A false verdict is one agent reporting a live agent failed or down.`,
    '',
    `Random choices (victims, origins) come from seed ${seed}.`,
  ].join('\n');
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv);
  if (flags.cleanup) {
    const removed = await cleanupByPrefix(BENCH_PREFIX);
    console.log(removed.length === 0 ? 'nothing to clean up' : `removed ${removed.join(', ')}`);
    return 0;
  }
  const base = flags.quick ? QUICK_PLAN : FULL_PLAN;
  const plan: Plan = {
    ...base,
    ...(flags.nodes === undefined ? {} : { nodes: flags.nodes }),
    ...(flags.trials === undefined ? {} : { trials: flags.trials }),
    ...(flags.faultNodes === undefined ? {} : { faultNodes: flags.faultNodes }),
    ...(flags.lossMinutes === undefined ? {} : { lossMs: Math.round(flags.lossMinutes * 60_000) }),
    ...(flags.stallMinutes === undefined ? {} : { stallMs: Math.round(flags.stallMinutes * 60_000) }),
  };
  const systems = flags.systems.split(',').map((name) => {
    if (name.trim() === 'serf') return createSerfSystem();
    if (name.trim() === 'grapevine') return createGrapevineSystem();
    throw new Error(`unknown system "${name}"; use serf, grapevine or both`);
  });
  await checkPrerequisites(systems);
  log(
    `seed ${flags.seed}; sizes ${plan.nodes.join(', ')}; faults at N=${plan.faultNodes}; scenarios ${flags.scenarios}`,
  );
  const results = await runAll(flags, plan, systems);
  const targets = evaluateTargets(results);
  const body = [
    describeMethod(plan, systems, flags.seed),
    '',
    '### Baseline',
    '',
    baselineTable(results),
    '',
    '### Fault scenarios',
    '',
    faultTable(results),
    '',
    '### Targets',
    '',
    targetTable(targets),
  ].join('\n');
  console.log(`\n${body}\n`);
  const write = flags.write ?? !flags.quick;
  if (write) {
    writeBenchmarkSection({
      id: 'compare-serf',
      title: 'grapevine and HashiCorp Serf, side by side',
      command: `npx tsx bench/compare-serf.ts ${process.argv.slice(2).join(' ')}`.trim(),
      body,
    });
    log('wrote docs/benchmarks.md');
  }
  const failures = [
    ...targets.filter((target) => target.met === false).map((target) => `missed: ${target.description}`),
    ...collectErrors(results),
  ];
  for (const failure of failures) log(failure);
  return failures.length === 0 ? 0 : 1;
}

function collectErrors(results: Results): string[] {
  const errors: string[] = [];
  const add = (label: string, outcomes: Partial<Record<SystemName, Outcome<unknown>>>) => {
    for (const [system, outcome] of Object.entries(outcomes)) {
      if (outcome !== undefined && !outcome.ok) errors.push(`failed: ${system} ${label}: ${outcome.error}`);
    }
  };
  for (const [nodes, outcomes] of results.baselines) add(`baseline N=${nodes}`, outcomes);
  add('loss', results.loss);
  add('stall', results.stall);
  add('partition', results.partition);
  add('restart', results.restart);
  return errors;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
