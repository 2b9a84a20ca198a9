/**
 * Proves the core's bounds between cores passing real encoded messages by hand: every datagram fits the
 * sender's payload budget (the network helper asserts it on every send) while pages rotate through a member
 * list larger than a datagram and state larger than a datagram moves; members beyond membersMax are refused
 * and counted; and two members whose names collide on the 32-bit key are kept apart everywhere.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreNetwork, FRAME_OVERHEAD_BYTES, findKeyCollision, joinedCluster } from '../support/cores.js';

function names(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `node-${index}`);
}

/** A cluster of `count` cores that join through the first, started together. */
function seededCluster(count: number, options: Readonly<Record<string, unknown>>): CoreNetwork {
  const network = new CoreNetwork({ options: { ...options, seeds: ['node-0:1'] } });
  for (const name of names(count)) network.add({ name });
  network.start(...names(count).map((name) => `${name}:1`));
  return network;
}

test('with the smallest datagram, 40 members and bulky state, every datagram fits and views agree', () => {
  const network = seededCluster(40, { datagramBytesMax: 512, valueBytesMax: 100 });
  network.runFor(5000);
  for (const name of names(10)) {
    for (let index = 0; index < 3; index++) {
      network.set(`${name}:1`, `key-${index}-${'k'.repeat(100)}`, 'v'.repeat(100));
    }
  }
  network.runUntilAgreed(60_000);
  network.runFor(20_000);
  const budget = 512 - FRAME_OVERHEAD_BYTES;
  assert.ok(network.stats.largestDatagramBytes <= budget);
  assert.ok(network.stats.largestDatagramBytes > budget * 0.8, 'datagrams were filled close to the budget');
  for (const node of network.nodes.values()) {
    assert.equal(node.payloadBudgetBytes, budget);
    assert.equal(node.memberCount, 40, node.name);
    assert.equal(node.keysOf('node-9')?.size, 3, node.name);
  }
  assert.ok(network.viewsAgree());
  const matched = [...network.nodes.values()].reduce((sum, node) => sum + node.counters.pagesMatched, 0);
  assert.ok(matched > 0, 'positional pages matched');
});

test('keys and values at their maximum sizes travel within the default datagram budget', () => {
  const { network } = joinedCluster(['a', 'b', 'c']);
  const key = 'k'.repeat(127);
  for (let index = 0; index < 40; index++)
    network.set('a:1', `${key}${index % 10}`, `${index}`.padEnd(1000, 'v'));
  network.runUntilAgreed(30_000);
  for (let index = 0; index < 10; index++) network.set('b:1', `${key}${index}`, '😀'.repeat(250));
  network.runUntilAgreed(30_000);
  assert.ok(network.stats.largestDatagramBytes <= network.node('a:1').payloadBudgetBytes);
  for (const address of ['b:1', 'c:1']) {
    const keys = network.node(address).keysOf('a')!;
    assert.equal(keys.size, 10);
    assert.equal(keys.get(`${key}9`)?.value, '39'.padEnd(1000, 'v'));
  }
  assert.equal(network.node('c:1').keysOf('b')?.size, 10);
});

test('a newcomer receives a large state over streams, never in an oversized datagram', () => {
  const { network } = joinedCluster(['a', 'b']);
  for (let index = 0; index < 60; index++) network.set('a:1', `key-${index}`, 'x'.repeat(1000));
  network.runUntilAgreed(30_000);
  network.add({ name: 'c', options: { seeds: ['b:1'] } });
  network.start('c:1');
  network.runUntilAgreed(30_000);
  assert.equal(network.node('c:1').keysOf('a')?.size, 60);
  const streamed = network.sent.filter((record) => record.channel === 'stream' && record.to === 'c:1');
  assert.ok(
    streamed.some((record) => record.bytes > 60_000),
    'the full state came over a stream',
  );
  // Then many changes at once: more than catchUpBytesMin, so they travel by datagram prefixes or a stream.
  for (let index = 0; index < 30; index++) network.set('a:1', `key-${index}`, 'y'.repeat(1000));
  network.runUntilAgreed(30_000);
  for (const address of ['b:1', 'c:1']) {
    assert.equal(network.node(address).keysOf('a')?.get('key-29')?.value, 'y'.repeat(1000), address);
  }
});

test('members beyond membersMax are refused and counted, and the node keeps working', () => {
  const network = seededCluster(5, {});
  network.runFor(3000);
  network.add({ name: 'small', options: { membersMax: 3, seeds: ['node-0:1'] } });
  network.start('small:1');
  network.runFor(5000);
  const small = network.node('small:1');
  assert.equal(small.memberCount, 3);
  assert.ok(small.counters.membersRefused > 0);
  const known = small.members().filter((member) => !member.isSelf);
  assert.equal(known.length, 2);
  const peer = known[0]!.address;
  network.set(peer, 'hello', 'world');
  network.runFor(3000);
  assert.equal(
    small.keysOf(known[0]!.name)?.get('hello')?.value,
    'world',
    'gossip with known members goes on',
  );
  for (const address of names(5).map((name) => `${name}:1`)) {
    assert.equal(network.node(address).memberCount, 6, `${address} knows everyone, the small node included`);
  }
});

test('two members whose names share a 32-bit key are kept apart everywhere', () => {
  const [first, second] = findKeyCollision();
  const { network, addresses } = joinedCluster([first, 'a', second, 'b']);
  network.set(`${first}:1`, 'who', 'first');
  network.set(`${second}:1`, 'who', 'second');
  network.runFor(20_000);
  assert.ok(network.viewsAgree());
  for (const address of addresses) {
    const node = network.node(address);
    assert.equal(node.memberCount, 4, address);
    assert.equal(node.keysOf(first)?.get('who')?.value, 'first', address);
    assert.equal(node.keysOf(second)?.get('who')?.value, 'second', address);
    for (const name of [first, second]) {
      // Heartbeats merged position by position land on the right member: each is close to the owner's own.
      const own = network.node(`${name}:1`).member(name)!.heartbeat;
      const seen = node.member(name)!.heartbeat;
      assert.ok(own - seen <= 2 && seen <= own, `${address} sees ${name} at ${seen}, it is at ${own}`);
    }
    assert.deepEqual(network.eventsOfType(address, 'member-suspect'), [], address);
  }
  const matched = addresses.reduce((sum, address) => sum + network.node(address).counters.pagesMatched, 0);
  assert.ok(matched > 0, 'positional pages covering the colliding pair matched');
});
