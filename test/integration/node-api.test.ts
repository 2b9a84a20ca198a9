/**
 * Proves the public Node API on real loopback sockets, in-process: nodes created with createNode converge
 * and share keys; listeners may call back into the node (events come after the step); watch and the
 * bounded event iterator deliver what they promise, with an overflow marker; a blocked event loop is fed
 * to the detector so nobody is accused; errors carry stable codes; a leave is seen as left.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import type { ClusterEvent } from '../../src/core/index.js';
import {
  createNode,
  GrapevineError,
  type GrapevineNode,
  type KeyUpdate,
} from '../../src/runtime/node-api.js';
import { waitFor } from '../support/agents.js';

const INTERVAL_MS = 100;
const created: GrapevineNode[] = [];
let a: GrapevineNode;
let b: GrapevineNode;
let c: GrapevineNode;

async function make(name: string, join: string[] = []): Promise<GrapevineNode> {
  const node = await createNode({
    name,
    bind: '127.0.0.1:0',
    join,
    gossip: { gossipIntervalMs: INTERVAL_MS },
  });
  created.push(node);
  return node;
}

function alive(node: GrapevineNode): number {
  return node.members({ status: 'alive' }).length;
}

before(async () => {
  a = await make('a');
  await a.start();
  b = await make('b', [a.address]);
  c = await make('c', [a.address]);
  await Promise.all([b.start(), c.start()]);
  await waitFor('three nodes converge', () => [a, b, c].every((node) => alive(node) === 3));
});

after(async () => {
  await Promise.all(created.map((node) => node.stop()));
});

function codeOf(error: unknown): string | undefined {
  return error instanceof GrapevineError ? error.code : undefined;
}

test('a key set on one node is read on the others, with its version', async () => {
  a.set('role', 'primary');
  await waitFor(
    'b and c read the key',
    () => b.get('a', 'role') === 'primary' && c.get('a', 'role') === 'primary',
  );
  assert.equal(c.keys('a')?.get('role')?.version, a.keys('a')?.get('role')?.version);
  assert.deepEqual(
    b.members({ key: 'role', value: 'primary' }).map((member) => member.name),
    ['a'],
  );
});

test('a listener may call back into the node: events arrive after the step that made them', async () => {
  const unsubscribe = b.on('key-updated', (event) => {
    if (event.owner === 'a' && event.key === 'ping') b.set('pong', event.value ?? '');
  });
  a.set('ping', '1');
  await waitFor('the echo comes back to a', () => a.get('b', 'pong') === '1');
  unsubscribe();
  assert.equal(b.stats().listenerErrors, 0);
});

test('watch reports existing keys first, then changes and deletes under its prefix only', async () => {
  c.set('config/mode', 'fast');
  await waitFor('a has c config', () => a.get('c', 'config/mode') === 'fast');
  const seen: KeyUpdate[] = [];
  const stop = a.watch('config/', (update) => seen.push(update), { initial: true });
  assert.deepEqual(
    seen.map((update) => [update.owner, update.key, update.value]),
    [['c', 'config/mode', 'fast']],
  );
  c.set('other/thing', 'x');
  c.delete('config/mode');
  await waitFor('the delete reaches a', () => seen.length === 2);
  stop();
  assert.equal(seen[1]!.key, 'config/mode');
  assert.equal(seen[1]!.value, null);
  assert.ok(seen.every((update) => update.key.startsWith('config/')));
});

test('an event iterator keeps its newest events and marks how many it dropped', async () => {
  const iterator = a.events({ bufferSize: 2, types: ['key-updated'] });
  for (let index = 1; index <= 5; index++) a.set('burst', String(index));
  const first = await iterator.next();
  assert.deepEqual(first.value, {
    type: 'events-dropped',
    atMs: (first.value as { atMs: number }).atMs,
    count: 3,
  });
  const values: (string | null)[] = [];
  for (let index = 0; index < 2; index++) values.push(((await iterator.next()).value as KeyUpdate).value);
  assert.deepEqual(values, ['4', '5']);
  await iterator.return?.();
  assert.equal((await iterator.next()).done, true);
  assert.ok(a.stats().iteratorEventsDropped >= 3);
});

test('a listener that throws is counted and does not disturb the node', async () => {
  const before = c.stats().listenerErrors;
  const unsubscribe = c.on('key-updated', () => {
    throw new Error('listener bug');
  });
  c.set('after-bug', 'yes');
  unsubscribe();
  assert.equal(c.stats().listenerErrors, before + 1);
  await waitFor('the key still spreads', () => a.get('c', 'after-bug') === 'yes');
});

test('a blocked event loop is reported as a stall, and nobody is accused for it', async () => {
  const accusations: ClusterEvent[] = [];
  const unsubscribe = [a, b, c].map((node) =>
    node.on('*', (event) => {
      if (event.type === 'member-suspect' || event.type === 'member-down') accusations.push(event);
    }),
  );
  const stallsBefore = a.stats().core.stallsCompensated;
  // Block every node of this process for three seconds: far past acceptablePauseMs at 100 ms rounds.
  const until = Date.now() + 3000;
  while (Date.now() < until) {
    // busy
  }
  await waitFor('the stall is compensated', () => a.stats().core.stallsCompensated > stallsBefore);
  await new Promise((resolve) => setTimeout(resolve, 10 * INTERVAL_MS));
  for (const stop of unsubscribe) stop();
  assert.deepEqual(accusations, []);
  assert.ok([a, b, c].every((node) => alive(node) === 3));
});

test('errors carry stable codes', async () => {
  assert.throws(
    () => a.set('', 'x'),
    (error) => codeOf(error) === 'KEY_INVALID',
  );
  assert.throws(
    () => a.set('big', 'x'.repeat(a.options.valueBytesMax + 1)),
    (error) => codeOf(error) === 'VALUE_TOO_LARGE',
  );
  await assert.rejects(
    createNode({ name: 'bad', bind: '127.0.0.1:0', gossip: { fanout: 0 } }),
    (error) =>
      codeOf(error) === 'OPTIONS_INVALID' &&
      (error as GrapevineError).issues.some((issue) => issue.path === 'gossip.fanout'),
  );
  await assert.rejects(
    createNode({ name: 'bad-seed', bind: '127.0.0.1:0', join: ['10.0.0.1:seventy'] }),
    (error) =>
      codeOf(error) === 'OPTIONS_INVALID' &&
      (error as GrapevineError).issues.some((issue) => issue.path === 'join[0]'),
  );
  const port = Number(a.address.split(':')[1]);
  await assert.rejects(
    createNode({ name: 'clash', bind: `127.0.0.1:${port}` }),
    (error) => codeOf(error) === 'BIND_FAILED',
  );
  const idle = await make('idle');
  await assert.rejects(idle.join([a.address]), (error) => codeOf(error) === 'NOT_STARTED');
  await idle.start();
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = (closed.address() as { port: number }).port;
  await new Promise((resolve) => closed.close(resolve));
  await assert.rejects(
    idle.join([`127.0.0.1:${closedPort}`], { timeoutMs: 300 }),
    (error) => codeOf(error) === 'JOIN_TIMEOUT',
  );
  await idle.stop();
});

test('a graceful leave is seen as left, and the node refuses commands afterwards', async () => {
  const events = b.events({ types: ['member-left'] });
  await c.leave({ timeoutMs: 1000 });
  assert.equal(c.phase, 'stopped');
  const left = (await events.next()).value as ClusterEvent;
  await events.return?.();
  assert.equal(left.type, 'member-left');
  assert.equal((left as { member: { name: string } }).member.name, 'c');
  await waitFor('a sees c left', () => a.member('c')?.status === 'left');
  assert.throws(
    () => c.set('x', 'y'),
    (error) => codeOf(error) === 'STOPPED',
  );
});

test('an iterator ends when its node stops', async () => {
  const iterator = b.events();
  const drained = (async () => {
    let count = 0;
    for await (const _event of iterator) count++;
    return count;
  })();
  await b.stop();
  assert.equal(typeof (await drained), 'number');
});
