/**
 * Proves the agent's operating contract with real processes: an invalid configuration exits 2 listing
 * every problem; file, environment and flags combine; retry-join waits for a seed that starts late and gives
 * up after its maximum; a closed stdin (the supervisor is gone) makes it leave and exit 0; a data directory
 * keeps generations increasing; and the client commands (members, monitor, kv watch, keygen, verdicts, keys)
 * behave as users script them, including a clear error when no agent answers: `verdicts` explains why a
 * killed agent was declared down, and `keys` on an agent started without keys says it has no keyring.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  AgentGroup,
  agentRequest,
  exitWithin,
  GRAPEVINE_BIN,
  getJson,
  memberView,
  runCli,
  waitFor,
} from '../support/agents.js';

const group = new AgentGroup();
const directory = mkdtempSync(join(tmpdir(), 'grapevine-agent-test-'));

after(async () => {
  await group.stopAll();
  rmSync(directory, { recursive: true, force: true });
});

/** A loopback port nobody listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('an invalid configuration exits 2 and lists every problem, with where each came from', async () => {
  const file = join(directory, 'bad.json');
  writeFileSync(file, JSON.stringify({ gossip: { fanout: 40 }, colour: 'blue' }));
  const result = await runCli(['agent', '--config', file, '--bind', 'nowhere', '--log-level', 'chatty'], {
    env: { GRAPEVINE_GOSSIP_INTERVAL_MS: 'soon' },
  });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /invalid configuration \(5 problems\)/);
  for (const expected of [
    /gossip\.fanout \(file .*bad\.json\)/,
    /colour \(file .*bad\.json\): is not a known option/,
    /bind \(--bind\)/,
    /logLevel \(--log-level\)/,
    /gossip\.gossipIntervalMs \(\$GRAPEVINE_GOSSIP_INTERVAL_MS\)/,
  ]) {
    assert.match(result.stderr, expected);
  }
});

test('the file, the environment and flags combine: flags over environment over file', async () => {
  const file = join(directory, 'good.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'from-file',
      cluster: 'file',
      joinTimeoutMs: 1111,
      leaveTimeoutMs: 2222,
      gossip: { fanout: 2 },
    }),
  );
  const agent = await group.spawn('from-flag', ['--config', file], {
    GRAPEVINE_CLUSTER: 'from-env',
    GRAPEVINE_LEAVE_TIMEOUT_MS: '3333',
    GRAPEVINE_NAME: 'from-env',
  });
  const info = await getJson<{
    name: string;
    cluster: string;
    config: { leaveTimeoutMs: number; joinTimeoutMs: number; gossip: { fanout: number } };
  }>(agent, '/v1/info');
  assert.equal(info.name, 'from-flag', 'the --name flag beats the environment and the file');
  assert.equal(info.cluster, 'from-env', 'the environment beats the file');
  assert.equal(info.config.leaveTimeoutMs, 3333);
  assert.equal(info.config.joinTimeoutMs, 1111, 'the file beats the default');
  assert.equal(info.config.gossip.fanout, 2, 'nested protocol options come from the file');
  await agent.kill('SIGKILL');
});

test('retry-join keeps trying until a seed that starts late answers', async () => {
  const port = await freePort();
  const joiner = await group.spawn('late-joiner', [
    '--join',
    `127.0.0.1:${port}`,
    '--retry-join',
    '--retry-join-interval-ms',
    '200',
    '--join-timeout-ms',
    '300',
  ]);
  await waitFor('a failed attempt is logged', () =>
    joiner.output.some((line) => line.includes('join failed; retrying')),
  );
  const seed = await group.spawn('late-seed', ['--bind', `127.0.0.1:${port}`]);
  await waitFor(
    'the joiner sees the seed alive',
    async () => (await memberView(joiner, seed.name))?.status === 'alive',
  );
  await waitFor('the join is logged', () =>
    joiner.output.some((line) => line.includes('joined the cluster')),
  );
  assert.equal(joiner.exit, null, 'the joiner is still running');
});

test('retry-join gives up after --retry-join-max attempts and exits 1', async () => {
  const port = await freePort();
  const agent = await group.spawn('gives-up', [
    '--join',
    `127.0.0.1:${port}`,
    '--retry-join',
    '--retry-join-max',
    '2',
    '--retry-join-interval-ms',
    '100',
    '--join-timeout-ms',
    '200',
  ]);
  const exit = await exitWithin(agent);
  assert.equal(exit.code, 1);
  const attempts = agent.output.filter((line) => line.includes('"attempt"'));
  assert.ok(attempts.some((line) => line.includes('"attempt":2') && line.includes('could not join')));
  assert.ok(!attempts.some((line) => line.includes('"attempt":3')));
});

test('when its stdin closes, an agent leaves gracefully and exits 0', async () => {
  const watcher = await group.spawn('watcher');
  const orphan = await group.spawn('orphan', ['--join', watcher.gossipAddress]);
  await waitFor(
    'the watcher sees the orphan',
    async () => (await memberView(watcher, 'orphan'))?.status === 'alive',
  );
  orphan.child.stdin?.end();
  const exit = await exitWithin(orphan);
  assert.equal(exit.code, 0);
  assert.ok(orphan.output.some((line) => line.includes('standard input closed')));
  await waitFor(
    'the watcher sees the orphan left',
    async () => (await memberView(watcher, 'orphan'))?.status === 'left',
  );
});

test('with a data directory, the generation is above the one persisted, whatever the clock says', async () => {
  const dataDir = join(directory, 'data');
  const future = Date.now() + 86_400_000;
  const first = await group.spawn('persistent', ['--data-dir', dataDir]);
  assert.ok(first.generation <= Date.now(), 'a fresh directory gives the start time');
  await first.kill('SIGKILL');
  // Pretend an earlier incarnation ran with a clock a day ahead: a restart must still supersede it.
  writeFileSync(join(dataDir, 'generation.json'), JSON.stringify({ generation: future }));
  const second = await group.spawn('persistent', ['--data-dir', dataDir]);
  assert.equal(second.generation, future + 1);
  await second.kill('SIGKILL');
});

test('monitor and kv watch stream events until interrupted, then exit 0', async () => {
  const agent = await group.spawn('streamer');
  const start = (args: string[]) => {
    const child = spawn(process.execPath, [GRAPEVINE_BIN, ...args, '--http', agent.httpAddress], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited, output: () => output };
  };
  const monitor = start(['monitor']);
  const watch = start(['kv', 'watch', 'app/']);
  try {
    // Each stream only sees changes made after it subscribed: keep changing until the monitor has printed
    // both keys and kv watch its prefix's key.
    let version = 0;
    await waitFor('both streams print the change', async () => {
      version++;
      await agentRequest(agent.httpAddress, '/v1/kv/app/colour', { method: 'PUT', body: `blue-${version}` });
      await agentRequest(agent.httpAddress, '/v1/kv/other/thing', { method: 'PUT', body: `x-${version}` });
      const seen = monitor.output();
      return (
        seen.includes('app/colour') && seen.includes('other/thing') && watch.output().includes('app/colour')
      );
    });
    assert.match(monitor.output(), /key-updated +streamer app\/colour = "blue-\d+"/);
    // Events arrive in order: once kv watch printed a change made after one outside its prefix, it has
    // seen that one too, and must have left it out.
    await agentRequest(agent.httpAddress, '/v1/kv/other/thing', { method: 'PUT', body: 'last' });
    await agentRequest(agent.httpAddress, '/v1/kv/app/colour', { method: 'PUT', body: 'final' });
    await waitFor('kv watch prints the final change', () => watch.output().includes('"final"'));
    assert.ok(!watch.output().includes('other/thing'), 'kv watch shows only its prefix');
  } finally {
    monitor.child.kill('SIGINT');
    watch.child.kill('SIGINT');
  }
  assert.equal(await monitor.exited, 0);
  assert.equal(await watch.exited, 0);
});

test('a client command with no agent to talk to says so and exits 1', async () => {
  const port = await freePort();
  const result = await runCli(['members', '--http', `127.0.0.1:${port}`]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`cannot reach the agent at 127\\.0\\.0\\.1:${port}`));
  assert.match(result.stderr, /--http or GRAPEVINE_HTTP/);
  const fromEnv = await runCli(['kv', 'get', 'a', 'b'], { env: { GRAPEVINE_HTTP: `127.0.0.1:${port}` } });
  assert.equal(fromEnv.code, 1);
  assert.match(
    fromEnv.stderr,
    new RegExp(`127\\.0\\.0\\.1:${port}`),
    'GRAPEVINE_HTTP is the default address',
  );
});

test('keygen prints a fresh 32-byte base64 key each time', async () => {
  const first = await runCli(['keygen']);
  const second = await runCli(['keygen']);
  assert.equal(first.code, 0);
  const key = first.stdout.trim();
  assert.equal(Buffer.from(key, 'base64').length, 32);
  assert.equal(Buffer.from(key, 'base64').toString('base64'), key, 'canonical base64');
  assert.notEqual(second.stdout.trim(), key);
});

test('verdicts explains why a killed agent was declared down, as a table and as JSON', async () => {
  const watcher = await group.spawn('judge');
  const victim = await group.spawn('victim', ['--join', watcher.gossipAddress]);
  // A few rounds of heartbeats first: the judge's detector then knows the victim's rhythm.
  await waitFor('the judge hears the victim for a while', async () => {
    const view = await getJson<{ status: string; heartbeat: number }>(watcher, '/v1/members/victim');
    return view.status === 'alive' && view.heartbeat >= 10;
  });
  await victim.kill('SIGKILL');
  await waitFor(
    'the judge declares the victim down',
    async () => (await memberView(watcher, 'victim'))?.status === 'down',
  );

  const table = await runCli(['verdicts', '--member', 'victim', '--http', watcher.httpAddress]);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trim().split('\n');
  assert.match(lines[0]!, /^TIME +MEMBER +CHANGE +WHY$/);
  // The judge is the victim's only watcher: it reached the verdict, from a refused probe or from phi.
  assert.match(
    lines.at(-1)!,
    /^\d\d:\d\d:\d\d\.\d{3} +victim +(alive|suspect) -> down +by judge: (connection refused|phi \d+\.\d) after \d+\.\d s of silence$/,
  );

  const json = await runCli([
    'verdicts',
    '--member',
    'victim',
    '--limit',
    '1',
    '--json',
    '--http',
    watcher.httpAddress,
  ]);
  const records = JSON.parse(json.stdout) as { member: string; to: string; verdict: { accuser: string } }[];
  assert.equal(records.length, 1);
  assert.equal(records[0]!.to, 'down');
  assert.equal(records[0]!.verdict.accuser, 'judge');
  const logged = watcher.output.find(
    (line) => line.includes('"member is down"') && line.includes('"victim"'),
  );
  assert.ok(logged?.includes('"accuser":"judge"') && logged.includes('"from":'), logged);

  const keys = await runCli(['keys', 'list', '--http', watcher.httpAddress]);
  assert.equal(keys.code, 1);
  assert.match(keys.stderr, /started without encryption keys.*\(KEYRING_DISABLED\)/);
});
