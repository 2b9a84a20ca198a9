/**
 * Proves the security promises with real processes: in a cluster encrypted with one key, an agent with
 * the wrong key, another cluster name or no key at all cannot join (it exits 1 after its join times out)
 * and the cluster counts its frames as drops by reason; garbage sent to the gossip port over UDP and TCP is
 * counted and changes nothing, and the agent keeps serving.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { parseAddress } from '../../src/runtime/address.js';
import {
  AgentGroup,
  type AgentProcess,
  agentRequest,
  exitWithin,
  getJson,
  type MemberJson,
  members,
  waitFor,
} from '../support/agents.js';

const CLUSTER_KEY = randomBytes(32).toString('base64');
const OTHER_KEY = randomBytes(32).toString('base64');
const SECURE = ['--cluster', 'secure', '--key', CLUSTER_KEY];

const group = new AgentGroup();
let cluster: AgentProcess[] = [];

interface Info {
  drops: Record<string, number>;
  transport: Record<string, number>;
}

before(async () => {
  cluster = await group.cluster(3, SECURE, 'secure');
});

after(() => group.stopAll());

async function drops(agent: AgentProcess): Promise<Record<string, number>> {
  return (await getJson<Info>(agent, '/v1/info')).drops;
}

function summary(view: readonly MemberJson[]): string[] {
  return view.map((member) => `${member.name}/${member.generation}/${member.status}`).sort();
}

/** An outsider that tries to join the first member: it must give up (exit 1), unseen by the cluster. */
async function outsiderIsRefused(name: string, args: readonly string[], reason: string): Promise<void> {
  const seed = cluster[0]!;
  const before = (await drops(seed))[reason] ?? 0;
  const outsider = await group.spawn(name, [
    ...args,
    '--join',
    seed.gossipAddress,
    '--join-timeout-ms',
    '1500',
  ]);
  const exit = await exitWithin(outsider);
  assert.equal(exit.code, 1, `${name} exits 1 when it cannot join`);
  assert.ok(
    outsider.output.some((line) => line.includes('could not join the cluster')),
    `${name} says why it exits`,
  );
  const after = (await drops(seed))[reason] ?? 0;
  assert.ok(after > before, `${seed.name} counted ${name}'s frames as ${reason} (${before} -> ${after})`);
  for (const agent of cluster) {
    const names = (await members(agent)).map((member) => member.name);
    assert.ok(!names.includes(name), `${agent.name} never lists ${name}`);
  }
}

test('an agent with the wrong key cannot join; its frames count as authentication drops', async () => {
  await outsiderIsRefused('wrong-key', ['--cluster', 'secure', '--key', OTHER_KEY], 'authentication');
});

test('an agent of another cluster cannot join; its frames count as wrong-cluster drops', async () => {
  await outsiderIsRefused('other-cluster', ['--cluster', 'elsewhere', '--key', CLUSTER_KEY], 'wrong-cluster');
});

test('an agent without encryption cannot join an encrypted cluster', async () => {
  await outsiderIsRefused('plain', ['--cluster', 'secure'], 'missing-encryption');
});

test('garbage datagrams are each counted as one drop and change nothing', async () => {
  const target = cluster[1]!;
  const { host, port } = parseAddress(target.gossipAddress);
  const viewBefore = summary(await members(target));
  const total = (counts: Record<string, number>) =>
    Object.values(counts).reduce((sum, count) => sum + count, 0);
  const dropsBefore = total(await drops(target));
  const socket = createSocket('udp4');
  // Few and small enough to fit the receive buffer even if the agent is descheduled meanwhile.
  const sent = 100;
  try {
    for (let index = 0; index < sent; index++) {
      // Random bytes, and some that look like a frame: the magic, version 1, and then noise.
      const noise = randomBytes(1 + (index % 100));
      const datagram =
        index % 2 === 0 ? noise : Buffer.concat([Buffer.from([0x47, 0x56, 0x01, 0x01]), noise]);
      await new Promise<void>((resolve) => socket.send(datagram, port, host, () => resolve()));
    }
  } finally {
    socket.close();
  }
  await waitFor(`${target.name} counts ${sent} garbage datagrams`, async () => {
    return total(await drops(target)) - dropsBefore >= sent;
  });
  assert.equal(total(await drops(target)) - dropsBefore, sent, 'one drop per datagram, no more');
  assert.deepEqual(summary(await members(target)), viewBefore, 'the member list did not change');
  const health = await agentRequest(target.httpAddress, '/v1/health');
  assert.equal(health.status, 200);
});

test('garbage streams over TCP are counted and the agent keeps serving', async () => {
  const target = cluster[2]!;
  const { host, port } = parseAddress(target.gossipAddress);
  const counted = async () => {
    const info = await getJson<Info>(target, '/v1/info');
    const transport = info.transport;
    const streamProblems = (transport.inboundTooLarge ?? 0) + (transport.inboundIncomplete ?? 0);
    return streamProblems + Object.values(info.drops).reduce((sum, count) => sum + count, 0);
  };
  const before = await counted();
  const viewBefore = summary(await members(target));
  const streams = 5;
  for (let index = 0; index < streams; index++) {
    await new Promise<void>((resolve) => {
      const socket = connect(port, host, () => {
        // A length prefix and a body that do not make a frame: too large, too short, or noise.
        socket.end(randomBytes(64));
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
  }
  await waitFor(
    `${target.name} counts ${streams} garbage streams`,
    async () => (await counted()) - before >= streams,
  );
  assert.deepEqual(summary(await members(target)), viewBefore);
  const health = await agentRequest(target.httpAddress, '/v1/health');
  assert.equal(health.status, 200);
});

test('the cluster itself stayed whole through all of it', async () => {
  for (const agent of cluster) {
    const view = await members(agent);
    assert.deepEqual(
      view.map((member) => `${member.name}:${member.status}`).sort(),
      cluster.map((member) => `${member.name}:alive`).sort(),
    );
  }
});
