/**
 * Proves that peer bytes cannot break the decoder: on seeded random and mutated inputs of every message type,
 * `decode`, `decodeFrameHeader` and `PlainFrameCodec.open` never throw or hang, refuse with a reason, and
 * accept only what re-encodes to the same bytes within the DecodeLimits; that small custom limits are
 * enforced exactly (at the limit accepted, one over refused); and that this harness does catch a decoder that
 * throws, hangs, ignores its limits or accepts bytes it does not account for. bench/fuzz-decoder.ts runs the
 * same engine on a million inputs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type FuzzReport,
  limitProblem,
  runDecoderFuzz,
  type TargetReport,
} from '../../bench/fuzz-decoder.js';
import {
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  decode,
  encode,
  type MemberEntry,
  type Message,
  type OwnerDelta,
  positionalPage,
} from '../../src/wire/index.js';

const SEED = 20_240_601;

function assertSound(target: TargetReport, label: string, seed: number): void {
  const context = `${label}, seed ${seed}: ${target.examples.join('; ')}`;
  assert.equal(target.throws, 0, `threw (${context})`);
  assert.equal(target.problems, 0, `broke the contract (${context})`);
  assert.equal(target.slowInputs, 0, `took over 50 ms (${context})`);
  assert.ok(
    target.accepted > 0,
    `${label} accepted nothing, so the checks on accepted inputs ran on nothing`,
  );
}

function refusals(report: TargetReport): Set<string> {
  return new Set(report.rejectedByReason.keys());
}

test('decode survives 60,000 random and mutated inputs of every message type', () => {
  const report = runDecoderFuzz({ seed: SEED, messageInputs: 60_000, frameInputs: 0 });
  assertSound(report.message, 'decode', SEED);
  assert.equal(report.message.inputs, 60_000);
  assert.deepEqual(
    new Set(report.acceptedByType.keys()),
    new Set(['syn', 'syn-ack', 'ack', 'sync', 'heartbeat']),
    'mutants of every message type were accepted, so every decoder path ran on altered bytes',
  );
  // The inputs reach every check the decoder makes, not only the first byte.
  const reasons = refusals(report.message);
  for (const reason of [
    'truncated',
    'trailing-bytes',
    'unknown-message-code',
    'varint-not-minimal',
    'varint-too-long',
    'varint-too-large',
    'count-exceeds-bytes',
    'invalid-utf8',
    'empty-name',
    'unknown-entry-flags',
    'unknown-verdict-reason',
    'unknown-page-kind',
    'inverted-page-range',
    'unknown-delta-flags',
    'delta-versions-not-ascending',
    'unknown-sync-flags',
  ]) {
    assert.ok(reasons.has(reason), `no input was refused for ${reason}`);
  }
});

test('decodeFrameHeader and PlainFrameCodec.open survive 20,000 random and mutated frames', () => {
  const report = runDecoderFuzz({ seed: SEED, messageInputs: 0, frameInputs: 20_000 });
  assertSound(report.frameHeader, 'decodeFrameHeader', SEED);
  assertSound(report.frameOpen, 'PlainFrameCodec.open', SEED);
  const reasons = refusals(report.frameOpen);
  for (const reason of [
    'bad-magic',
    'unsupported-version',
    'unknown-frame-flags',
    'wrong-cluster',
    'truncated',
  ]) {
    assert.ok(reasons.has(reason), `no frame was refused for ${reason}`);
  }
});

// ---------------------------------------------------------------------------------------------------------
// Small custom limits

const TINY: DecodeLimits = {
  nameBytesMax: 4,
  addressBytesMax: 4,
  keyBytesMax: 4,
  valueBytesMax: 4,
  listCountMax: 3,
};

const member = (fields: Partial<MemberEntry> = {}): MemberEntry => ({
  name: 'n',
  generation: 0,
  address: '',
  heartbeat: 0,
  status: 'alive',
  maxVersion: 0,
  verdict: null,
  ...fields,
});

const members = (count: number) => Array.from({ length: count }, () => member());

const delta = (entries: OwnerDelta['entries']): OwnerDelta => ({
  member: member(),
  reset: false,
  fromVersion: 0,
  gcVersion: 0,
  entries,
});

const keyValues = (count: number) =>
  Array.from({ length: count }, (_, index) => ({ key: 'k', value: 'v', version: index + 1 }));

const heartbeatOf = (fields: Partial<MemberEntry>): Message => ({
  type: 'heartbeat',
  sender: member(fields),
});

const synWith = (news: number, page: 'explicit' | 'positional' | null, pageCount = 0): Message => ({
  type: 'syn',
  digest: {
    sender: member(),
    news: members(news),
    page:
      page === 'explicit'
        ? { kind: 'explicit', rangeStart: 0, rangeEnd: 10, entries: members(pageCount) }
        : page === 'positional'
          ? positionalPage({
              rangeStart: 0,
              rangeEnd: 10,
              hashA: 0,
              hashB: 0,
              heartbeats: new Array(pageCount).fill(1),
              maxVersions: new Array(pageCount).fill(0),
              statuses: new Array(pageCount).fill(0),
            })
          : null,
  },
});

const verdict = (accuser: string) =>
  ({ accuser, reason: 'phi', phiHundredths: 900, silenceMs: 5000 }) as const;

/** Each case: a message exactly at one of TINY's limits, and the same message one byte or one item over it. */
const LIMIT_CASES: readonly { readonly limit: string; readonly within: Message; readonly over: Message }[] = [
  {
    limit: 'name bytes (ASCII)',
    within: heartbeatOf({ name: 'abcd' }),
    over: heartbeatOf({ name: 'abcde' }),
  },
  {
    limit: 'name bytes (UTF-8, not characters)',
    within: heartbeatOf({ name: 'éé' }),
    over: heartbeatOf({ name: 'ééa' }),
  },
  {
    limit: 'accuser bytes',
    within: heartbeatOf({ status: 'suspect', verdict: verdict('abcd') }),
    over: heartbeatOf({ status: 'suspect', verdict: verdict('abcde') }),
  },
  {
    limit: 'address bytes',
    within: heartbeatOf({ address: '1:23' }),
    over: heartbeatOf({ address: '1:234' }),
  },
  { limit: 'news count', within: synWith(3, null), over: synWith(4, null) },
  { limit: 'explicit page entries', within: synWith(0, 'explicit', 3), over: synWith(0, 'explicit', 4) },
  {
    limit: 'positional page positions',
    within: synWith(0, 'positional', 3),
    over: synWith(0, 'positional', 4),
  },
  {
    limit: 'deltas count',
    within: { type: 'ack', deltas: [delta([]), delta([]), delta([])] },
    over: { type: 'ack', deltas: [delta([]), delta([]), delta([]), delta([])] },
  },
  {
    limit: 'key-values count',
    within: { type: 'ack', deltas: [delta(keyValues(3))] },
    over: { type: 'ack', deltas: [delta(keyValues(4))] },
  },
  {
    limit: 'sync members count',
    within: { type: 'sync', sender: member(), replyWanted: false, members: members(3), deltas: [] },
    over: { type: 'sync', sender: member(), replyWanted: false, members: members(4), deltas: [] },
  },
  {
    limit: 'key bytes',
    within: { type: 'ack', deltas: [delta([{ key: 'keys', value: null, version: 1 }])] },
    over: { type: 'ack', deltas: [delta([{ key: 'keys!', value: null, version: 1 }])] },
  },
  {
    limit: 'value bytes',
    within: { type: 'ack', deltas: [delta([{ key: 'k', value: 'four', version: 1 }])] },
    over: { type: 'ack', deltas: [delta([{ key: 'k', value: 'five!', version: 1 }])] },
  },
];

test('with small custom limits, decode accepts each list and string at its limit and refuses one over it', async (context) => {
  for (const { limit, within, over } of LIMIT_CASES) {
    await context.test(limit, () => {
      assert.equal(limitProblem(within, TINY), null, 'the case at the limit is within it');
      assert.notEqual(limitProblem(over, TINY), null, 'the case over the limit exceeds it');
      assert.equal(decode(encode(within), TINY).ok, true, 'accepted at the limit');
      assert.equal(decode(encode(over), DEFAULT_DECODE_LIMITS).ok, true, 'accepted under the default limits');
      assert.deepEqual(
        decode(encode(over), TINY),
        { ok: false, reason: 'varint-too-large' },
        'refused over the limit',
      );
    });
  }
});

test('under small limits, fuzzed inputs are accepted exactly when they fit the limits', () => {
  // Limits that some fixtures fit and others exceed; without corpus growth every mutant is one step from a
  // fixture, so mutants land on both sides of each limit.
  const limits: DecodeLimits = {
    nameBytesMax: 6,
    addressBytesMax: 13,
    keyBytesMax: 3,
    valueBytesMax: 4,
    listCountMax: 3,
  };
  const disagreements: string[] = [];
  let acceptedByDefaultOnly = 0;
  const report = runDecoderFuzz({
    seed: SEED + 1,
    messageInputs: 30_000,
    frameInputs: 0,
    limits,
    corpusGrowth: false,
    // Decodes every input under both limits: the small limits may only refuse more, and exactly what exceeds them.
    decodeMessage: (bytes, small) => {
      const strict = decode(bytes, small);
      const loose = decode(bytes, DEFAULT_DECODE_LIMITS);
      const fits = loose.ok && limitProblem(loose.value, small) === null;
      if (strict.ok !== fits)
        disagreements.push(`${strict.ok ? 'accepted' : 'refused'} ${Buffer.from(bytes).toString('hex')}`);
      if (loose.ok && !strict.ok) acceptedByDefaultOnly++;
      return strict;
    },
  });
  assertSound(report.message, 'decode with small limits', SEED + 1);
  assert.deepEqual(disagreements.slice(0, 3), [], `seed ${SEED + 1}: ${disagreements.length} disagreements`);
  assert.ok(
    acceptedByDefaultOnly > 100,
    `only ${acceptedByDefaultOnly} inputs exceeded the small limits alone`,
  );
});

// ---------------------------------------------------------------------------------------------------------
// The harness itself must be able to fail.

function faultyRun(
  decodeMessage: (bytes: Uint8Array, limits: DecodeLimits) => ReturnType<typeof decode>,
): FuzzReport {
  return runDecoderFuzz({ seed: SEED, messageInputs: 3000, frameInputs: 0, decodeMessage });
}

test('the harness catches a decoder that throws, hangs, ignores its limits or accepts unaccounted bytes', () => {
  const throwing = faultyRun((bytes, limits) => {
    if (bytes[0] === 0x05 && bytes.length > 20) throw new RangeError('boom');
    return decode(bytes, limits);
  });
  assert.ok(throwing.message.throws > 0, 'a throwing decoder is caught');

  let slowInput: string | null = null;
  const hanging = faultyRun((bytes, limits) => {
    const hex = Buffer.from(bytes).toString('hex');
    if (slowInput === null && bytes[0] === 0x03 && bytes.length > 30) slowInput = hex;
    // A decoder that takes 60 ms on one particular input, every time it sees it.
    if (hex === slowInput) for (const start = performance.now(); performance.now() - start < 60; );
    return decode(bytes, limits);
  });
  assert.ok(hanging.message.slowInputs >= 1, 'a decoder that hangs on an input is caught');

  const limitless = runDecoderFuzz({
    seed: SEED,
    messageInputs: 3000,
    frameInputs: 0,
    limits: TINY,
    decodeMessage: (bytes) => decode(bytes, DEFAULT_DECODE_LIMITS),
  });
  assert.ok(limitless.message.problems > 0, 'a decoder that ignores its limits is caught');

  const lenient = faultyRun((bytes, limits) => {
    // Ignores one trailing byte: the accepted message no longer accounts for every input byte.
    const exact = decode(bytes, limits);
    return exact.ok || bytes.length === 0 ? exact : decode(bytes.subarray(0, bytes.length - 1), limits);
  });
  assert.ok(lenient.message.problems > 0, 'a decoder that accepts trailing bytes is caught');
});
