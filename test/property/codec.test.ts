/**
 * Proves the codec's round-trip contract on generated messages of every type: decode(encode(m)) gives m back
 * (up to what the codec legitimately changes), encodedLength and the per-part length functions the core packs
 * datagrams with are exact, frames round-trip with their cluster name, and no strict prefix of a valid
 * encoding (nor the encoding with bytes appended) ever decodes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  positionalPage as buildPositionalPage,
  CLUSTER_NAME_BYTES_MAX,
  COUNTER_MAX,
  DEFAULT_DECODE_LIMITS,
  type Digest,
  decode,
  decodeFrameHeader,
  encode,
  encodedLength,
  encodeFrame,
  frameHeaderLength,
  type KeyValue,
  MEMBER_STATUSES,
  type MemberEntry,
  type Message,
  memberEntryLength,
  type OwnerDelta,
  ownerDeltaLength,
  type Page,
  pageLength,
  utf8Length,
  VarintCursor,
  VERDICT_REASONS,
  type VerdictNote,
  varintLength,
  Writer,
} from '../../src/wire/index.js';
import { DecodeFailure, Reader } from '../../src/wire/reader.js';

const LIMITS = DEFAULT_DECODE_LIMITS;

// ---------------------------------------------------------------------------------------------------------
// Text: every kind of UTF-16 the codec may be handed, bounded in UTF-8 bytes.

const TRICKY_CHARACTERS = [
  '\u0000',
  '\u007f',
  '\u0080',
  '\u07ff',
  '\u0800',
  '\uffff',
  '\ufeff',
  'e\u0301',
  '\u{1f600}',
];

/** One UTF-16 piece: ASCII, any BMP character, an astral character (a surrogate pair), or a lone surrogate. */
const textUnit = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0xffff }).map((code) => String.fromCharCode(code)) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((code) => String.fromCodePoint(code)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)) },
  { weight: 1, arbitrary: fc.constantFrom(...TRICKY_CHARACTERS) },
);

/** A string of at most `bytesMax` UTF-8 bytes: usually short and mixed, sometimes ASCII right up to the limit. */
function text(bytesMax: number, minLength = 0): fc.Arbitrary<string> {
  const mixed = fc.string({ unit: textUnit, minLength, maxLength: 12 });
  const long = fc
    .integer({ min: Math.max(minLength, 1), max: bytesMax })
    .chain((length) => fc.constantFrom('x'.repeat(length), 'é'.repeat(Math.floor(length / 2)) || 'x'));
  return fc
    .oneof({ weight: 9, arbitrary: mixed }, { weight: 1, arbitrary: long })
    .filter((value) => utf8Length(value) <= bytesMax && value.length >= minLength);
}

// ---------------------------------------------------------------------------------------------------------
// Numbers: small values most of the time, and the varint length boundaries and maxima.

function boundedNumber(max: number): fc.Arbitrary<number> {
  const edges = [
    0,
    1,
    127,
    128,
    16_383,
    16_384,
    2 ** 21 - 1,
    2 ** 21,
    2 ** 31,
    2 ** 32,
    2 ** 35,
    2 ** 42,
    2 ** 48,
    2 ** 49,
  ];
  return fc.oneof(
    fc.nat({ max: 1000 }),
    fc.constantFrom(...edges.filter((edge) => edge <= max), max, max - 1),
    fc.maxSafeNat().map((value) => value % (max + 1)),
  );
}

const counter = boundedNumber(COUNTER_MAX);
const generation = boundedNumber(Number.MAX_SAFE_INTEGER);
const keySpacePoint = boundedNumber(2 ** 32);
const word32 = boundedNumber(0xffffffff);

// ---------------------------------------------------------------------------------------------------------
// Messages. `Sizes` bounds the generated values so the prefix property stays fast.

interface Sizes {
  readonly valueBytesMax: number;
  readonly listMax: number;
}

const FULL: Sizes = { valueBytesMax: LIMITS.valueBytesMax, listMax: 4 };
const SMALL: Sizes = { valueBytesMax: 40, listMax: 3 };

const verdictNote: fc.Arbitrary<VerdictNote> = fc.record(
  {
    accuser: text(LIMITS.nameBytesMax),
    reason: fc.constantFrom(...VERDICT_REASONS),
    phiHundredths: counter,
    silenceMs: counter,
  },
  { noNullPrototype: true },
);

const memberEntry: fc.Arbitrary<MemberEntry> = fc.record(
  {
    // Names must not be empty: the decoder refuses empty names.
    name: text(LIMITS.nameBytesMax, 1),
    generation,
    address: text(LIMITS.addressBytesMax),
    heartbeat: counter,
    status: fc.constantFrom(...MEMBER_STATUSES),
    maxVersion: counter,
    verdict: fc.option(verdictNote, { nil: null }),
  },
  { noNullPrototype: true },
);

const keySpaceRange = fc
  .tuple(keySpacePoint, keySpacePoint)
  .map(([left, right]) => ({ rangeStart: Math.min(left, right), rangeEnd: Math.max(left, right) }));

/** Positional pages built from random columns, as tools build them (the core writes the same bytes). */
function positionalPage(sizes: Sizes): fc.Arbitrary<Page> {
  const row = fc.tuple(counter, counter, fc.integer({ min: 0, max: 3 }));
  return fc.tuple(keySpaceRange, word32, word32, fc.array(row, { maxLength: sizes.listMax * 3 })).map(
    ([range, hashA, hashB, rows]): Page =>
      buildPositionalPage({
        ...range,
        hashA,
        hashB,
        heartbeats: rows.map((columns) => columns[0]),
        maxVersions: rows.map((columns) => columns[1]),
        statuses: rows.map((columns) => columns[2]),
      }),
  );
}

function explicitPage(sizes: Sizes): fc.Arbitrary<Page> {
  return fc
    .tuple(keySpaceRange, fc.array(memberEntry, { maxLength: sizes.listMax }))
    .map(([range, entries]): Page => ({ kind: 'explicit', ...range, entries }));
}

function digest(sizes: Sizes): fc.Arbitrary<Digest> {
  return fc.record(
    {
      sender: memberEntry,
      news: fc.array(memberEntry, { maxLength: sizes.listMax }),
      page: fc.oneof(fc.constant(null), positionalPage(sizes), explicitPage(sizes)),
    },
    { noNullPrototype: true },
  );
}

/**
 * Key-values with versions strictly ascending above `fromVersion` and at most COUNTER_MAX, as the decoder
 * requires. Half of the time the last version sits exactly at COUNTER_MAX.
 */
function ownerDelta(sizes: Sizes): fc.Arbitrary<OwnerDelta> {
  const step = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 3 }) },
    { weight: 1, arbitrary: counter.map((value) => value + 1) },
  );
  const keyValue = fc.tuple(
    text(LIMITS.keyBytesMax),
    fc.option(text(sizes.valueBytesMax), { nil: null, freq: 3 }),
  );
  return fc
    .tuple(
      memberEntry,
      fc.boolean(),
      counter,
      fc.array(fc.tuple(step, keyValue), { maxLength: sizes.listMax }),
      fc.maxSafeNat(),
      fc.boolean(),
    )
    .map(([member, reset, gcVersion, steps, start, atTop]) => {
      const span = steps.reduce((sum, [size]) => sum + size, 0);
      if (span > COUNTER_MAX) return { member, reset, fromVersion: 0, gcVersion, entries: [] };
      const fromVersion = atTop ? COUNTER_MAX - span : start % (COUNTER_MAX - span + 1);
      let version = fromVersion;
      const entries: KeyValue[] = steps.map(([size, [key, value]]) => {
        version += size;
        return { key, value, version };
      });
      return { member, reset, fromVersion, gcVersion, entries };
    });
}

function message(sizes: Sizes): fc.Arbitrary<Message> {
  const deltas = fc.array(ownerDelta(sizes), { maxLength: sizes.listMax });
  return fc.oneof(
    digest(sizes).map((value): Message => ({ type: 'syn', digest: value })),
    fc
      .tuple(digest(sizes), deltas)
      .map(([value, list]): Message => ({ type: 'syn-ack', digest: value, deltas: list })),
    deltas.map((list): Message => ({ type: 'ack', deltas: list })),
    memberEntry.map((sender): Message => ({ type: 'heartbeat', sender })),
    fc.tuple(memberEntry, fc.boolean(), fc.array(memberEntry, { maxLength: sizes.listMax * 2 }), deltas).map(
      ([sender, replyWanted, members, list]): Message => ({
        type: 'sync',
        sender,
        replyWanted,
        members,
        deltas: list,
      }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------
// What the codec legitimately changes: lone surrogates become U+FFFD (UTF-8 cannot carry them). A decoded
// positional page's entries are a view into the frame, equal byte for byte to what was encoded.

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function normalise(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(LONE_SURROGATE, '\ufffd');
  if (Array.isArray(value)) return value.map(normalise);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  const record = value as Record<string, unknown>;
  return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, normalise(item)]));
}

const RUNS = { numRuns: 300, seed: 0x5eed_c0de } as const;

test('decode(encode(m)) gives m back for every message type', () => {
  fc.assert(
    fc.property(message(FULL), (original) => {
      const decoded = decode(encode(original));
      assert.ok(decoded.ok, `decode refused its own encoding: ${decoded.ok ? '' : decoded.reason}`);
      assert.deepStrictEqual(decoded.value, normalise(original));
    }),
    RUNS,
  );
});

test('encodedLength(m) equals encode(m).length, and the part lengths the core packs with are exact', () => {
  fc.assert(
    fc.property(message(FULL), ownerDelta(FULL), digest(SMALL), (original, delta, someDigest) => {
      assert.equal(encodedLength(original), encode(original).length);
      // An ack holding one delta is its code, a one-byte count and the delta.
      assert.equal(encode({ type: 'ack', deltas: [delta] }).length, 2 + ownerDeltaLength(delta));
      // A heartbeat is its code and one member entry.
      assert.equal(
        encode({ type: 'heartbeat', sender: delta.member }).length,
        1 + memberEntryLength(delta.member),
      );
      // A syn without news is its code, the sender, a one-byte news count and the page.
      const syn: Message = { type: 'syn', digest: { ...someDigest, news: [] } };
      assert.equal(
        encode(syn).length,
        1 + memberEntryLength(someDigest.sender) + 1 + pageLength(someDigest.page),
      );
    }),
    RUNS,
  );
});

test('encodeFrame and decodeFrameHeader round-trip the cluster name, and the payload decodes', () => {
  const clusterName = text(CLUSTER_NAME_BYTES_MAX);
  fc.assert(
    fc.property(clusterName, message(SMALL), (name, original) => {
      const frame = encodeFrame(name, original);
      assert.equal(frame.length, frameHeaderLength(name) + encodedLength(original));
      const header = decodeFrameHeader(frame);
      assert.ok(header.ok, `frame header refused: ${header.ok ? '' : header.reason}`);
      assert.deepStrictEqual(header.value, {
        header: { clusterName: normalise(name), flags: 0 },
        payloadOffset: frameHeaderLength(name),
      });
      const decoded = decode(frame.subarray(header.value.payloadOffset));
      assert.ok(decoded.ok, `payload refused: ${decoded.ok ? '' : decoded.reason}`);
      assert.deepStrictEqual(decoded.value, normalise(original));
      // A header cut anywhere before its end is refused.
      for (let length = 0; length < header.value.payloadOffset; length++) {
        assert.equal(
          decodeFrameHeader(frame.subarray(0, length)).ok,
          false,
          `header prefix of ${length} bytes`,
        );
      }
    }),
    RUNS,
  );
});

test('no strict prefix of a valid encoding decodes, nor the encoding with bytes appended', () => {
  fc.assert(
    fc.property(message(SMALL), fc.uint8Array({ minLength: 1, maxLength: 4 }), (original, extra) => {
      const bytes = encode(original);
      for (let length = 0; length < bytes.length; length++) {
        const result = decode(bytes.subarray(0, length));
        assert.equal(result.ok, false, `prefix of ${length} of ${bytes.length} bytes decoded`);
        assert.equal(typeof (result.ok ? undefined : result.reason), 'string');
      }
      const longer = new Uint8Array(bytes.length + extra.length);
      longer.set(bytes);
      longer.set(extra, bytes.length);
      assert.deepStrictEqual(decode(longer), { ok: false, reason: 'trailing-bytes' });
    }),
    { ...RUNS, numRuns: 150 },
  );
});

test('VarintCursor reads back every varint the writer wrote, one-byte, two-byte and long alike', () => {
  const value = fc.oneof(
    fc.integer({ min: 0, max: 0x7f }),
    fc.integer({ min: 0x80, max: 0x3fff }),
    fc.integer({ min: 0x4000, max: 2 ** 32 }),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  );
  fc.assert(
    fc.property(fc.array(value, { maxLength: 40 }), (values) => {
      const bytes = new Uint8Array(values.reduce((sum, v) => sum + varintLength(v), 0));
      const writer = new Writer(bytes);
      for (const v of values) writer.varint(v);
      const cursor = new VarintCursor(bytes);
      for (const v of values) assert.equal(cursor.next(), v);
      assert.equal(cursor.position, bytes.length);
    }),
    { numRuns: 500 },
  );
});

test('skipVarintPairs accepts and refuses exactly what varint() does, pair by pair', () => {
  // Bytes biased towards the edge cases: 0x00 (a second byte of 0 is not minimal), 0x7f/0x80 and 0xff.
  const byte = fc.oneof(
    fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0x81, 0xff),
    fc.integer({ min: 0, max: 255 }),
  );
  const firstMax = COUNTER_MAX;
  const secondMax = COUNTER_MAX * 4 + 3;
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 48 }), fc.integer({ min: 0, max: 12 }), (values, pairs) => {
      const bytes = Uint8Array.from(values);
      const outcome = (skip: (reader: Reader) => void) => {
        const reader = new Reader(bytes);
        try {
          skip(reader);
          return { position: reader.position, reason: null };
        } catch (error) {
          assert.ok(error instanceof DecodeFailure);
          return { position: -1, reason: error.reason };
        }
      };
      const expected = outcome((reader) => {
        for (let i = 0; i < pairs; i++) {
          reader.varint(firstMax);
          reader.varint(secondMax);
        }
      });
      assert.deepEqual(
        outcome((reader) => reader.skipVarintPairs(pairs, firstMax, secondMax)),
        expected,
      );
    }),
    { numRuns: 2000 },
  );
});
