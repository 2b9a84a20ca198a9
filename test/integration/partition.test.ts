/**
 * Proves that real grapevine agents, in their default configuration, heal a partition by themselves: six
 * agents, each in its own network namespace on one bridge, are cut 3/3 with nftables; each side marks the
 * whole other side down while keeping its own side alive; once the cut is removed, all six see all six
 * alive again without any command. It needs root, iproute2 and nftables (CI runs as root) and fails,
 * rather than skips, without them. The namespaces, the agents and the bridge are removed in `finally`,
 * and by the harness on a signal.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertNetnsAvailable, type HttpRelay, NetnsNetwork, type NetnsNode } from '../support/netns.js';

const AGENTS = 6;
const GOSSIP_PORT = 7946;
const HTTP_PORT = 7947;
const POLL_INTERVAL_MS = 250;
const FORM_DEADLINE_MS = 30_000;
const SPLIT_DEADLINE_MS = 40_000;
const HEAL_DEADLINE_MS = 40_000;
const CLI = fileURLToPath(new URL('../../bin/grapevine.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
/** Lines of each agent's output kept for the failure message. */
const OUTPUT_LINES_MAX = 20;

interface RunningAgent {
  readonly name: string;
  readonly node: NetnsNode;
  readonly child: ChildProcess;
  readonly output: string[];
}

type Views = Map<string, Map<string, string>>;

function startAgent(network: NetnsNetwork, node: NetnsNode, seed: NetnsNode | undefined): RunningAgent {
  const name = `agent${node.index}`;
  const gossip = `${node.address}:${GOSSIP_PORT}`;
  const args = [
    CLI,
    'agent',
    '--name',
    name,
    '--bind',
    gossip,
    '--advertise',
    gossip,
    '--http',
    `${node.address}:${HTTP_PORT}`,
    '--cluster',
    'partition-test',
    '--exit-on-stdin-close',
  ];
  if (seed !== undefined)
    args.push('--join', `${seed.address}:${GOSSIP_PORT}`, '--retry-join', '--retry-join-interval-ms', '500');
  const child = network.spawn(node, process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      if (output.length > OUTPUT_LINES_MAX) output.shift();
    });
  }
  return { name, node, child, output };
}

/** Every agent's view (member name to status); an agent that does not answer has an empty view. */
async function readViews(relay: HttpRelay, agents: readonly RunningAgent[]): Promise<Views> {
  const views: Views = new Map();
  await Promise.all(
    agents.map(async (agent) => {
      const url = `http://${agent.node.address}:${HTTP_PORT}/v1/members`;
      const members = await relay.getJson<{ name: string; status: string }[]>(url, 2000).catch(() => []);
      views.set(agent.name, new Map(members.map((member) => [member.name, member.status])));
    }),
  );
  return views;
}

function describe(views: Views): string {
  return [...views]
    .map(
      ([observer, view]) =>
        `${observer}: ${[...view].map(([name, status]) => `${name}=${status}`).join(' ')}`,
    )
    .join('\n');
}

/** Polls the views until `holds` is true; fails with every view and what it waited for at the deadline. */
async function pollUntil(
  relay: HttpRelay,
  agents: readonly RunningAgent[],
  options: { what: string; deadlineMs: number; holds: (views: Views) => boolean },
): Promise<number> {
  const startedAt = performance.now();
  let views: Views = new Map();
  while (performance.now() - startedAt < options.deadlineMs) {
    views = await readViews(relay, agents);
    if (options.holds(views)) return performance.now() - startedAt;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  const output = agents.map(
    (agent) => `${agent.name} (exit ${agent.child.exitCode}): ${agent.output.slice(-3).join(' | ')}`,
  );
  assert.fail(
    `timed out after ${options.deadlineMs} ms waiting for ${options.what}\n${describe(views)}\n${output.join('\n')}`,
  );
}

/** True when every observer holds every member (itself included) with the status `expected` gives. */
function everyView(
  views: Views,
  observers: readonly RunningAgent[],
  members: readonly RunningAgent[],
  status: string,
): boolean {
  return observers.every((observer) =>
    members.every((member) => views.get(observer.name)?.get(member.name) === status),
  );
}

test('six agents cut 3/3 mark the other side down, then heal by themselves', {
  timeout: 150_000,
}, async () => {
  await assertNetnsAvailable();
  assert.ok(existsSync(BUILT), `grapevine is not built (${BUILT} is missing): run \`npm run build\` first`);
  const network = await NetnsNetwork.create({ prefix: 'gvpt', nodeCount: AGENTS, subnet: '10.77.1' });
  const relay = network.startHttpRelay();
  try {
    const seed = network.nodes[0] as NetnsNode;
    const agents = network.nodes.map((node) => startAgent(network, node, node === seed ? undefined : seed));
    const sideA = agents.slice(0, AGENTS / 2);
    const sideB = agents.slice(AGENTS / 2);

    await pollUntil(relay, agents, {
      what: 'all six agents to see all six alive',
      deadlineMs: FORM_DEADLINE_MS,
      holds: (views) => everyView(views, agents, agents, 'alive'),
    });

    await network.cut(
      sideA.map((agent) => agent.node),
      sideB.map((agent) => agent.node),
    );
    const splitMs = await pollUntil(relay, agents, {
      what: 'each side to mark the other side down while its own side stays alive',
      deadlineMs: SPLIT_DEADLINE_MS,
      holds: (views) =>
        everyView(views, sideA, sideB, 'down') &&
        everyView(views, sideB, sideA, 'down') &&
        everyView(views, sideA, sideA, 'alive') &&
        everyView(views, sideB, sideB, 'alive'),
    });

    await network.heal();
    const healMs = await pollUntil(relay, agents, {
      what: 'all six agents to see all six alive after healing, with no command',
      deadlineMs: HEAL_DEADLINE_MS,
      holds: (views) => everyView(views, agents, agents, 'alive'),
    });
    console.log(`split seen in ${(splitMs / 1000).toFixed(1)} s, healed in ${(healMs / 1000).toFixed(1)} s`);
    for (const agent of agents) assert.equal(agent.child.exitCode, null, `${agent.name} exited early`);
  } finally {
    relay.close();
    await network.teardown();
  }
});
