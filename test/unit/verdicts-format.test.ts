/**
 * Proves that `grapevine verdicts` prints each status change as the line an operator reads in the brief
 * ("12:01:03.412  node-3  alive -> down  by node-4: connection refused after 0.9 s of silence"), in aligned
 * columns, and says in words why each change happened: the verdict's provenance, the refutation with its
 * heartbeats, a restart, a graceful leave.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeChange, formatVerdicts } from '../../src/cli/client-commands.js';
import type { VerdictRecord } from '../../src/runtime/node-api.js';

function record(fields: Partial<VerdictRecord>): VerdictRecord {
  return {
    sequence: 1,
    atMs: 0,
    at: '2030-01-02T12:01:03.412Z',
    member: 'node-3',
    address: '10.0.0.3:7946',
    generation: 7,
    from: 'alive',
    to: 'down',
    heartbeat: 40,
    verdict: null,
    refuted: null,
    previousGeneration: null,
    ...fields,
  };
}

const REFUSED = { accuser: 'node-4', reason: 'refused', phi: 0, silenceMs: 912 } as const;
const PHI = { accuser: 'node-2', reason: 'phi', phi: 3.37, silenceMs: 3953 } as const;

test('a refused connection reads as the line of the brief, time in UTC to the millisecond', () => {
  const lines = formatVerdicts([record({ verdict: REFUSED })]).split('\n');
  assert.match(lines[0]!, /^TIME +MEMBER +CHANGE +WHY$/);
  assert.match(
    lines[1]!,
    /^12:01:03\.412 {2}node-3 {2}alive -> down {2}by node-4: connection refused after 0\.9 s of silence$/,
  );
});

test('each cause is said in words', () => {
  assert.equal(
    describeChange(record({ to: 'suspect', verdict: PHI })),
    'by node-2: phi 3.4 after 4.0 s of silence',
  );
  assert.equal(
    describeChange(
      record({
        from: 'suspect',
        to: 'alive',
        heartbeat: 11,
        refuted: { status: 'suspect', verdictHeartbeat: 10, heartbeat: 11, verdict: PHI },
      }),
    ),
    'heartbeat 11 refuted the suspicion at heartbeat 10 (by node-2: phi 3.4 after 4.0 s of silence)',
  );
  assert.equal(
    describeChange(
      record({
        from: 'down',
        to: 'alive',
        refuted: { status: 'down', verdictHeartbeat: null, heartbeat: 9, verdict: null },
      }),
    ),
    'heartbeat 9 refuted the down verdict',
  );
  assert.equal(
    describeChange(record({ from: 'down', to: 'alive', generation: 9, previousGeneration: 7 })),
    'restarted: generation 9 replaces 7',
  );
  assert.equal(
    describeChange(
      record({ to: 'left', verdict: { accuser: 'node-3', reason: 'left', phi: 0, silenceMs: 0 } }),
    ),
    'left gracefully',
  );
  assert.equal(
    describeChange(record({ from: null, to: 'suspect', verdict: PHI })),
    'already suspect when first heard of: by node-2: phi 3.4 after 4.0 s of silence',
  );
  assert.equal(describeChange(record({ to: 'down' })), 'no provenance received');
});

test('columns line up whatever the widths of names and changes', () => {
  const text = formatVerdicts([
    record({ member: 'n', to: 'suspect', verdict: PHI }),
    record({ member: 'a-much-longer-name', from: 'suspect', to: 'down', verdict: REFUSED }),
  ]);
  const lines = text.split('\n');
  const whyColumn = lines[0]!.indexOf('WHY');
  assert.equal(lines[1]!.indexOf('by node-2'), whyColumn);
  assert.equal(lines[2]!.indexOf('by node-4'), whyColumn);
  assert.equal(lines[1]!.indexOf('alive -> suspect'), lines[0]!.indexOf('CHANGE'));
});
