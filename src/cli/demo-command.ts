/**
 * `grapevine demo --simulated`: a simulated cluster, paced so a person can watch it, printing as it
 * happens how a new key spreads round by round and how a crashed node is detected. (The demo of real
 * processes on loopback is the default once the runtime exists; this one needs nothing but the CPU.)
 */
import type { Command } from 'commander';
import { SimCluster } from '../sim/cluster.js';

interface DemoFlags {
  simulated: boolean;
  nodes: number;
  paceMs: number;
  seed: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Watch a cluster converge, spread a key and detect a crash')
    .option('--simulated', 'run the cluster inside the simulator', true)
    .option('--nodes <n>', 'cluster size', (value) => Number.parseInt(value, 10), 50)
    .option(
      '--pace-ms <ms>',
      'wall-clock milliseconds per simulated gossip round',
      (value) => Number.parseInt(value, 10),
      400,
    )
    .option('--seed <n>', 'simulation seed', (value) => Number.parseInt(value, 10), 7)
    .action(async (flags: DemoFlags) => {
      process.exitCode = await simulatedDemo(flags);
    });
}

function bar(fraction: number, width = 40): string {
  const filled = Math.round(fraction * width);
  return `${'█'.repeat(filled)}${'·'.repeat(width - filled)}`;
}

async function simulatedDemo(flags: DemoFlags): Promise<number> {
  const cluster = new SimCluster({ nodes: flags.nodes, seed: flags.seed });
  const interval = cluster.options.gossipIntervalMs;
  const say = (text: string) =>
    process.stdout.write(`[t=${(cluster.now / 1000).toFixed(1).padStart(5)}s] ${text}\n`);
  say(`starting ${flags.nodes} simulated nodes (seed ${flags.seed}); each already knows the member list`);
  cluster.startSettled();
  for (let round = 0; round < 5; round++) {
    cluster.runFor(interval);
    await sleep(flags.paceMs / 2);
  }
  const origin = cluster.hosts[0]!;
  const informed = new Set<string>([origin.name]);
  cluster.onEvent((host, event) => {
    if (event.type === 'key-updated' && event.key === 'demo/greeting') informed.add(host.name);
  });
  cluster.set(origin.index, 'demo/greeting', 'hello from node-0');
  say(`${origin.name} sets demo/greeting; watch it spread:`);
  for (let round = 1; informed.size < flags.nodes && round <= 20; round++) {
    cluster.runFor(interval);
    say(
      `round ${String(round).padStart(2)}  ${bar(informed.size / flags.nodes)} ${informed.size}/${flags.nodes} nodes`,
    );
    await sleep(flags.paceMs);
  }
  const victim = cluster.hosts[Math.floor(flags.nodes / 2)]!;
  const marked = new Set<string>();
  let firstVerdict = '';
  cluster.onEvent((host, event) => {
    if (event.type === 'member-down' && event.member.name === victim.name) {
      marked.add(host.name);
      if (firstVerdict === '' && event.member.verdict !== null) {
        const verdict = event.member.verdict;
        firstVerdict = `${verdict.accuser} (${verdict.reason === 'refused' ? 'connection refused' : `phi ${verdict.phiHundredths / 100}`})`;
      }
    }
  });
  const crashedAt = cluster.now;
  cluster.crash(victim.index);
  say(`${victim.name} crashes`);
  for (let tick = 1; marked.size < flags.nodes - 1 && tick <= 60; tick++) {
    cluster.runFor(interval / 2);
    if (marked.size > 0 || tick % 2 === 0) {
      say(
        `${bar(marked.size / (flags.nodes - 1))} ${marked.size}/${flags.nodes - 1} see ${victim.name} down`,
      );
    }
    await sleep(flags.paceMs / 2);
  }
  say(
    `first verdict by ${firstVerdict || 'nobody'}; every live node agreed ${((cluster.now - crashedAt) / 1000).toFixed(1)} s after the crash`,
  );
  return marked.size === flags.nodes - 1 ? 0 : 1;
}
