/**
 * Proves that the agent's HTTP API answers every route with the node's real state and never fails on bad
 * input: nodes on the in-memory network, driven by a virtual clock (no wall-clock sleeps), queried with
 * hono's `app.request()`. Bad requests get a 4xx with a JSON error code; metrics report what happened; the
 * verdict history explains a down verdict (in /v1/verdicts, /v1/members/:name and the event stream); and
 * rotating keys through /v1/keys keeps keyed nodes talking while the removed key stops opening frames,
 * without an answer ever showing key material.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Hono } from 'hono';
import { createHttpApi } from '../../src/agent/http-api.js';
import { createNodeMetrics } from '../../src/agent/metrics.js';
import { SeededRandom } from '../../src/core/index.js';
import { generateKey } from '../../src/runtime/keyring.js';
import { MemoryNetwork } from '../../src/runtime/memory-transport.js';
import { createNode, type GrapevineNode, keyFingerprint } from '../../src/runtime/node-api.js';
import type { Scheduler } from '../../src/runtime/transport.js';

const INTERVAL_MS = 100;
const WALL_CLOCK_MS = 1_800_000_000_000;

/** A virtual clock shared by several schedulers: time moves only when the test advances it. */
class VirtualClock {
  now = 0;
  readonly #pending = new Map<object, { dueMs: number; wake: () => void }>();

  scheduler(): Scheduler {
    const owner = {};
    return {
      now: () => this.now,
      wakeAt: (timeMs, wake) => {
        if (Number.isFinite(timeMs)) this.#pending.set(owner, { dueMs: timeMs, wake });
        else this.#pending.delete(owner);
      },
      cancel: () => {
        this.#pending.delete(owner);
      },
    };
  }

  /** Advances to `now + durationMs`, firing every wake-up in time order and letting deliveries run. */
  async advance(durationMs: number): Promise<void> {
    const target = this.now + durationMs;
    for (;;) {
      await flush();
      let next: [object, { dueMs: number; wake: () => void }] | undefined;
      for (const entry of this.#pending)
        if (next === undefined || entry[1].dueMs < next[1].dueMs) next = entry;
      if (next === undefined || next[1].dueMs > target) break;
      this.#pending.delete(next[0]);
      this.now = Math.max(this.now, next[1].dueMs);
      next[1].wake();
    }
    this.now = target;
    await flush();
  }
}

/** Lets the memory network's deliveries (setImmediate) and their replies run. */
async function flush(): Promise<void> {
  for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve));
}

const network = new MemoryNetwork();
const clock = new VirtualClock();
const nodes: GrapevineNode[] = [];
let apiA: Hono;
let apiB: Hono;
let leaveRequests = 0;

async function makeNode(
  name: string,
  address: string,
  join: string[],
  keys?: string[],
): Promise<GrapevineNode> {
  const node = await createNode({
    name,
    join,
    ...(keys === undefined ? {} : { keys }),
    transport: network.transport(address),
    scheduler: clock.scheduler(),
    random: new SeededRandom(name.length * 7919),
    wallClock: () => WALL_CLOCK_MS + clock.now,
    monitorEventLoop: false,
    gossip: { gossipIntervalMs: INTERVAL_MS },
  });
  nodes.push(node);
  return node;
}

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON whose fields each test asserts one by one.
type Json = any;

async function json(app: Hono, path: string, init?: RequestInit): Promise<{ status: number; body: Json }> {
  const response = await app.request(path, init);
  return { status: response.status, body: await response.json() };
}

before(async () => {
  const a = await makeNode('a', '10.0.0.1:7946', []);
  const b = await makeNode('b', '10.0.0.2:7946', ['10.0.0.1:7946']);
  apiA = createHttpApi({
    node: a,
    metrics: createNodeMetrics(a, { processMetrics: false }),
    onLeave: () => {
      leaveRequests++;
    },
  });
  apiB = createHttpApi({ node: b, metrics: createNodeMetrics(b, { processMetrics: false }) });
  await a.start();
  await b.start();
  await clock.advance(5 * INTERVAL_MS);
});

after(async () => {
  for (const node of nodes) await node.stop();
});

describe('members', () => {
  test('lists every member with name, address, status and generation', async () => {
    const { status, body } = await json(apiA, '/v1/members');
    assert.equal(status, 200);
    const byName = new Map<string, Json>(body.map((member: Json) => [member.name, member]));
    assert.deepEqual([...byName.keys()].sort(), ['a', 'b']);
    assert.equal(byName.get('b').address, '10.0.0.2:7946');
    assert.equal(byName.get('b').status, 'alive');
    assert.equal(byName.get('b').generation, nodes[1]!.generation);
    assert.equal(byName.get('a').self, true);
  });

  test('filters by status, and refuses an unknown status with a 400', async () => {
    assert.deepEqual((await json(apiA, '/v1/members?status=down,left')).body, []);
    assert.equal((await json(apiA, '/v1/members?status=alive')).body.length, 2);
    const bad = await json(apiA, '/v1/members?status=zombie');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'BAD_REQUEST');
  });

  test("shows one member with its detector's numbers, and 404 for a stranger", async () => {
    const { status, body } = await json(apiA, '/v1/members/b');
    assert.equal(status, 200);
    assert.equal(body.name, 'b');
    assert.equal(typeof body.detector.phi, 'number');
    assert.ok(body.detector.silenceMs >= 0);
    const missing = await json(apiA, '/v1/members/nobody');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'MEMBER_UNKNOWN');
  });
});

describe('keys', () => {
  test('a key set through one node is readable through the other once gossip carried it', async () => {
    const put = await json(apiA, '/v1/kv/color/primary', { method: 'PUT', body: 'blue' });
    assert.equal(put.status, 200);
    assert.equal(put.body.version, 1);
    await clock.advance(5 * INTERVAL_MS);
    const read = await json(apiB, '/v1/kv/a/color/primary');
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, { owner: 'a', key: 'color/primary', value: 'blue', version: 1 });
  });

  test('members can be filtered by key and by key=value', async () => {
    const holding = await json(apiB, '/v1/members?key=color/primary');
    assert.deepEqual(
      holding.body.map((member: Json) => member.name),
      ['a'],
    );
    assert.deepEqual((await json(apiB, '/v1/members?key=color/primary=red')).body, []);
    assert.equal((await json(apiB, '/v1/members?key=color/primary=blue')).body.length, 1);
  });

  test('a delete answers whether the key existed, and the key then reads as 404', async () => {
    await json(apiA, '/v1/kv/temporary', { method: 'PUT', body: 'x' });
    assert.equal((await json(apiA, '/v1/kv/temporary', { method: 'DELETE' })).body.deleted, true);
    assert.equal((await json(apiA, '/v1/kv/temporary', { method: 'DELETE' })).body.deleted, false);
    const read = await json(apiA, '/v1/kv/a/temporary');
    assert.equal(read.status, 404);
    assert.equal(read.body.error.code, 'KEY_NOT_FOUND');
  });

  test('values and keys the core refuses become 4xx errors with their code', async () => {
    const tooLarge = 'v'.repeat(nodes[0]!.options.valueBytesMax + 1);
    const value = await json(apiA, '/v1/kv/big', { method: 'PUT', body: tooLarge });
    assert.equal(value.status, 413);
    assert.equal(value.body.error.code, 'VALUE_TOO_LARGE');
    const longKey = 'k'.repeat(nodes[0]!.options.keyBytesMax + 1);
    const key = await json(apiA, `/v1/kv/${longKey}`, { method: 'PUT', body: 'x' });
    assert.equal(key.status, 400);
    assert.equal(key.body.error.code, 'KEY_INVALID');
    assert.equal(nodes[0]!.get('a', 'big'), undefined);
  });

  test('a request body above the limit is refused without reading it all', async () => {
    const response = await apiA.request('/v1/kv/huge', {
      method: 'PUT',
      body: 'x'.repeat(300 * 1024),
      headers: { 'Content-Length': String(300 * 1024) },
    });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as Json).error.code, 'BODY_TOO_LARGE');
  });
});

describe('join and leave', () => {
  test('malformed join requests get a 400 and change nothing', async () => {
    for (const body of ['not json', '{}', '{"addresses": "10.0.0.9:1"}', '{"addresses": ["no-port"]}']) {
      const answer = await json(apiA, '/v1/join', { method: 'POST', body });
      assert.equal(answer.status, 400, body);
      assert.equal(answer.body.error.code, 'BAD_REQUEST');
    }
    assert.equal((await json(apiA, '/v1/members')).body.length, 2);
  });

  test('leave is accepted and handed to the agent', async () => {
    const answer = await json(apiA, '/v1/leave', { method: 'POST' });
    assert.equal(answer.status, 202);
    await flush();
    assert.equal(leaveRequests, 1);
  });
});

describe('events', () => {
  test('the event stream delivers a key change as a server-sent event', async () => {
    const response = await apiB.request('/v1/events?types=key-updated');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = response.body!.getReader();
    nodes[1]!.set('mood', 'calm');
    let text = '';
    while (!text.includes('\n\n') || !text.includes('event:')) {
      const chunk = await reader.read();
      assert.equal(chunk.done, false, 'stream ended before the event');
      text += new TextDecoder().decode(chunk.value);
    }
    await reader.cancel();
    const block = text.split('\n\n').find((part) => part.includes('event:'))!;
    assert.match(block, /^event: key-updated$/m);
    const data = JSON.parse(
      block
        .split('\n')
        .find((line) => line.startsWith('data: '))!
        .slice(6),
    );
    assert.equal(data.owner, 'b');
    assert.equal(data.key, 'mood');
    assert.equal(data.value, 'calm');
  });

  test('an unknown event type is a 400', async () => {
    const answer = await json(apiA, '/v1/events?types=member-joined,gossip-party');
    assert.equal(answer.status, 400);
  });
});

describe('info, health and metrics', () => {
  test('garbage in a datagram is dropped, counted by reason, and shown in info and metrics', async () => {
    const attacker = network.transport('10.0.0.66:1');
    attacker.attach({ onDatagram: () => {}, onStream: () => {}, onProbeResult: () => {} });
    const before = { ...nodes[0]!.stats().runner.drops };
    attacker.sendDatagram('10.0.0.1:7946', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    await flush();
    await attacker.close();
    const after = nodes[0]!.stats().runner.drops;
    const changed = Object.keys(after).filter((reason) => after[reason] !== before[reason]);
    assert.equal(changed.length, 1, 'exactly one reason counted the garbage');
    const reason = changed[0]!;
    assert.equal(after[reason]! - (before[reason] ?? 0), 1);
    const info = await json(apiA, '/v1/info');
    assert.equal(info.body.drops[reason], after[reason]);
    const metrics = await (await apiA.request('/metrics')).text();
    assert.ok(
      metrics.includes(`grapevine_frames_dropped_total{reason="${reason}"} ${after[reason]}`),
      metrics,
    );
    assert.equal((await json(apiA, '/v1/members')).body.length, 2, 'the garbage changed no membership');
  });

  test('metrics are Prometheus text with members by status and the round count', async () => {
    const response = await apiA.request('/metrics');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.match(text, /^# TYPE grapevine_gossip_rounds_total counter$/m);
    assert.match(text, /^grapevine_members\{status="alive"\} 2$/m);
    assert.match(text, /^grapevine_members\{status="down"\} 0$/m);
    const rounds = Number(/^grapevine_gossip_rounds_total (\d+)$/m.exec(text)?.[1]);
    assert.equal(rounds, nodes[0]!.stats().core.rounds);
    assert.ok(rounds > 0);
    assert.match(text, /^grapevine_messages_total\{type="syn",direction="out"\} \d+$/m);
    assert.match(text, /^grapevine_phi_bucket\{le="\+Inf"\} 1$/m, 'one other live member observed');
  });

  test('health is 200 while running; unknown routes are a JSON 404', async () => {
    const health = await json(apiB, '/v1/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'ok');
    const missing = await json(apiB, '/v2/nothing');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'NOT_FOUND');
  });

  test('health turns 503 once the node stopped', async () => {
    await nodes[1]!.stop();
    const health = await json(apiB, '/v1/health');
    assert.equal(health.status, 503);
    assert.equal(health.body.phase, 'stopped');
  });
});

/** Reads server-sent events until one of `type` arrives; returns its parsed data. */
async function nextEvent(response: Response, type: string): Promise<Json> {
  const reader = response.body!.getReader();
  let text = '';
  try {
    for (;;) {
      const block = text.split('\n\n').find((part) => part.includes(`event: ${type}\n`));
      if (block !== undefined) {
        const data = block.split('\n').find((line) => line.startsWith('data: '))!;
        return JSON.parse(data.slice(6));
      }
      const chunk = await reader.read();
      assert.equal(chunk.done, false, `stream ended before a ${type} event`);
      text += new TextDecoder().decode(chunk.value);
    }
  } finally {
    await reader.cancel();
  }
}

describe('verdict history', () => {
  // The previous test stopped b: a must now find it gone, and its history must say how it decided.
  test('the down verdict on a stopped node says who reached it and why, in every view', async () => {
    const a = nodes[0]!;
    const stream = await apiA.request('/v1/events?types=member-down');
    for (let round = 0; round < 100 && a.member('b')?.status !== 'down'; round++)
      await clock.advance(INTERVAL_MS);
    assert.equal(a.member('b')?.status, 'down');

    const history = (await json(apiA, '/v1/verdicts?member=b')).body;
    assert.ok(history.length >= 1);
    const last = history.at(-1);
    assert.equal(last.to, 'down');
    assert.equal(last.member, 'b');
    assert.equal(last.verdict.accuser, 'a', 'a watches b alone, so a reached the verdict');
    assert.ok(['refused', 'phi'].includes(last.verdict.reason));
    assert.ok(last.verdict.silenceMs > 0);
    // The records chain: each starts from the status the previous one reached, the first from alive.
    assert.equal(history[0].from, 'alive');
    for (let index = 1; index < history.length; index++)
      assert.equal(history[index].from, history[index - 1].to);
    assert.equal(Date.parse(last.at), a.wallClockOf(last.atMs));

    const member = (await json(apiA, '/v1/members/b')).body;
    assert.deepEqual(member.verdicts.at(-1), last);
    assert.deepEqual(member.detector.thresholds, {
      probePhi: a.options.probePhi,
      suspectPhi: a.options.suspectPhi,
      downPhi: a.options.downPhi,
    });

    const event = await nextEvent(stream, 'member-down');
    assert.equal(event.member.name, 'b');
    assert.deepEqual(event.change, last, 'the event carries the same record');

    const metrics = await (await apiA.request('/metrics')).text();
    assert.match(metrics, /^grapevine_status_changes_total\{to="down"\} 1$/m);
  });

  test('limit keeps the most recent records; a bad limit is a 400', async () => {
    const all = (await json(apiA, '/v1/verdicts')).body;
    const one = (await json(apiA, '/v1/verdicts?limit=1')).body;
    assert.deepEqual(one, all.slice(-1));
    for (const limit of ['0', '-1', 'many', '1.5']) {
      const answer = await json(apiA, `/v1/verdicts?limit=${limit}`);
      assert.equal(answer.status, 400, limit);
      assert.equal(answer.body.error.code, 'BAD_REQUEST');
    }
    assert.deepEqual((await json(apiA, '/v1/verdicts?member=nobody')).body, []);
  });
});

describe('keyring', () => {
  const KEY_A = generateKey();
  const KEY_B = generateKey();
  let apiC: Hono;
  let apiD: Hono;
  let c: GrapevineNode;
  let d: GrapevineNode;

  async function post(
    app: Hono,
    operation: string,
    body: string,
  ): Promise<{ status: number; body: Json; text: string }> {
    const response = await app.request(`/v1/keys/${operation}`, { method: 'POST', body });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text), text };
  }

  /** Heartbeats each node last heard from the other: they grow only while frames open. */
  function heard(): [number, number] {
    return [c.member('d')?.heartbeat ?? -1, d.member('c')?.heartbeat ?? -1];
  }

  function talking(): boolean {
    return c.member('d')?.status === 'alive' && d.member('c')?.status === 'alive';
  }

  function authenticationDrops(): number {
    return (c.stats().runner.drops.authentication ?? 0) + (d.stats().runner.drops.authentication ?? 0);
  }

  test('a node started without keys refuses every keyring route with KEYRING_DISABLED', async () => {
    const list = await json(apiA, '/v1/keys');
    assert.equal(list.status, 409);
    assert.equal(list.body.error.code, 'KEYRING_DISABLED');
    const install = await post(apiA, 'install', JSON.stringify({ key: KEY_A }));
    assert.equal(install.status, 409);
    assert.equal(install.body.error.code, 'KEYRING_DISABLED');
    assert.equal((await json(apiA, '/v1/info')).body.keyring, null);
  });

  test('install, use, remove on every node keeps two keyed nodes talking; the old key then opens nothing', async () => {
    c = await makeNode('c', '10.0.1.3:7946', [], [KEY_A]);
    d = await makeNode('d', '10.0.1.4:7946', ['10.0.1.3:7946'], [KEY_A]);
    apiC = createHttpApi({ node: c, metrics: createNodeMetrics(c, { processMetrics: false }) });
    apiD = createHttpApi({ node: d });
    await c.start();
    await d.start();
    await clock.advance(5 * INTERVAL_MS);
    assert.ok(talking(), 'the keyed pair converged');
    const dropsBefore = authenticationDrops();
    for (const [operation, key] of [
      ['install', KEY_B],
      ['use', KEY_B],
      ['remove', KEY_A],
    ] as const) {
      for (const api of [apiC, apiD]) {
        const answer = await post(api, operation, JSON.stringify({ key }));
        assert.equal(answer.status, 200, `${operation}: ${answer.text}`);
        assert.equal(answer.body.changed, true);
        // Halfway through a step the two nodes disagree on the keyring: they must still understand each other.
        const [fromD, fromC] = heard();
        await clock.advance(3 * INTERVAL_MS);
        assert.ok(talking(), `still alive to each other after ${operation} on one node`);
        const [laterFromD, laterFromC] = heard();
        assert.ok(laterFromD > fromD && laterFromC > fromC, `heartbeats still cross after ${operation}`);
      }
    }
    assert.equal(authenticationDrops(), dropsBefore, 'no frame failed authentication during the rotation');
    const list = (await json(apiC, '/v1/keys')).body;
    assert.deepEqual(list, {
      primary: keyFingerprint(KEY_B),
      keys: [{ fingerprint: keyFingerprint(KEY_B), primary: true }],
    });
    assert.equal((await json(apiC, '/v1/info')).body.keyring.primary, keyFingerprint(KEY_B));
    assert.match(await (await apiC.request('/metrics')).text(), /^grapevine_keyring_keys 1$/m);

    // A node that still has only the old key cannot get a word in.
    const refused = c.stats().runner.drops.authentication ?? 0;
    const stale = await makeNode('stale', '10.0.1.9:7946', ['10.0.1.3:7946'], [KEY_A]);
    await stale.start();
    await clock.advance(5 * INTERVAL_MS);
    assert.ok((c.stats().runner.drops.authentication ?? 0) > refused, 'its frames fail authentication');
    assert.equal(c.member('stale'), undefined);
    await stale.stop();
  });

  test('refusals are clear, carry their code, and never echo the key', async () => {
    const cases: [string, string, number, string][] = [
      ['remove', JSON.stringify({ key: KEY_B }), 409, 'KEY_IS_PRIMARY'],
      ['use', JSON.stringify({ key: KEY_A }), 404, 'KEY_NOT_INSTALLED'],
      ['remove', JSON.stringify({ key: KEY_A }), 404, 'KEY_NOT_INSTALLED'],
      ['install', JSON.stringify({ key: 'not*base64!' }), 400, 'KEY_NOT_BASE64'],
      ['install', JSON.stringify({ key: Buffer.alloc(16, 7).toString('base64') }), 400, 'KEY_WRONG_LENGTH'],
      ['install', JSON.stringify({ secret: KEY_A }), 400, 'BAD_REQUEST'],
      ['install', `{"key": "${KEY_A}"`, 400, 'BAD_REQUEST'],
    ];
    for (const [operation, body, status, code] of cases) {
      const answer = await post(apiC, operation, body);
      assert.equal(answer.status, status, `${operation} ${body}`);
      assert.equal(answer.body.error.code, code, `${operation} ${body}`);
      for (const secret of [KEY_A, KEY_B, 'not*base64!'])
        assert.ok(!answer.text.includes(secret), answer.text);
    }
    const unknown = await post(apiC, 'rotate', JSON.stringify({ key: KEY_A }));
    assert.equal(unknown.status, 404);
    assert.deepEqual(
      c.keyring.list(),
      [{ fingerprint: keyFingerprint(KEY_B), primary: true }],
      'nothing changed',
    );
  });

  test('installing a key twice or using the primary again changes nothing and says so', async () => {
    assert.equal((await post(apiC, 'use', JSON.stringify({ key: KEY_B }))).body.changed, false);
    assert.equal((await post(apiC, 'install', JSON.stringify({ key: KEY_A }))).body.changed, true);
    const again = await post(apiC, 'install', JSON.stringify({ key: KEY_A }));
    assert.equal(again.status, 200);
    assert.equal(again.body.changed, false);
    assert.deepEqual(
      again.body.keys.map((key: Json) => key.fingerprint),
      [keyFingerprint(KEY_B), keyFingerprint(KEY_A)],
    );
  });
});
