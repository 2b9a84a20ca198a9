/**
 * Proves, with cores passing real encoded messages by hand, how membership and state travel: a join through
 * a seed over a `sync` stream (retried while the seed is silent), writes and deletes reaching every node,
 * a node cut off past the tombstone collection point being repaired by a reset, a restart superseding the
 * old incarnation's state, stale gossip about an older generation being ignored, and invalid commands being
 * refused with a typed error that changes nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandError, type CommandErrorCode } from '../../src/core/index.js';
import type { MemberEntry, Message } from '../../src/wire/index.js';
import { CoreNetwork, entryOf, joinedCluster } from '../support/cores.js';

function keysOf(network: CoreNetwork, address: string, owner: string): Record<string, string> {
  const keys = network.node(address).keysOf(owner);
  assert.ok(keys !== undefined, `${address} does not know ${owner}`);
  return Object.fromEntries([...keys].map(([key, { value }]) => [key, value]));
}

test('a node joins through a seed over a sync stream and both learn each other', () => {
  const network = new CoreNetwork();
  network.add({ name: 'a' });
  const b = network.add({ name: 'b', options: { seeds: ['a:1'] } });
  network.start('a:1');
  network.set('b:1', 'role', 'cache');
  network.start('b:1');
  network.flush();

  const [request, reply, ...rest] = network.sent;
  // A join is two messages; the seed then pushes its news of the newcomer at once (an eager push: here to
  // the only other member) instead of waiting for a round, and that is an ordinary exchange.
  assert.deepEqual(
    rest.map((sent) => `${sent.from}>${sent.to} ${sent.message.type}/${sent.channel}`),
    ['a:1>b:1 syn/datagram', 'b:1>a:1 syn-ack/datagram'],
  );
  assert.ok(request?.message.type === 'sync' && request.channel === 'stream');
  assert.equal(request.from, 'b:1');
  assert.equal(request.to, 'a:1');
  assert.equal(request.message.replyWanted, true);
  assert.ok(reply?.message.type === 'sync' && reply.channel === 'stream');
  assert.equal(reply.to, 'b:1');
  assert.equal(reply.message.replyWanted, false, 'the answer does not ask for another answer');
  assert.deepEqual(reply.message.members.map((member) => member.name).sort(), ['a', 'b']);

  assert.deepEqual(
    network
      .node('a:1')
      .members()
      .map((member) => member.name)
      .sort(),
    ['a', 'b'],
  );
  assert.deepEqual(
    b
      .members()
      .map((member) => member.name)
      .sort(),
    ['a', 'b'],
  );
  assert.deepEqual(
    network.eventsOfType('a:1', 'member-joined').map((event) => event.member.name),
    ['b'],
  );
  assert.deepEqual(
    network.eventsOfType('b:1', 'member-joined').map((event) => event.member.name),
    ['a'],
  );
  assert.deepEqual(keysOf(network, 'a:1', 'b'), { role: 'cache' }, 'the join carries the joiner state');
});

test('a join is retried every joinRetryIntervalMs while the seed does not answer', () => {
  const network = new CoreNetwork({ options: { joinRetryIntervalMs: 5000 } });
  network.add({ name: 'a' });
  network.add({ name: 'b', options: { seeds: ['a:1'] } });
  network.start('a:1');
  network.blocked = () => true;
  network.start('b:1');
  network.runFor(12_000);
  const attempts = network.sent.filter((record) => record.from === 'b:1' && record.message.type === 'sync');
  const times = attempts.map((record) => record.atMs);
  assert.ok(times.length >= 3, `join attempts at ${times}`);
  for (let i = 1; i < times.length; i++) {
    assert.ok(times[i]! - times[i - 1]! >= 5000, `attempts too close: ${times}`);
  }
  network.blocked = () => false;
  network.runFor(6000);
  assert.equal(network.node('b:1').member('a')?.status, 'alive');
  assert.equal(network.node('a:1').member('b')?.status, 'alive');
});

test('a key set on one node reaches the two others, with a key-updated event on each', () => {
  const { network } = joinedCluster(['a', 'b', 'c']);
  network.runFor(2000);
  network.set('a:1', 'color', 'blue');
  network.runFor(3000);
  for (const address of ['a:1', 'b:1', 'c:1']) {
    assert.deepEqual(keysOf(network, address, 'a'), { color: 'blue' }, address);
    assert.equal(network.node(address).member('a')?.maxVersion, 1, address);
  }
  for (const address of ['b:1', 'c:1']) {
    const updates = network.eventsOfType(address, 'key-updated');
    assert.deepEqual(
      updates.map(({ owner, key, value, version }) => ({ owner, key, value, version })),
      [{ owner: 'a', key: 'color', value: 'blue', version: 1 }],
    );
  }
  assert.ok(network.viewsAgree());
});

test('a write is pushed at once (eager push); with eagerFanout 0 it waits for the next round', () => {
  for (const eagerFanout of [3, 0]) {
    const { network } = joinedCluster(['a', 'b', 'c'], { options: { eagerFanout } });
    network.runFor(2000);
    network.set('a:1', 'color', 'blue');
    network.flush();
    const reached = ['b:1', 'c:1'].filter((address) => network.node(address).keysOf('a')?.has('color'));
    if (eagerFanout > 0) assert.deepEqual(reached, ['b:1', 'c:1'], 'without any time passing');
    else assert.deepEqual(reached, [], 'nothing moves before a round');
    network.runFor(3000);
    for (const address of ['b:1', 'c:1']) assert.equal(keysOf(network, address, 'a').color, 'blue');
  }
});

test('a delete travels as a tombstone: the key disappears everywhere and the version moves on', () => {
  const { network } = joinedCluster(['a', 'b', 'c']);
  network.set('a:1', 'color', 'blue');
  network.set('a:1', 'size', 'L');
  network.runFor(3000);
  network.delete('a:1', 'color');
  network.runFor(3000);
  for (const address of ['a:1', 'b:1', 'c:1']) {
    assert.deepEqual(keysOf(network, address, 'a'), { size: 'L' }, address);
    assert.equal(network.node(address).member('a')?.maxVersion, 3, address);
  }
  for (const address of ['b:1', 'c:1']) {
    const deletion = network.eventsOfType(address, 'key-updated').filter((event) => event.value === null);
    assert.deepEqual(
      deletion.map(({ key, version }) => ({ key, version })),
      [{ key: 'color', version: 3 }],
    );
  }
  assert.ok(network.viewsAgree());
});

test('a node cut off past the tombstone collection point is repaired by a reset', () => {
  const { network } = joinedCluster(['a', 'b', 'c'], { options: { tombstoneGraceMs: 10_000 } });
  network.set('a:1', 'k1', 'v1');
  network.set('a:1', 'k2', 'v2');
  network.runFor(3000);
  assert.deepEqual(keysOf(network, 'c:1', 'a'), { k1: 'v1', k2: 'v2' });

  network.blocked = (from, to) => from === 'c:1' || to === 'c:1';
  network.delete('a:1', 'k1');
  network.set('a:1', 'k3', 'v3');
  // Long enough for a (and b) to collect the tombstone of k1 (version 3) while c still holds version 2.
  network.runFor(20_000);
  assert.equal(network.node('a:1').counters.tombstonesCollected, 1);
  assert.equal(
    network.node('b:1').counters.tombstonesCollected,
    1,
    'b collects the tombstone it received in a delta, too',
  );
  assert.equal(network.node('c:1').member('a')?.maxVersion, 2);

  network.blocked = () => false;
  network.runUntilAgreed(60_000);
  const c = network.node('c:1');
  assert.ok(c.counters.resetsApplied >= 1, 'c was behind the collection point: only a reset repairs it');
  assert.equal(network.node('b:1').counters.resetsApplied, 0, 'b was never behind');
  assert.deepEqual(keysOf(network, 'c:1', 'a'), { k2: 'v2', k3: 'v3' });
  assert.equal(c.member('a')?.maxVersion, 4);
  const dropped = network.eventsOfType('c:1', 'key-updated').filter((event) => event.key === 'k1');
  assert.deepEqual(
    dropped.map((event) => event.value),
    ['v1', null],
    'the key the reset dropped is reported deleted',
  );
});

test('a restart (higher generation) supersedes the old incarnation and its state', () => {
  const { network } = joinedCluster(['a', 'b', 'c']);
  network.set('b:1', 'old', 'x');
  network.runFor(3000);
  assert.deepEqual(keysOf(network, 'c:1', 'b'), { old: 'x' });

  network.crash('b:1');
  network.runFor(500);
  network.add({ name: 'b', generation: 2, options: { seeds: ['a:1'] } });
  network.start('b:1');
  network.runFor(3000);
  for (const address of ['a:1', 'c:1']) {
    const restarts = network.eventsOfType(address, 'member-restarted');
    assert.deepEqual(
      restarts.map((event) => [event.member.name, event.member.generation, event.previousGeneration]),
      [['b', 2, 1]],
      address,
    );
    assert.deepEqual(keysOf(network, address, 'b'), {}, `${address} forgot the old incarnation state`);
  }
  network.set('b:1', 'new', 'y');
  network.runFor(3000);
  for (const address of ['a:1', 'c:1']) assert.deepEqual(keysOf(network, address, 'b'), { new: 'y' });
  assert.ok(network.viewsAgree());
});

test('stale gossip about an older generation is ignored', () => {
  const { network } = joinedCluster(['a', 'b', 'c']);
  network.runFor(2000);
  network.crash('b:1');
  network.add({ name: 'b', generation: 2, options: { seeds: ['a:1'] } });
  network.start('b:1');
  network.set('b:1', 'k', 'new');
  network.runFor(3000);
  const a = network.node('a:1');
  const before = a.member('b')!;
  assert.equal(before.generation, 2);
  network.clearEvents();

  const ghost: MemberEntry = {
    name: 'b',
    generation: 1,
    address: 'b:1',
    heartbeat: 1_000_000,
    status: 'alive',
    maxVersion: 50,
    verdict: null,
  };
  network.step('a:1', { kind: 'datagram', from: 'b:1', message: { type: 'heartbeat', sender: ghost } });
  network.step('a:1', {
    kind: 'datagram',
    from: 'c:1',
    message: {
      type: 'ack',
      deltas: [
        {
          member: ghost,
          reset: true,
          fromVersion: 0,
          gcVersion: 0,
          entries: [{ key: 'k', value: 'old', version: 50 }],
        },
      ],
    },
  });
  network.step('a:1', {
    kind: 'datagram',
    from: 'c:1',
    message: { type: 'sync', sender: ghost, replyWanted: false, members: [ghost], deltas: [] },
  });
  network.flush();
  const after = a.member('b')!;
  assert.equal(after.generation, 2);
  assert.ok(after.heartbeat < 1_000_000, 'the old incarnation heartbeat was not taken');
  assert.equal(after.maxVersion, before.maxVersion);
  assert.deepEqual(keysOf(network, 'a:1', 'b'), { k: 'new' });
  assert.deepEqual(
    network.events('a:1').map((event) => event.type),
    [],
    'no event about the ghost',
  );
});

test('a reset no newer than the view held is ignored, so a late duplicate cannot roll state back', () => {
  const { network } = joinedCluster(['a', 'b']);
  network.set('a:1', 'k1', 'v1');
  network.set('a:1', 'k2', 'v2');
  network.runFor(2000);
  const b = network.node('b:1');
  const owner = b.member('a')!;
  assert.equal(owner.maxVersion, 2);
  for (const maxVersion of [1, 2]) {
    const stale = {
      member: entryOf(owner, { maxVersion }),
      reset: true,
      fromVersion: 0,
      gcVersion: 0,
      entries: [{ key: 'k1', value: 'v1', version: 1 }],
    };
    network.step('b:1', { kind: 'datagram', from: 'a:1', message: { type: 'ack', deltas: [stale] } });
    assert.deepEqual(keysOf(network, 'b:1', 'a'), { k1: 'v1', k2: 'v2' }, `reset at version ${maxVersion}`);
    assert.equal(b.member('a')?.maxVersion, 2);
  }
  assert.equal(b.counters.resetsApplied, 0);
});

test('a delta that starts beyond the version held is not applied: it would leave a gap', () => {
  const { network } = joinedCluster(['a', 'b']);
  network.set('a:1', 'k1', 'v1');
  network.runFor(2000);
  const b = network.node('b:1');
  const owner = b.member('a')!;
  const gaps = b.counters.deltaGaps;
  const ahead = {
    member: entryOf(owner, { maxVersion: 5 }),
    reset: false,
    fromVersion: 3,
    gcVersion: 0,
    entries: [
      { key: 'k4', value: 'v4', version: 4 },
      { key: 'k5', value: 'v5', version: 5 },
    ],
  };
  network.step('b:1', { kind: 'datagram', from: 'a:1', message: { type: 'ack', deltas: [ahead] } });
  assert.deepEqual(keysOf(network, 'b:1', 'a'), { k1: 'v1' });
  assert.equal(b.member('a')?.maxVersion, 1, 'maxVersion still summarises a gap-free prefix');
  assert.equal(b.counters.deltaGaps, gaps + 1);
});

test('invalid commands raise CommandError with the right code and change nothing', () => {
  const { network } = joinedCluster(['a', 'b'], { options: { keysPerNodeMax: 3 } });
  network.set('a:1', 'kept', 'v');
  network.runFor(2000);
  const a = network.node('a:1');
  const cases: [string, () => unknown, CommandErrorCode][] = [
    ['empty key', () => network.set('a:1', '', 'v'), 'KEY_INVALID'],
    ['key of 129 bytes', () => network.set('a:1', 'k'.repeat(129), 'v'), 'KEY_INVALID'],
    ['key of 65 two-byte characters', () => network.set('a:1', 'é'.repeat(65), 'v'), 'KEY_INVALID'],
    ['delete of an empty key', () => network.delete('a:1', ''), 'KEY_INVALID'],
    ['value of 1001 bytes', () => network.set('a:1', 'k', 'v'.repeat(1001)), 'VALUE_TOO_LARGE'],
    ['value of 251 four-byte characters', () => network.set('a:1', 'k', '😀'.repeat(251)), 'VALUE_TOO_LARGE'],
  ];
  const checksum = a.viewChecksum();
  for (const [label, command, code] of cases) {
    assert.throws(command, (error) => error instanceof CommandError && error.code === code, label);
    assert.equal(a.viewChecksum(), checksum, `${label} changed the view`);
    assert.equal(a.member('a')?.maxVersion, 1, label);
  }
  // The limits themselves are allowed.
  network.set('a:1', 'k'.repeat(128), 'v'.repeat(1000));
  network.set('a:1', 'é'.repeat(64), '😀'.repeat(250));
  assert.equal(a.member('a')?.maxVersion, 3);

  // Three keys held (tombstones count): a fourth key is refused, overwriting and deleting are not.
  assert.throws(
    () => network.set('a:1', 'fourth', 'v'),
    (error) => error instanceof CommandError && error.code === 'KEYS_FULL',
  );
  network.delete('a:1', 'kept');
  assert.throws(
    () => network.set('a:1', 'fourth', 'v'),
    (error) => error instanceof CommandError && error.code === 'KEYS_FULL',
    'a tombstone still holds its place',
  );
  network.set('a:1', 'kept', 'back');
  assert.equal(a.member('a')?.maxVersion, 5);
  network.runFor(3000);
  assert.deepEqual(Object.keys(keysOf(network, 'b:1', 'a')).length, 3, 'the accepted writes travelled');
});

test('commands need a running node: join before start and writes after leave are refused', () => {
  const network = new CoreNetwork();
  network.add({ name: 'a' });
  assert.throws(
    () => network.step('a:1', { kind: 'join', addresses: ['b:1'] }),
    (error) => error instanceof CommandError && error.code === 'NOT_RUNNING',
  );
  network.start('a:1');
  network.step('a:1', { kind: 'leave' });
  const checksum = network.node('a:1').viewChecksum();
  for (const command of [
    () => network.set('a:1', 'k', 'v'),
    () => network.delete('a:1', 'k'),
    () => network.step('a:1', { kind: 'join', addresses: ['b:1'] }),
  ]) {
    assert.throws(command, (error) => error instanceof CommandError && error.code === 'NOT_RUNNING');
  }
  assert.equal(network.node('a:1').viewChecksum(), checksum);
});

test('every message carries the sender as it is when sent: a write between two messages of one round shows', () => {
  const { network } = joinedCluster(['a', 'b', 'c']);
  network.runFor(3000);
  const senderOf = (message: Message): MemberEntry | undefined =>
    message.type === 'syn' || message.type === 'syn-ack' ? message.digest.sender : undefined;
  const before = network.sent
    .filter((record) => record.from === 'a:1')
    .map((record) => senderOf(record.message));
  const last = before.findLast((sender) => sender !== undefined);
  assert.ok(last !== undefined, 'a sent no digest before the write');
  assert.equal(last.maxVersion, 0);
  // The write pushes syns at once, in the same round: the heartbeat has not moved, the version has.
  const outputs = network.set('a:1', 'k', 'v');
  const after = outputs.flatMap((output) => (output.kind === 'send' ? [senderOf(output.message)] : []));
  assert.ok(after.length > 0, 'the write pushed nothing');
  for (const sender of after) {
    assert.equal(sender?.heartbeat, last.heartbeat);
    assert.equal(sender?.maxVersion, 1);
  }
  // What was sent before is left as it was.
  assert.equal(last.maxVersion, 0);
});
