/**
 * The runner's counters by message type agree with what the core says it sent and received, type by type,
 * and the bytes by type add up to the bytes sent: the runner counts each type in a field of its own, and a
 * mixed-up case would move counts between types without changing the totals.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimCluster } from '../../src/sim/cluster.js';

test('runner counts by message type match the core counters of every host', () => {
  const cluster = new SimCluster({ nodes: 8, seed: 11 });
  cluster.startSettled();
  cluster.runFor(3000);
  cluster.set(2, 'colour', 'blue');
  cluster.runFor(5000);
  let acks = 0;
  for (const host of cluster.hosts) {
    const { stats } = host.runner;
    const counters = host.node.counters;
    const sent = stats.messagesSentByType;
    const received = stats.messagesReceivedByType;
    assert.deepEqual(
      sent,
      {
        syn: counters.synSent,
        'syn-ack': counters.synAckSent,
        ack: counters.ackSent,
        sync: counters.syncSent,
        heartbeat: counters.heartbeatsSent,
      },
      `${host.name} sent`,
    );
    // The settled start hands every node its member list as a decoded sync, past the runner's counters.
    assert.deepEqual(
      received,
      {
        syn: counters.synReceived,
        'syn-ack': counters.synAckReceived,
        ack: counters.ackReceived,
        sync: counters.syncReceived - 1,
        heartbeat: counters.heartbeatsReceived,
      },
      `${host.name} received`,
    );
    const bytesByType = Object.values(stats.bytesSentByType).reduce((sum, bytes) => sum + bytes, 0);
    assert.equal(bytesByType, stats.datagramBytesSent + stats.streamBytesSent, `${host.name} bytes`);
    assert.ok(stats.bytesSentByType.syn > stats.messagesSentByType.syn, 'a syn is more than a byte');
    acks += sent.ack;
  }
  assert.ok(acks > 0, 'the write made some exchange end with an ack');
});
