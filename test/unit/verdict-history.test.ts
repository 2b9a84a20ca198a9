/**
 * Proves that the verdict history records every status change with the status it left and why: the
 * verdict's provenance for suspect, down and left, the refuted verdict and the heartbeat that beat it for a
 * return to alive, the replaced generation for a restart; that healthy joins and reaps are not recorded but
 * still tracked; that the ring keeps exactly the newest `capacity` records (a model-based property test
 * compares it with an unbounded list); and that createNode refuses a history that could hold nothing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ClusterEvent, MemberView } from '../../src/core/index.js';
import { createNode, GrapevineError, VerdictHistory } from '../../src/runtime/node-api.js';
import type { MemberStatus, VerdictNote } from '../../src/wire/index.js';

const EPOCH_MS = Date.UTC(2030, 0, 2, 12, 1, 3, 0);

function history(capacity = 16, trackedMax = 100): VerdictHistory {
  // The node's clock starts at 0 when the wall clock reads EPOCH_MS.
  return new VerdictHistory({ capacity, trackedMax, wallClockOf: (atMs) => EPOCH_MS + atMs });
}

function view(
  name: string,
  status: MemberStatus,
  fields: { heartbeat?: number; generation?: number; verdict?: VerdictNote | null } = {},
): MemberView {
  return {
    name,
    generation: fields.generation ?? 1,
    address: `10.0.0.${name.length}:7946`,
    status,
    heartbeat: fields.heartbeat ?? 0,
    maxVersion: 0,
    statusChangedAtMs: 0,
    verdict: fields.verdict ?? null,
    isSelf: false,
  };
}

const BY_B_PHI: VerdictNote = { accuser: 'b', reason: 'phi', phiHundredths: 412, silenceMs: 2500 };
const BY_C_REFUSED: VerdictNote = { accuser: 'c', reason: 'refused', phiHundredths: 0, silenceMs: 900 };

function joined(atMs: number, member: MemberView): ClusterEvent {
  return { type: 'member-joined', atMs, member };
}

function changed(atMs: number, member: MemberView, previousStatus: MemberStatus = 'alive'): ClusterEvent {
  switch (member.status) {
    case 'alive':
      return { type: 'member-alive', atMs, member, previousStatus };
    case 'suspect':
      return { type: 'member-suspect', atMs, member };
    case 'down':
      return { type: 'member-down', atMs, member };
    case 'left':
      return { type: 'member-left', atMs, member };
  }
}

describe('what a record says', () => {
  test('a suspicion records who, why, phi, silence, and the status and heartbeat it left', () => {
    const verdicts = history();
    verdicts.observe(joined(0, view('a', 'alive', { heartbeat: 3 })));
    const record = verdicts.observe(
      changed(1412, view('a', 'suspect', { heartbeat: 10, verdict: BY_B_PHI })),
    );
    assert.deepEqual(record, {
      sequence: 1,
      atMs: 1412,
      at: '2030-01-02T12:01:04.412Z',
      member: 'a',
      address: '10.0.0.1:7946',
      generation: 1,
      from: 'alive',
      to: 'suspect',
      heartbeat: 10,
      verdict: { accuser: 'b', reason: 'phi', phi: 4.12, silenceMs: 2500 },
      refuted: null,
      previousGeneration: null,
    });
  });

  test('a return to alive names the verdict it refuted, its heartbeat, and the heartbeat that beat it', () => {
    const verdicts = history();
    verdicts.observe(joined(0, view('a', 'alive')));
    verdicts.observe(changed(100, view('a', 'suspect', { heartbeat: 10, verdict: BY_B_PHI })));
    // Another node's down verdict at the same heartbeat replaces the suspicion: the refutation must name it.
    verdicts.observe(changed(200, view('a', 'down', { heartbeat: 10, verdict: BY_C_REFUSED })));
    const back = verdicts.observe(changed(300, view('a', 'alive', { heartbeat: 12 }), 'down'));
    assert.equal(back?.from, 'down');
    assert.equal(back?.verdict, null);
    assert.deepEqual(back?.refuted, {
      status: 'down',
      verdictHeartbeat: 10,
      heartbeat: 12,
      verdict: { accuser: 'c', reason: 'refused', phi: 0, silenceMs: 900 },
    });
    assert.deepEqual(
      verdicts.query().map((record) => `${record.from}->${record.to}`),
      ['alive->suspect', 'suspect->down', 'down->alive'],
    );
  });

  test('a restart records the generation it replaced and the status of the old one, not a refutation', () => {
    const verdicts = history();
    verdicts.observe(joined(0, view('a', 'alive', { generation: 5 })));
    verdicts.observe(changed(10, view('a', 'down', { generation: 5, heartbeat: 7, verdict: BY_C_REFUSED })));
    const member = view('a', 'alive', { generation: 9 });
    const record = verdicts.observe({ type: 'member-restarted', atMs: 20, member, previousGeneration: 5 });
    assert.equal(record?.from, 'down');
    assert.equal(record?.to, 'alive');
    assert.equal(record?.generation, 9);
    assert.equal(record?.previousGeneration, 5);
    assert.equal(record?.refuted, null);
  });

  test('healthy joins and reaps are not recorded, key updates neither; a reap forgets the member', () => {
    const verdicts = history();
    assert.equal(verdicts.observe(joined(0, view('a', 'alive'))), undefined);
    verdicts.observe(changed(1, view('a', 'down', { heartbeat: 4, verdict: BY_C_REFUSED })));
    assert.equal(
      verdicts.observe({ type: 'member-reaped', atMs: 2, member: view('a', 'down', { heartbeat: 4 }) }),
      undefined,
    );
    const update: ClusterEvent = {
      type: 'key-updated',
      atMs: 3,
      owner: 'a',
      key: 'k',
      value: 'v',
      version: 1,
    };
    assert.equal(verdicts.observe(update), undefined);
    assert.equal(verdicts.size, 1);
    // Heard of again (a partition longer than the retention): its earlier status is no longer known.
    verdicts.observe(joined(4, view('a', 'alive', { heartbeat: 9 })));
    const again = verdicts.observe(changed(5, view('a', 'suspect', { heartbeat: 9, verdict: BY_B_PHI })));
    assert.equal(again?.from, 'alive');
    assert.deepEqual(verdicts.changesByStatus, { alive: 0, suspect: 1, down: 1, left: 0 });
  });

  test('a member first heard of while suspect is recorded, from no status, with the verdict it came with', () => {
    const verdicts = history();
    const record = verdicts.observe(joined(0, view('a', 'suspect', { heartbeat: 2, verdict: BY_B_PHI })));
    assert.equal(record?.from, null);
    assert.equal(record?.to, 'suspect');
    assert.equal(record?.verdict?.accuser, 'b');
  });

  test('a verdict about another generation than the one tracked does not borrow its status', () => {
    const verdicts = history();
    verdicts.observe(joined(0, view('a', 'alive', { generation: 2 })));
    const record = verdicts.observe(changed(1, view('a', 'left', { generation: 3, heartbeat: 1 })));
    assert.equal(record?.from, null);
  });

  test('the record of an event is found from the event object', () => {
    const verdicts = history();
    verdicts.observe(joined(0, view('a', 'alive')));
    const event = changed(1, view('a', 'suspect', { heartbeat: 1, verdict: BY_B_PHI }));
    const record = verdicts.observe(event);
    assert.equal(verdicts.recordOf(event), record);
    assert.equal(verdicts.recordOf(changed(1, view('a', 'suspect'))), undefined);
  });

  test('the tracked members are bounded: past the bound the oldest is forgotten', () => {
    const verdicts = history(16, 2);
    for (const name of ['a', 'b', 'c']) verdicts.observe(joined(0, view(name, 'alive')));
    assert.equal(verdicts.observe(changed(1, view('a', 'suspect')))?.from, null, 'a was forgotten');
    assert.equal(verdicts.observe(changed(1, view('c', 'suspect')))?.from, 'alive');
  });
});

describe('the ring', () => {
  test('keeps the newest records, filters by member, then keeps the last `limit`', () => {
    const verdicts = history(4);
    for (const name of ['a', 'b']) verdicts.observe(joined(0, view(name, 'alive')));
    // Six changes alternating between a and b: a ring of four keeps sequences 3 to 6.
    for (let step = 1; step <= 6; step++) {
      const name = step % 2 === 1 ? 'a' : 'b';
      const status: MemberStatus = step <= 2 ? 'suspect' : step <= 4 ? 'alive' : 'down';
      verdicts.observe(changed(step, view(name, status, { heartbeat: step }), 'suspect'));
    }
    assert.deepEqual(
      verdicts.query().map((record) => record.sequence),
      [3, 4, 5, 6],
    );
    assert.deepEqual(
      verdicts.query({ member: 'a' }).map((record) => record.sequence),
      [3, 5],
    );
    assert.deepEqual(
      verdicts.query({ member: 'b', limit: 1 }).map((record) => record.sequence),
      [6],
    );
    assert.deepEqual(verdicts.query({ member: 'nobody' }), []);
  });

  test('matches an unbounded list cut to its last `capacity` records, for any sequence of events', () => {
    const names = ['a', 'b', 'c'];
    const step = fc.record({
      name: fc.constantFrom(...names),
      status: fc.constantFrom<MemberStatus>('alive', 'suspect', 'down', 'left'),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(step, { maxLength: 40 }),
        fc.option(fc.constantFrom(...names), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
        (capacity, steps, member, limit) => {
          const verdicts = history(capacity);
          const everything: { sequence: number; member: string }[] = [];
          const status = new Map<string, MemberStatus>();
          for (const name of names) {
            verdicts.observe(joined(0, view(name, 'alive')));
            status.set(name, 'alive');
          }
          steps.forEach(({ name, status: next }, index) => {
            const previous = status.get(name)!;
            status.set(name, next);
            const record = verdicts.observe(changed(index, view(name, next, { heartbeat: index }), previous));
            assert.equal(record?.from, previous, 'from is the status the member had');
            everything.push({ sequence: everything.length + 1, member: name });
          });
          const kept = everything
            .slice(-capacity)
            .filter((record) => member === undefined || record.member === member);
          const expected = limit === undefined ? kept : kept.slice(-limit);
          const query = {
            ...(member === undefined ? {} : { member }),
            ...(limit === undefined ? {} : { limit }),
          };
          assert.deepEqual(
            verdicts.query(query).map((record) => ({ sequence: record.sequence, member: record.member })),
            expected,
          );
        },
      ),
    );
  });
});

test('createNode refuses a verdict history size outside 1 to 100,000, naming the option', async () => {
  for (const verdictHistorySize of [0, -1, 2.5, 100_001]) {
    await assert.rejects(
      createNode({ name: 'a', verdictHistorySize }),
      (error: unknown) =>
        error instanceof GrapevineError &&
        error.code === 'OPTIONS_INVALID' &&
        error.issues.some((issue) => issue.path === 'verdictHistorySize'),
      String(verdictHistorySize),
    );
  }
});
