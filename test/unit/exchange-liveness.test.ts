/**
 * Proves the liveness rules between cores passing real encoded messages by hand: a verdict is (heartbeat,
 * status), so a suspicion or a down verdict is adopted by others and yields to any newer heartbeat; a node
 * that hears itself accused raises its heartbeat above the accusation; leave becomes left everywhere; a down
 * member is reaped after downRetentionMs and stale gossip cannot resurrect it while a restart can; a
 * watcher's probe answered 'refused' is a down verdict at once ('reachable' and 'timeout' are not); and a
 * stall of the node itself does not make it accuse anyone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memberHashes } from '../../src/core/hash.js';
import { memberKey, type Output } from '../../src/core/index.js';
import { type MemberEntry, positionalPage } from '../../src/wire/index.js';
import { type CoreNetwork, entryOf, joinedCluster } from '../support/cores.js';

const PHI_VERDICT = { accuser: 'b', reason: 'phi', phiHundredths: 812, silenceMs: 9000 } as const;

/** Sends `news` to `to` inside a syn from `from`, as gossip would carry it. */
function gossip(network: CoreNetwork, from: string, to: string, news: MemberEntry[]): readonly Output[] {
  const sender = entryOf(
    network
      .node(from)
      .members()
      .find((member) => member.isSelf)!,
  );
  return network.step(to, {
    kind: 'datagram',
    from,
    message: { type: 'syn', digest: { sender, news, page: null } },
  });
}

function statusAt(network: CoreNetwork, address: string, name: string): string | undefined {
  return network.node(address).member(name)?.status;
}

function eventTypes(outputs: readonly Output[]): string[] {
  return outputs.flatMap((output) => (output.kind === 'event' ? [output.event.type] : []));
}

test('an adopted suspicion is refuted by a newer heartbeat', () => {
  const { network } = joinedCluster(['a', 'b', 'c']);
  network.runFor(3000);
  const c = network.node('a:1').member('c')!;
  const outputs = gossip(network, 'b:1', 'a:1', [entryOf(c, { status: 'suspect', verdict: PHI_VERDICT })]);
  assert.deepEqual(eventTypes(outputs), ['member-suspect'], 'same heartbeat, later status: adopted');
  assert.deepEqual(network.node('a:1').member('c')?.verdict, PHI_VERDICT, 'with its provenance');
  network.flush();
  network.runFor(3000);
  assert.equal(statusAt(network, 'a:1', 'c'), 'alive');
  const alive = network.eventsOfType('a:1', 'member-alive');
  assert.deepEqual(
    alive.map((event) => [event.member.name, event.previousStatus]),
    [['c', 'suspect']],
  );
  assert.ok(network.node('a:1').member('c')!.heartbeat > c.heartbeat);
  assert.equal(network.node('a:1').member('c')?.verdict, null);
});

test('a suspicion at an older heartbeat is not adopted', () => {
  const { network } = joinedCluster(['a', 'b', 'c']);
  network.runFor(3000);
  const c = network.node('a:1').member('c')!;
  const outputs = gossip(network, 'b:1', 'a:1', [
    entryOf(c, { heartbeat: c.heartbeat - 1, status: 'suspect', verdict: PHI_VERDICT }),
  ]);
  assert.deepEqual(eventTypes(outputs), []);
  assert.equal(statusAt(network, 'a:1', 'c'), 'alive');
});

test('a node that hears itself accused raises its heartbeat above the accusation, at once', () => {
  const { network } = joinedCluster(['a', 'b', 'c']);
  network.runFor(3000);
  const c = network.node('c:1');
  const self = c.member('c')!;
  for (const status of ['suspect', 'down'] as const) {
    const accused = c.member('c')!.heartbeat + 10;
    const refutations = c.counters.refutations;
    const outputs = gossip(network, 'b:1', 'c:1', [
      entryOf(self, { heartbeat: accused, status, verdict: PHI_VERDICT }),
    ]);
    assert.equal(c.member('c')?.heartbeat, accused + 1, `accused ${status} at ${accused}`);
    assert.equal(c.member('c')?.status, 'alive');
    assert.equal(c.counters.refutations, refutations + 1);
    const pushed = outputs.filter((output) => output.kind === 'send' && output.message.type === 'syn');
    assert.ok(pushed.length > 0, 'the refutation is pushed without waiting for a round');
    network.flush();
  }
  // A stale accusation (below the current heartbeat) needs no new heartbeat.
  const current = c.member('c')!.heartbeat;
  gossip(network, 'b:1', 'c:1', [
    entryOf(self, { heartbeat: current - 1, status: 'down', verdict: PHI_VERDICT }),
  ]);
  assert.equal(c.member('c')?.heartbeat, current);
  network.runFor(2000);
  for (const address of ['a:1', 'b:1']) assert.equal(statusAt(network, address, 'c'), 'alive', address);
});

test('a down verdict is adopted and pushed on by others, and yields to a newer heartbeat', () => {
  const { network } = joinedCluster(['a', 'b', 'c']);
  network.runFor(3000);
  const c = network.node('a:1').member('c')!;
  const urgent = network.node('a:1').counters.urgentPushes;
  const outputs = gossip(network, 'b:1', 'a:1', [entryOf(c, { status: 'down', verdict: PHI_VERDICT })]);
  assert.deepEqual(eventTypes(outputs), ['member-down']);
  assert.equal(statusAt(network, 'a:1', 'c'), 'down');
  assert.deepEqual(network.node('a:1').member('c')?.verdict, PHI_VERDICT);
  assert.equal(
    network.node('a:1').counters.urgentPushes,
    urgent + 1,
    'an adopted down verdict is pushed at once',
  );
  network.flush();
  network.runFor(5000);
  for (const address of ['a:1', 'b:1']) assert.equal(statusAt(network, address, 'c'), 'alive', address);
  assert.deepEqual(
    network.eventsOfType('a:1', 'member-alive').map((event) => [event.member.name, event.previousStatus]),
    [['c', 'down']],
  );
});

test('a node that leaves is left on the others, with its own verdict, and stays left', () => {
  const { network } = joinedCluster(['a', 'b', 'c']);
  network.runFor(3000);
  network.step('c:1', { kind: 'leave' });
  network.flush();
  const c = network.node('c:1');
  assert.equal(c.phase, 'left');
  assert.equal(c.nextWakeAt(), Number.POSITIVE_INFINITY, 'a left node stops its rounds');
  for (const address of ['a:1', 'b:1']) {
    const left = network.eventsOfType(address, 'member-left');
    assert.deepEqual(
      left.map((event) => [event.member.name, event.member.verdict?.reason, event.member.verdict?.accuser]),
      [['c', 'left', 'c']],
      address,
    );
  }
  network.runFor(20_000);
  for (const address of ['a:1', 'b:1']) assert.equal(statusAt(network, address, 'c'), 'left', address);
  assert.equal(network.eventsOfType('a:1', 'member-down').length, 0, 'leaving is not failing');
});

test('a down member is reaped after downRetentionMs; stale gossip cannot resurrect it, a restart can', () => {
  const { network } = joinedCluster(['a', 'b', 'c'], { options: { downRetentionMs: 10_000 } });
  network.runFor(3000);
  network.crash('c:1');
  // What a node cut off since the crash would still say about c: alive, at its last heartbeat.
  const ghost = entryOf(network.node('a:1').member('c')!, { status: 'alive' });
  network.runFor(8000);
  for (const address of ['a:1', 'b:1']) assert.equal(statusAt(network, address, 'c'), 'down', address);
  network.runFor(12_000);
  for (const address of ['a:1', 'b:1']) {
    assert.equal(network.node(address).member('c'), undefined, `${address} reaped c`);
    assert.deepEqual(
      network.eventsOfType(address, 'member-reaped').map((event) => event.member.name),
      ['c'],
    );
  }

  network.clearEvents();
  const ignored = network.node('a:1').counters.reapedIgnored;
  network.step('a:1', { kind: 'datagram', from: 'c:1', message: { type: 'heartbeat', sender: ghost } });
  gossip(network, 'b:1', 'a:1', [ghost]);
  network.flush();
  network.runFor(3000);
  assert.equal(network.node('a:1').member('c'), undefined, 'stale gossip did not bring c back');
  assert.ok(network.node('a:1').counters.reapedIgnored >= ignored + 2);
  assert.deepEqual(network.events('a:1'), []);

  network.add({ name: 'c', generation: 2, options: { seeds: ['a:1'] } });
  network.start('c:1');
  network.runFor(3000);
  for (const address of ['a:1', 'b:1']) {
    assert.equal(network.node(address).member('c')?.generation, 2, address);
    assert.equal(statusAt(network, address, 'c'), 'alive', address);
  }
});

test('a split longer than downRetentionMs heals: a reaped member heard alive again at a newer heartbeat returns', () => {
  for (const splitMs of [5_000, 30_000]) {
    const { network } = joinedCluster(['a', 'b', 'c', 'd'], {
      options: { downRetentionMs: 10_000, seeds: ['a:1', 'c:1'] },
    });
    network.runFor(5_000);
    const side = (address: string) => (address === 'a:1' || address === 'b:1' ? 0 : 1);
    network.blocked = (from, to) => side(from) !== side(to);
    network.runFor(splitMs);
    if (splitMs > 10_000)
      assert.equal(network.node('a:1').member('c'), undefined, 'a reaped c during the split');
    network.blocked = () => false;
    network.runFor(60_000);
    for (const address of ['a:1', 'b:1', 'c:1', 'd:1']) {
      const statuses = network
        .node(address)
        .members()
        .map((member) => `${member.name}:${member.status}`)
        .sort();
      assert.deepEqual(
        statuses,
        ['a:alive', 'b:alive', 'c:alive', 'd:alive'],
        `${address} after a ${splitMs} ms split`,
      );
    }
  }
});

/** Crashes c and runs until its watcher asks for a probe of it, which the test answers by hand. */
function crashUntilProbed(network: CoreNetwork): string {
  network.probeOutcome = () => null;
  network.runFor(10_000);
  network.crash('c:1');
  const deadline = network.now + 10_000;
  while (!network.probes.some((probe) => probe.to === 'c:1')) {
    assert.ok(network.advance(deadline), 'no probe of c within 10 s');
  }
  return network.probes.find((probe) => probe.to === 'c:1')!.from;
}

test('a probe answered refused makes the member down at once, with reason refused', () => {
  const { network } = joinedCluster(['a', 'b', 'c']);
  const watcher = crashUntilProbed(network);
  assert.notEqual(statusAt(network, watcher, 'c'), 'down', 'phi alone has not convicted c yet');
  const outputs = network.step(watcher, { kind: 'probe-result', address: 'c:1', outcome: 'refused' });
  assert.deepEqual(eventTypes(outputs), ['member-down']);
  const verdict = network.node(watcher).member('c')?.verdict;
  assert.equal(verdict?.reason, 'refused');
  assert.equal(verdict?.accuser, network.node(watcher).name);
  network.flush();
  for (const address of ['a:1', 'b:1']) assert.equal(statusAt(network, address, 'c'), 'down', address);
});

test('probes answered reachable or timeout convict nobody', () => {
  for (const outcome of ['reachable', 'timeout'] as const) {
    const { network } = joinedCluster(['a', 'b', 'c']);
    const watcher = crashUntilProbed(network);
    const before = statusAt(network, watcher, 'c');
    const outputs = network.step(watcher, { kind: 'probe-result', address: 'c:1', outcome });
    assert.deepEqual(eventTypes(outputs), [], outcome);
    assert.equal(statusAt(network, watcher, 'c'), before, outcome);
  }
});

test('a probe result for an address nobody probed is ignored', () => {
  const { network } = joinedCluster(['a', 'b', 'c']);
  network.runFor(3000);
  const outputs = network.step('a:1', { kind: 'probe-result', address: 'c:1', outcome: 'refused' });
  assert.deepEqual(outputs, []);
  assert.equal(statusAt(network, 'a:1', 'c'), 'alive');
});

/** Pauses a for five seconds while the others run on, then resumes it, reporting the stall or not. */
function stallNodeA(reportStall: boolean): CoreNetwork {
  const { network } = joinedCluster(['a', 'b', 'c']);
  network.runFor(10_000);
  network.clearEvents();
  network.pause('a:1');
  network.runFor(5000);
  if (reportStall) network.step('a:1', { kind: 'stall', durationMs: 5000 });
  // A late timer fires before the buffered datagrams are read, as in an event loop.
  network.step('a:1', { kind: 'tick' });
  network.resume('a:1');
  network.runFor(10_000);
  return network;
}

test('a stall of several seconds does not make the stalled node suspect anyone', () => {
  const network = stallNodeA(true);
  const verdicts = network
    .events('a:1')
    .filter((event) => event.type === 'member-suspect' || event.type === 'member-down');
  assert.deepEqual(verdicts, []);
  assert.ok(network.node('a:1').counters.stallsCompensated >= 1);
  // Control: without the stall input the same pause does look like silence from the others.
  const control = stallNodeA(false);
  assert.ok(control.eventsOfType('a:1', 'member-suspect').length > 0, 'the control should suspect someone');
});

test('a member first heard of as down or left is not learned; one first heard of alive is', () => {
  const { network } = joinedCluster(['a', 'b']);
  network.runFor(2000);
  const stranger = (name: string, status: MemberEntry['status']): MemberEntry => ({
    name,
    generation: 1,
    address: `${name}:1`,
    heartbeat: 4,
    status,
    maxVersion: 0,
    verdict: status === 'alive' ? null : { ...PHI_VERDICT, reason: status === 'left' ? 'left' : 'phi' },
  });
  gossip(network, 'b:1', 'a:1', [stranger('x', 'down'), stranger('y', 'left'), stranger('z', 'alive')]);
  network.step('a:1', {
    kind: 'stream',
    from: 'b:1',
    message: {
      type: 'sync',
      sender: entryOf(network.node('b:1').member('b')!),
      replyWanted: false,
      members: [stranger('w', 'down'), stranger('v', 'suspect')],
      deltas: [],
    },
  });
  const a = network.node('a:1');
  assert.equal(a.member('x'), undefined);
  assert.equal(a.member('y'), undefined);
  assert.equal(a.member('w'), undefined);
  assert.equal(a.member('z')?.status, 'alive');
  assert.equal(a.member('v')?.status, 'suspect');
});

test('urgent pushes are limited to urgentPushesPerSecondMax a second', () => {
  const { network } = joinedCluster(['a', 'b', 'c'], { options: { urgentPushesPerSecondMax: 4 } });
  network.runFor(3000);
  const c = network.node('c:1');
  const self = c.member('c')!;
  const before = c.counters.urgentPushes;
  for (let round = 1; round <= 20; round++) {
    const accused = c.member('c')!.heartbeat;
    gossip(network, 'b:1', 'c:1', [
      entryOf(self, { heartbeat: accused, status: 'suspect', verdict: PHI_VERDICT }),
    ]);
  }
  assert.ok(c.counters.refutations >= 20, 'every accusation was refuted');
  assert.equal(c.counters.urgentPushes - before, 4, 'but only four were pushed at once');
  network.flush();
});

/** The deltas of the syn-ack among `outputs` sent to `to`, by member name. */
function synAckDeltas(outputs: readonly Output[], to: string): Map<string, MemberEntry> {
  const deltas = new Map<string, MemberEntry>();
  for (const output of outputs) {
    if (output.kind !== 'send' || output.to !== to || output.message.type !== 'syn-ack') continue;
    for (const delta of output.message.deltas) deltas.set(delta.member.name, delta.member);
  }
  return deltas;
}

test('a peer that lists a member with a status ours supersedes is corrected in the reply, without state', () => {
  const { network } = joinedCluster(['a', 'b', 'c']);
  network.runFor(3000);
  network.flush();
  const c = network.node('a:1').member('c')!;
  // b still believes an old down verdict about c: a's reply carries c's newer alive entry.
  const staleDown = gossip(network, 'b:1', 'a:1', [
    entryOf(c, { heartbeat: c.heartbeat - 1, status: 'down', verdict: PHI_VERDICT }),
  ]);
  const corrected = synAckDeltas(staleDown, 'b:1').get('c');
  assert.ok(corrected !== undefined, 'the reply carries c');
  assert.equal(corrected.status, 'alive');
  assert.equal(corrected.heartbeat, c.heartbeat);
  // Listing c exactly as a has it asks for nothing.
  const same = gossip(network, 'b:1', 'a:1', [entryOf(c)]);
  assert.equal(synAckDeltas(same, 'b:1').has('c'), false);
  // The other way round: a has c down at this heartbeat, b lists it alive at the same one.
  gossip(network, 'b:1', 'a:1', [entryOf(c, { status: 'down', verdict: PHI_VERDICT })]);
  assert.equal(statusAt(network, 'a:1', 'c'), 'down');
  const staleAlive = gossip(network, 'b:1', 'a:1', [entryOf(c)]);
  assert.equal(synAckDeltas(staleAlive, 'b:1').get('c')?.status, 'down');
});

test('a watcher that has only just started watching probes a silent member as early as a seasoned one', () => {
  // A few rounds of history leave the prior's wide deviation in the statistics (phi would reach probePhi
  // only after almost 3 s of silence); the probe still comes within 2 s of silence, as after a long history.
  for (const history of [1000, 2000, 3000, 30_000]) {
    const { network } = joinedCluster(['a', 'b', 'c']);
    network.probeOutcome = () => null;
    network.runFor(history);
    network.crash('c:1');
    const deadline = network.now + 10_000;
    while (!network.probes.some((probe) => probe.to === 'c:1')) {
      assert.ok(network.advance(deadline), 'no probe of c within 10 s');
    }
    const watcher = network.probes.find((probe) => probe.to === 'c:1')!.from;
    const { silenceMs } = network.node(watcher).phiOf('c')!;
    assert.ok(
      silenceMs < 2000,
      `after ${history} ms of history: probed after ${Math.round(silenceMs)} ms of silence`,
    );
  }
});

test('a watched member heard again through a page after more than two rounds of silence keeps its statistics', () => {
  // The rule of #recordArrival (an interval of more than two rounds from a watched member is a stall or a
  // burst of loss, not a sample) holds also when the heartbeat comes back in a positional page.
  const { network } = joinedCluster(['a', 'b', 'c']);
  network.probeOutcome = () => null;
  network.runFor(20_000);
  const watcher = ['a:1', 'b:1'].find((address) => network.node(address).watchedMembers().includes('c'));
  assert.ok(watcher !== undefined, 'someone watches c');
  const relay = watcher === 'a:1' ? 'b:1' : 'a:1';
  network.pause('c:1');
  // Frames c sent before the pause may still arrive: wait until its silence has lasted 2.1 s.
  for (let tries = 0; tries < 10 && network.node(watcher).phiOf('c')!.silenceMs < 2100; tries++) {
    network.runFor(2100 - network.node(watcher).phiOf('c')!.silenceMs);
  }
  const before = network.node(watcher).phiOf('c')!;
  assert.ok(before.silenceMs > 2000, `c silent for ${before.silenceMs} ms`);
  assert.equal(network.node(watcher).member('c')?.status, 'alive', 'c is still alive at its watcher');
  // A page from the relay covering every member, with c one heartbeat further than the watcher has it.
  const members = network
    .node(watcher)
    .members()
    .sort((x, y) => memberKey(x.name) - memberKey(y.name) || (x.name < y.name ? -1 : 1));
  let hashA = 0;
  let hashB = 0;
  for (const member of members) {
    const hashes = memberHashes(member.name, member.generation);
    hashA ^= hashes.hashA;
    hashB ^= hashes.hashB;
  }
  const page = positionalPage({
    rangeStart: 0,
    rangeEnd: 2 ** 32,
    hashA: hashA >>> 0,
    hashB: hashB >>> 0,
    heartbeats: members.map((member) => member.heartbeat + (member.name === 'c' ? 1 : 0)),
    maxVersions: members.map((member) => member.maxVersion),
    statuses: members.map(() => 0),
  });
  const sender = entryOf(
    network
      .node(relay)
      .members()
      .find((member) => member.isSelf)!,
  );
  network.step(watcher, {
    kind: 'datagram',
    from: relay,
    message: { type: 'syn', digest: { sender, news: [], page } },
  });
  const after = network.node(watcher).phiOf('c')!;
  assert.ok(after.silenceMs < 10, 'the page counted as an arrival');
  assert.equal(after.meanMs, before.meanMs, 'the long interval was not folded into the mean');
  assert.equal(after.stdMs, before.stdMs, 'nor into the deviation');
});

test('members a node does not watch share its pooled statistics; a member it watches keeps its own', () => {
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  const { network } = joinedCluster(names);
  network.runFor(30_000);
  const a = network.node('a:1');
  const watched = a.watchedMembers();
  assert.equal(watched.length, 1, 'a watches one member (watchers: 1)');
  const others = names.filter((name) => name !== 'a' && !watched.includes(name));
  const pooled = a.phiOf(others[0]!)!;
  assert.ok(pooled.meanMs > 0 && pooled.stdMs > 0);
  for (const name of others) {
    const { meanMs, stdMs } = a.phiOf(name)!;
    assert.deepEqual({ meanMs, stdMs }, { meanMs: pooled.meanMs, stdMs: pooled.stdMs }, name);
  }
  // The watched member's heartbeats come directly, every round: its statistics are its own.
  const own = a.phiOf(watched[0]!)!;
  assert.notEqual(own.meanMs, pooled.meanMs);
  assert.ok(Math.abs(own.meanMs - 1000) < 100, `watched member's mean interval ${own.meanMs} ms`);
});

test('a reply that echoes our own page is trusted without rehashing only while our member list is unchanged', () => {
  for (const joinedMeanwhile of [false, true]) {
    // No eager pushes: the newcomer would otherwise make a send syns at once, whose pages replace ours.
    const { network } = joinedCluster(['a', 'b', 'c', 'd'], { options: { eagerFanout: 0 } });
    network.runFor(5000);
    for (const address of ['b:1', 'c:1', 'd:1']) network.pause(address);
    const a = network.node('a:1');
    network.now = a.nextWakeAt();
    const syn = network
      .step('a:1', { kind: 'tick' })
      .find((output) => output.kind === 'send' && output.message.type === 'syn');
    assert.ok(syn?.kind === 'send' && syn.message.type === 'syn');
    const page = syn.message.digest.page;
    assert.ok(
      page?.kind === 'positional' && page.rangeStart === 0 && page.rangeEnd === 2 ** 32,
      'one page of all',
    );
    if (joinedMeanwhile) {
      // A newcomer enters the page's range between our syn and the reply.
      const z: MemberEntry = {
        name: 'z',
        generation: 1,
        address: 'z:1',
        heartbeat: 1,
        status: 'alive',
        maxVersion: 0,
        verdict: null,
      };
      network.step('a:1', { kind: 'datagram', from: 'z:1', message: { type: 'heartbeat', sender: z } });
    }
    const before = { ...a.counters };
    const sender = entryOf(
      network
        .node('b:1')
        .members()
        .find((member) => member.isSelf)!,
    );
    network.step('a:1', {
      kind: 'datagram',
      from: 'b:1',
      message: { type: 'syn-ack', digest: { sender, news: [], page }, deltas: [] },
    });
    assert.equal(a.counters.pagesMatched - before.pagesMatched, joinedMeanwhile ? 0 : 1);
    assert.equal(a.counters.pagesMismatched - before.pagesMismatched, joinedMeanwhile ? 1 : 0);
  }
});
