/**
 * Proves the README's main job end to end: `grapevine demo --no-follow` starts real agent processes, shows
 * them converge, a key spread, a SIGKILLed node detected (with its accuser) and rejoining, then stops every
 * agent cleanly and exits 0, leaving no process behind; and even a demo killed outright (SIGKILL, no chance
 * to clean up) leaves no agent running.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { GRAPEVINE_BIN, requireBuild, runCli, waitFor } from '../support/agents.js';

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('the real-process demo tells the whole story and cleans up after itself', async () => {
  const result = await runCli(['demo', '--no-follow', '--nodes', '4'], { timeoutMs: 60_000 });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const output = result.stdout;
  for (const expected of [
    /converged: all 4 agents see 4 alive members/,
    /every agent holds demo\/greeting \d+ ms after it was set/,
    /SIGKILL node-3/,
    /marks node-3 down after \d+ ms, by node-\d: (connection refused|phi [\d.]+) after [\d.]+ s of silence/,
    /all 3 survivors agree node-3 is down/,
    /every agent sees node-3 alive again with the new generation/,
    /stopped: 4 of 4 agents exited cleanly/,
  ]) {
    assert.match(output, expected);
  }
  const pids = [...output.matchAll(/\(pid (\d+)\)/g)].map((match) => Number(match[1]));
  assert.equal(pids.length, 6, 'four agents, the victim once more, and its restart');
  assert.deepEqual(
    pids.filter((pid) => running(pid)),
    [],
    'no agent outlives the demo',
  );
});

test('agents of a demo killed with SIGKILL notice and exit by themselves', async (t) => {
  requireBuild();
  const demo = spawn(process.execPath, [GRAPEVINE_BIN, 'demo', '--nodes', '3'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  demo.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const pids = () => [...output.matchAll(/started node-\d \(pid (\d+)\)/g)].map((match) => Number(match[1]));
  t.after(() => {
    // If the test fails half-way, make sure nothing survives it.
    demo.kill('SIGKILL');
    for (const pid of pids()) if (running(pid)) process.kill(pid, 'SIGKILL');
  });
  await waitFor('the demo reaches its live phase', () => output.includes('press Ctrl-C'), 60_000);
  const agents = pids();
  assert.ok(agents.length >= 3);
  demo.kill('SIGKILL');
  await waitFor(
    'every agent exits once its supervisor is gone',
    () => agents.every((pid) => !running(pid)),
    10_000,
  );
});
