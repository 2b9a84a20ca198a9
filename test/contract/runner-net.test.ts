/**
 * Proves the runtime pieces work together for real: three production GossipNodes, each in a Runner over a
 * NetTransport on 127.0.0.1 with a RealScheduler, join through the first node and spread a key to one
 * another within a deadline, in plaintext and with a KeyringFrameCodec; a node of another cluster, with the
 * wrong key, or without encryption never joins, and its frames are counted in runner.stats.drops under the
 * right reason. It also proves the RealScheduler keeps one timer at a time and never holds a process open.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { GossipNode, resolveGossipOptions, SeededRandom } from '../../src/core/index.js';
import { type FrameCodec, PlainFrameCodec } from '../../src/runtime/frame-codec.js';
import { generateKey, Keyring, KeyringFrameCodec } from '../../src/runtime/keyring.js';
import { NetTransport } from '../../src/runtime/net-transport.js';
import { RealScheduler } from '../../src/runtime/real-scheduler.js';
import { Runner } from '../../src/runtime/runner.js';

interface LiveNode {
  readonly name: string;
  readonly address: string;
  readonly node: GossipNode;
  readonly runner: Runner;
}

let seed = 1;

async function startNode(
  t: TestContext,
  init: { name: string; codec: FrameCodec; seeds: readonly string[] },
): Promise<LiveNode> {
  const transport = await NetTransport.create({
    bindHost: '127.0.0.1',
    bindPort: 0,
    datagramBytesMax: 1400,
    probeTimeoutMs: 500,
    streamTimeoutMs: 2000,
  });
  const { options, issues } = resolveGossipOptions({
    gossipIntervalMs: 100,
    joinRetryIntervalMs: 200,
    seeds: [...init.seeds],
  });
  assert.deepEqual(issues, []);
  const node = new GossipNode({
    identity: { name: init.name, generation: Date.now(), address: transport.localAddress },
    options,
    random: new SeededRandom(seed++),
    frameOverheadBytes: init.codec.overheadBytes,
  });
  const runner = new Runner({ node, transport, scheduler: new RealScheduler(), codec: init.codec });
  t.after(async () => {
    runner.stop();
    await transport.close();
  });
  runner.start();
  return { name: init.name, address: transport.localAddress, node, runner };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(10);
  }
}

function aliveNames(live: LiveNode): string[] {
  return live.node
    .members()
    .filter((member) => member.status === 'alive')
    .map((member) => member.name)
    .sort();
}

/** Starts three nodes joining through the first, waits until all see all, and spreads one key. */
async function formCluster(t: TestContext, codecFor: () => FrameCodec): Promise<LiveNode[]> {
  const first = await startNode(t, { name: 'node-0', codec: codecFor(), seeds: [] });
  const nodes = [first];
  for (const name of ['node-1', 'node-2']) {
    nodes.push(await startNode(t, { name, codec: codecFor(), seeds: [first.address] }));
  }
  const names = nodes.map((live) => live.name).sort();
  await until(
    () => nodes.every((live) => aliveNames(live).join() === names.join()),
    'every node to see all three alive',
  );
  const writer = nodes[1]!;
  writer.runner.command({ kind: 'set', now: writer.runner.now, key: 'color', value: 'green' });
  await until(
    () => nodes.every((live) => live.node.keysOf('node-1')?.get('color')?.value === 'green'),
    'the key set on node-1 to reach every node',
  );
  return nodes;
}

/**
 * Starts an intruder that tries to join through node-0 and proves it never does: node-0 drops its frames
 * under `reason`, again on the intruder's retry, and no one learns of it.
 */
async function expectRefused(
  t: TestContext,
  init: { cluster: LiveNode[]; name: string; codec: FrameCodec; reason: string },
): Promise<void> {
  const first = init.cluster[0]!;
  const before = first.runner.stats.drops[init.reason] ?? 0;
  const intruder = await startNode(t, { name: init.name, codec: init.codec, seeds: [first.address] });
  // Two refusals: the first join and at least one retry (joinRetryIntervalMs) were both dropped.
  await until(
    () => (first.runner.stats.drops[init.reason] ?? 0) >= before + 2,
    `node-0 to drop the intruder's frames as ${init.reason} (drops: ${JSON.stringify(first.runner.stats.drops)})`,
  );
  for (const live of init.cluster) {
    assert.equal(live.node.member(init.name), undefined, `${live.name} learned of ${init.name}`);
  }
  assert.deepEqual(aliveNames(intruder), [init.name], 'the intruder learned of the cluster');
}

test('three nodes over UDP and TCP join, converge and spread a key; other clusters are kept out', async (t) => {
  const cluster = await formCluster(t, () => new PlainFrameCodec('alpha'));
  await expectRefused(t, {
    cluster,
    name: 'stranger',
    codec: new PlainFrameCodec('beta'),
    reason: 'wrong-cluster',
  });
  const sealed = new KeyringFrameCodec({
    clusterName: 'alpha',
    keyring: Keyring.fromBase64([generateKey()]),
  });
  await expectRefused(t, { cluster, name: 'sealed', codec: sealed, reason: 'unexpected-encryption' });
});

test('with a keyring the cluster forms and spreads a key; wrong key, cluster or plaintext are dropped', async (t) => {
  const key = generateKey();
  const cluster = await formCluster(
    t,
    () => new KeyringFrameCodec({ clusterName: 'alpha', keyring: Keyring.fromBase64([key]) }),
  );
  const wrongKey = new KeyringFrameCodec({
    clusterName: 'alpha',
    keyring: Keyring.fromBase64([generateKey()]),
  });
  await expectRefused(t, { cluster, name: 'wrong-key', codec: wrongKey, reason: 'authentication' });
  const wrongCluster = new KeyringFrameCodec({ clusterName: 'beta', keyring: Keyring.fromBase64([key]) });
  await expectRefused(t, { cluster, name: 'wrong-cluster', codec: wrongCluster, reason: 'wrong-cluster' });
  await expectRefused(t, {
    cluster,
    name: 'plain',
    codec: new PlainFrameCodec('alpha'),
    reason: 'missing-encryption',
  });
  // The refused traffic did not disturb the cluster: everyone is still alive and agrees.
  const checksums = new Set(cluster.map((live) => live.node.viewChecksum()));
  await until(
    () => new Set(cluster.map((live) => live.node.viewChecksum())).size === 1,
    `the three views to agree (checksums ${[...checksums].join(', ')})`,
  );
});

test('RealScheduler keeps one timer: a new wakeAt replaces the old, cancel stops it, Infinity never fires', async () => {
  const scheduler = new RealScheduler();
  const fired: string[] = [];
  const start = scheduler.now();
  scheduler.wakeAt(start + 40, () => fired.push('replaced'));
  scheduler.wakeAt(start + 20, () => fired.push(`second at ${scheduler.now() - start}`));
  await until(() => fired.length > 0, 'the wake-up', 2000);
  assert.equal(fired.length, 1);
  assert.match(fired[0]!, /^second at/);
  assert.ok(Number(fired[0]!.split(' ')[2]) >= 20, `woke early: ${fired[0]}`);
  scheduler.wakeAt(scheduler.now() + 10, () => fired.push('cancelled'));
  scheduler.cancel();
  scheduler.wakeAt(Number.POSITIVE_INFINITY, () => fired.push('never'));
  const witness = new RealScheduler();
  let witnessed = false;
  witness.wakeAt(witness.now() + 80, () => {
    witnessed = true;
  });
  await until(() => witnessed, 'a later timer on another scheduler', 2000);
  assert.deepEqual(fired.length, 1, `unexpected wake-ups: ${fired.join(', ')}`);
  assert.ok(scheduler.now() >= start, 'time went backwards');
});

test('RealScheduler does not keep a process alive by itself', async () => {
  const script =
    "import { RealScheduler } from './src/runtime/real-scheduler.ts';" +
    'const s = new RealScheduler(); s.wakeAt(s.now() + 60_000, () => { process.exitCode = 3; });';
  const started = Date.now();
  const exitCode = await new Promise<number | null>((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 10_000, cwd: fileURLToPath(new URL('../..', import.meta.url)) },
      () => resolve(child.exitCode),
    );
  });
  assert.equal(exitCode, 0);
  assert.ok(Date.now() - started < 8000, 'the child waited for the timer');
});
