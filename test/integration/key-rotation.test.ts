/**
 * Proves the rolling key rotation with real processes and the real CLI: three agents encrypted with key A
 * install B, make B primary, and remove A, one agent at a time, and stay converged throughout: no frame
 * fails authentication and no agent's verdict history records a member going down. Afterwards an agent
 * with only the old key cannot join, and one with only the new key can.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { generateKey } from '../../src/runtime/keyring.js';
import { keyFingerprint, type VerdictRecord } from '../../src/runtime/node-api.js';
import {
  AgentGroup,
  type AgentProcess,
  exitWithin,
  getJson,
  type MemberJson,
  members,
  runCli,
  waitFor,
} from '../support/agents.js';

const KEY_A = generateKey();
const KEY_B = generateKey();

const group = new AgentGroup();
let cluster: AgentProcess[] = [];

before(async () => {
  cluster = await group.cluster(3, ['--key', KEY_A, '--cluster', 'rotating'], 'rotating');
});

after(() => group.stopAll());

async function authenticationDrops(agent: AgentProcess): Promise<number> {
  const info = await getJson<{ drops: Record<string, number> }>(agent, '/v1/info');
  return info.drops.authentication ?? 0;
}

async function converged(size: number): Promise<boolean> {
  const views = await Promise.all(cluster.map(members));
  return views.every((view) => view.filter((member) => member.status === 'alive').length === size);
}

/** Every agent still counts every member among the living (a suspicion is allowed, a verdict is not). */
async function noneGone(size: number): Promise<boolean> {
  const views = await Promise.all(cluster.map(members));
  const living = (view: MemberJson[]) =>
    view.filter((member) => ['alive', 'suspect'].includes(member.status));
  return views.every((view) => living(view).length === size);
}

/** Heartbeat of every member as each agent last heard it, keyed "observer/member". */
async function heartbeats(): Promise<Map<string, number>> {
  const heard = new Map<string, number>();
  for (const agent of cluster) {
    for (const member of await getJson<{ name: string; heartbeat: number }[]>(agent, '/v1/members')) {
      heard.set(`${agent.name}/${member.name}`, member.heartbeat);
    }
  }
  return heard;
}

/** Runs `grapevine keys ...` against one agent and returns what it printed; fails on a nonzero exit. */
async function keys(agent: AgentProcess, args: readonly string[]): Promise<string> {
  const result = await runCli(['keys', ...args, '--http', agent.httpAddress]);
  assert.equal(result.code, 0, `keys ${args[0]} on ${agent.name}: ${result.stderr}`);
  return result.stdout;
}

test('install, use, remove one agent at a time: converged all along, no down verdict, no bad frame', async () => {
  const steps: [string, string, RegExp][] = [
    ['install', KEY_B, new RegExp(`^installed ${keyFingerprint(KEY_B)} \\(2 key\\(s\\) installed`)],
    ['use', KEY_B, new RegExp(`^primary is now ${keyFingerprint(KEY_B)} `)],
    ['remove', KEY_A, new RegExp(`^removed ${keyFingerprint(KEY_A)} \\(1 key\\(s\\) installed`)],
  ];
  for (const [operation, key, printed] of steps) {
    for (const agent of cluster) {
      assert.match(await keys(agent, [operation, key]), printed);
      // The agents now disagree on their keyrings: no one may lose sight of anyone.
      assert.ok(await noneGone(3), `every member still in every view after ${operation} on ${agent.name}`);
    }
  }
  // With the final keyrings, fresh heartbeats from every member must keep reaching every agent.
  const heard = await heartbeats();
  await waitFor('three more rounds of heartbeats reach every agent', async () => {
    const now = await heartbeats();
    return [...heard].every(([pair, heartbeat]) => (now.get(pair) ?? 0) >= heartbeat + 3);
  });
  assert.ok(await converged(3));
  for (const agent of cluster) {
    const listed = await keys(agent, ['list']);
    assert.match(listed, new RegExp(`^${keyFingerprint(KEY_B)} +primary$`, 'm'));
    assert.ok(!listed.includes(keyFingerprint(KEY_A)), 'the old key is gone');
    assert.ok(!listed.includes(KEY_B), 'keys are listed by fingerprint, never in full');
    assert.equal(await authenticationDrops(agent), 0, `${agent.name} refused no frame`);
    const history = await getJson<VerdictRecord[]>(agent, '/v1/verdicts');
    const downs = history.filter((record) => record.to === 'down');
    assert.deepEqual(downs, [], `${agent.name} saw no member go down`);
  }
});

test('after the rotation the old key is refused and the new one joins', async () => {
  const seed = cluster[0]!;
  const before = await authenticationDrops(seed);
  const stale = await group.spawn('stale', [
    '--cluster',
    'rotating',
    '--key',
    KEY_A,
    '--join',
    seed.gossipAddress,
    '--join-timeout-ms',
    '1500',
  ]);
  const fresh = await group.spawn('fresh', [
    '--cluster',
    'rotating',
    '--key',
    KEY_B,
    '--join',
    seed.gossipAddress,
  ]);
  assert.equal((await exitWithin(stale)).code, 1, 'the agent with the old key gives up');
  assert.ok((await authenticationDrops(seed)) > before, "the seed counted the old key's frames");
  cluster.push(fresh);
  await waitFor('the agent with the new key is in every view', () => converged(4));
  assert.ok(!(await members(seed)).some((member) => member.name === 'stale'));
});
