/**
 * Proves that wire format v1 stays frozen: encoding each representative message gives exactly the bytes of
 * its golden fixture in test/fixtures/wire, decoding the fixture gives the message back, the code tables keep
 * their shipped values, four fixtures read byte by byte as docs/protocol.md specifies (spelled out here by
 * hand, independently of the encoder), and the worked hash example in docs/protocol.md matches the code.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fnv1aInteger, fnv1aString, identityHashA, identityHashB, memberKey } from '../../src/core/hash.js';
import {
  CLUSTER_NAME_BYTES_MAX,
  COUNTER_MAX,
  DEFAULT_DECODE_LIMITS,
  decode,
  decodeFrameHeader,
  encode,
  encodedLength,
  encodeFrame,
  FRAME_FLAG_ENCRYPTED,
  FRAME_MAGIC,
  MEMBER_STATUSES,
  MESSAGE_CODES,
  type Message,
  PROTOCOL_VERSION,
  VERDICT_REASONS,
} from '../../src/wire/index.js';

const FIXTURES_FOLDER = new URL('../fixtures/wire/', import.meta.url);

/** Every fixture the format is frozen by; a missing or unexpected file fails the inventory test. */
const FIXTURE_NAMES = [
  'ack',
  'ack-empty',
  'ack-reset',
  'counters-max',
  'frame-heartbeat',
  'heartbeat',
  'syn-ack',
  'syn-explicit',
  'syn-no-page',
  'syn-positional',
  'sync',
  'unicode',
] as const;

interface FixtureJson {
  readonly description: string;
  readonly clusterName?: string;
  readonly message: Message;
}

/** Hex text to bytes: `#` starts a comment line, whitespace is ignored, anything else must be hex digits. */
function parseHex(text: string): Uint8Array {
  const digits = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('')
    .replace(/\s+/g, '');
  assert.match(digits, /^([0-9a-f]{2})*$/, 'fixture hex must be pairs of lowercase hex digits');
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

function readFixture(name: string): { bytes: Uint8Array; json: FixtureJson } {
  const bytes = parseHex(readFileSync(new URL(`${name}.hex`, FIXTURES_FOLDER), 'utf8'));
  const json = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES_FOLDER), 'utf8')) as FixtureJson;
  return { bytes, json };
}

/** The fixtures' JSON form of a decoded value: typed-array columns become plain number arrays. */
function jsonForm(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, item) => (ArrayBuffer.isView(item) ? Array.from(item as Uint8Array) : item)),
  );
}

const ascii = (text: string): number[] => Array.from(text, (character) => character.charCodeAt(0));

test('the fixture folder holds exactly the frozen set of fixtures, each as .hex and .json', () => {
  const files = readdirSync(FIXTURES_FOLDER).sort();
  const expected = FIXTURE_NAMES.flatMap((name) => [`${name}.hex`, `${name}.json`]).sort();
  assert.deepEqual(files, expected);
});

test('the fixtures cover every message type, both page kinds, verdicts, resets, tombstones, frames and unicode', () => {
  const messages = FIXTURE_NAMES.map((name) => readFixture(name).json);
  const text = JSON.stringify(messages);
  assert.deepEqual(
    new Set(messages.map((fixture) => fixture.message.type)),
    new Set(Object.keys(MESSAGE_CODES)),
    'one fixture per message type at least',
  );
  for (const needle of [
    '"kind":"positional"',
    '"kind":"explicit"',
    '"page":null',
    '"reason":"phi"',
    '"reason":"refused"',
    '"reason":"left"',
    '"reset":true',
    '"value":null',
    '"replyWanted":true',
  ]) {
    assert.ok(text.includes(needle), `some fixture contains ${needle}`);
  }
  assert.ok(
    messages.some((fixture) => fixture.clusterName !== undefined),
    'a frame fixture',
  );
  assert.ok(/[\u{10000}-\u{10ffff}]/u.test(text), 'a fixture with a 4-byte UTF-8 character');
});

for (const name of FIXTURE_NAMES) {
  test(`fixture ${name}: encode gives its bytes exactly and decode gives its message back`, () => {
    const { bytes, json } = readFixture(name);
    const { message, clusterName } = json;
    if (clusterName === undefined) {
      assert.deepEqual(encode(message), bytes);
      assert.equal(encodedLength(message), bytes.length);
      const decoded = decode(bytes);
      assert.ok(decoded.ok, `decode failed: ${decoded.ok ? '' : decoded.reason}`);
      assert.deepEqual(jsonForm(decoded.value), message);
      return;
    }
    assert.deepEqual(encodeFrame(clusterName, message), bytes);
    const frame = decodeFrameHeader(bytes);
    assert.ok(frame.ok, `frame header failed: ${frame.ok ? '' : frame.reason}`);
    assert.deepEqual(frame.value.header, { clusterName, flags: 0 });
    const decoded = decode(bytes.subarray(frame.value.payloadOffset));
    assert.ok(decoded.ok, `decode failed: ${decoded.ok ? '' : decoded.reason}`);
    assert.deepEqual(jsonForm(decoded.value), message);
  });
}

// Hand checks: the bytes below were written from docs/protocol.md field by field, not copied from the encoder.
// LEB128 by hand: 1,700,000,000,000 = 49·128^5 + 60·128^4 + 127·128^3 + 21·128^2 + 80·128 + 0, so its groups
// from the least significant are 0, 80, 21, 127, 60, 49: bytes 80 d0 95 ff bc 31.
const NODE_A_ENTRY = [
  ...[0x06, ...ascii('node-a')], // name: varint length 6, then UTF-8
  ...[0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31], // generation 1,700,000,000,000
  ...[0x0d, ...ascii('10.0.0.1:7946')], // address: 13 bytes
  0x2a, // heartbeat 42
  0x00, // flags: status 0 (alive), bit 2 clear (no verdict)
  0x03, // maxVersion 3
];

test('hand check: the heartbeat fixture is code 5 followed by one member entry', () => {
  assert.deepEqual(readFixture('heartbeat').bytes, Uint8Array.from([0x05, ...NODE_A_ENTRY]));
});

test('hand check: the frame fixture is magic "GV", version 1, flags 0, cluster name "prod", then the message', () => {
  const header = [0x47, 0x56, 0x01, 0x00, 0x04, ...ascii('prod')];
  assert.deepEqual(readFixture('frame-heartbeat').bytes, Uint8Array.from([...header, 0x05, ...NODE_A_ENTRY]));
});

test('hand check: the counters-max fixture holds the longest varints the format allows', () => {
  // 2^48 = 64·128^6: six zero groups (80, continuation set) and a last group of 64 (40).
  const two48 = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40];
  // 2^53-1 is 53 one bits: seven full groups (ff) and a last group of 4 bits (0f).
  const safeMax = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f];
  // 2^32 = 2^28·16: four zero groups and 16 = 0x10.
  const two32 = [0x80, 0x80, 0x80, 0x80, 0x10];
  const expected = [
    0x02, // syn-ack
    // digest sender: name "m", generation 2^53-1, empty address, heartbeat 2^48
    ...[0x01, 0x6d, ...safeMax, 0x00, ...two48],
    0x05, // flags: status 1 (suspect) | bit 2 (verdict present)
    ...two48, // maxVersion
    ...[0x01, 0x77, 0x00, ...two48, ...two48], // verdict: accuser "w", reason 0 (phi), phi and silence 2^48
    0x00, // no news
    ...[0x01, 0x00, ...two32], // positional page, range [0, 2^32)
    ...[0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00], // hashA, hashB as big-endian u32
    0x01, // one member
    ...two48, // its heartbeat
    // maxVersion·4 + status = 2^50 + 3: low group 3 with continuation (83), six zero groups, then 2^50/2^49 = 2
    ...[0x83, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02],
    0x01, // one delta
    ...[0x01, 0x6d, 0x00, 0x00, 0x00, 0x00, ...two48], // member "m", generation 0, "", heartbeat 0, alive, 2^48
    0x00, // delta flags: not a reset
    ...[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f], // fromVersion 2^48-2: 47 one bits above a zero bit
    ...two48, // gcVersion
    0x02, // two key-values
    // "k", version 2^48-1 packed as 2·version = 2^49-2 (49 bits, lowest 0), then the empty value
    ...[0x01, 0x6b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00],
    // "k", version 2^48 as a tombstone: 2·2^48 + 1 = 2^49 + 1, eight bytes, no value follows
    ...[0x01, 0x6b, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
  ];
  assert.deepEqual(readFixture('counters-max').bytes, Uint8Array.from(expected));
});

test('hand check: the unicode fixture writes UTF-8 as specified', () => {
  const bytes = Array.from(readFixture('unicode').bytes);
  const contains = (needle: number[]) =>
    bytes.some((_, start) => needle.every((byte, offset) => bytes[start + offset] === byte));
  // "nœud-é": œ is U+0153 = C5 93 and é is U+00E9 = C3 A9, 8 bytes in all.
  assert.ok(contains([0x08, 0x6e, 0xc5, 0x93, 0x75, 0x64, 0x2d, 0xc3, 0xa9]));
  // "🔑" is U+1F511 = F0 9F 94 91; as a key: length 4, the bytes, then version 3 packed as 6.
  assert.ok(contains([0x04, 0xf0, 0x9f, 0x94, 0x91, 0x06]));
  // "a\uFEFFb" keeps U+FEFF (EF BB BF) inside the string; version 4 as a tombstone packs to 9.
  assert.ok(contains([0x05, 0x61, 0xef, 0xbb, 0xbf, 0x62, 0x09]));
});

test('message codes and the status and reason tables keep their frozen values (append-only)', () => {
  assert.deepEqual({ ...MESSAGE_CODES }, { syn: 1, 'syn-ack': 2, ack: 3, sync: 4, heartbeat: 5 });
  assert.deepEqual([...MEMBER_STATUSES], ['alive', 'suspect', 'down', 'left']);
  assert.deepEqual([...VERDICT_REASONS], ['phi', 'refused', 'left']);
  assert.equal(FRAME_MAGIC, 0x4756);
  assert.equal(PROTOCOL_VERSION, 1);
  assert.equal(FRAME_FLAG_ENCRYPTED, 0x01);
  assert.equal(CLUSTER_NAME_BYTES_MAX, 64);
  assert.equal(COUNTER_MAX, 2 ** 48);
  assert.deepEqual(
    { ...DEFAULT_DECODE_LIMITS },
    {
      nameBytesMax: 128,
      addressBytesMax: 256,
      keyBytesMax: 512,
      valueBytesMax: 65536,
      listCountMax: 1 << 20,
    },
  );
});

test('the tables are what goes on the wire: status, reason and message code bytes', () => {
  // A heartbeat for member "n", generation 0, address "", heartbeat 0: 05 01 6e 00 00 00 FLAGS 00 ...
  MEMBER_STATUSES.forEach((status, code) => {
    const sender = {
      name: 'n',
      generation: 0,
      address: '',
      heartbeat: 0,
      status,
      maxVersion: 0,
      verdict: null,
    };
    assert.deepEqual(encode({ type: 'heartbeat', sender }), Uint8Array.from([5, 1, 0x6e, 0, 0, 0, code, 0]));
  });
  VERDICT_REASONS.forEach((reason, code) => {
    const verdict = { accuser: 'a', reason, phiHundredths: 0, silenceMs: 0 };
    const sender = {
      name: 'n',
      generation: 0,
      address: '',
      heartbeat: 0,
      status: 'down',
      maxVersion: 0,
      verdict,
    } as const;
    // flags 0x06 = status 2 (down) | bit 2; then accuser "a", the reason byte, phi 0, silence 0.
    assert.deepEqual(
      encode({ type: 'heartbeat', sender }),
      Uint8Array.from([5, 1, 0x6e, 0, 0, 0, 0x06, 0, 1, 0x61, code, 0, 0]),
    );
  });
  assert.deepEqual(encode({ type: 'ack', deltas: [] }), Uint8Array.from([3, 0]));
});

test('varints are written as the examples in docs/protocol.md, and broken varints are refused', () => {
  // A heartbeat from member "n" with the varint under test as its generation: 05 01 6e VARINT 00 00 00 00.
  const heartbeatBytes = (varint: readonly number[]) => Uint8Array.from([5, 1, 0x6e, ...varint, 0, 0, 0, 0]);
  const heartbeatWith = (generation: number): Message => ({
    type: 'heartbeat',
    sender: {
      name: 'n',
      generation,
      address: '',
      heartbeat: 0,
      status: 'alive',
      maxVersion: 0,
      verdict: null,
    },
  });
  const examples: readonly [number, number[]][] = [
    [0, [0x00]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [300, [0xac, 0x02]],
    [2 ** 32, [0x80, 0x80, 0x80, 0x80, 0x10]],
    [2 ** 48, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]],
    [Number.MAX_SAFE_INTEGER, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
  ];
  for (const [value, varint] of examples) {
    assert.deepEqual(encode(heartbeatWith(value)), heartbeatBytes(varint), `varint of ${value}`);
  }
  const refusals: readonly [string, number[]][] = [
    ['varint-not-minimal', [0x80, 0x00]], // 0 in two bytes
    ['varint-not-minimal', [0xff, 0x80, 0x00]], // 127 in three bytes
    ['varint-too-long', [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]], // nine bytes
    ['varint-too-large', [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]], // 2^53
  ];
  for (const [reason, varint] of refusals) {
    assert.deepEqual(decode(heartbeatBytes(varint)), { ok: false, reason }, varint.join(' '));
  }
  // Counters stop at 2^48: the heartbeat field (after the empty address) refuses 2^48 + 1.
  const overCounter = Uint8Array.from([5, 1, 0x6e, 0, 0, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0, 0]);
  assert.deepEqual(decode(overCounter), { ok: false, reason: 'varint-too-large' });
});

test('the worked hash example in docs/protocol.md is what src/core/hash.ts computes', () => {
  // Member "node-a", generation 1,700,000,000,000. The values were recomputed independently with Python's
  // integers from the specification when the example was written; test/unit/hash.test.ts covers the
  // algorithms themselves.
  const nameState = fnv1aString('node-a');
  assert.equal(nameState, 0x04c3b593);
  assert.equal(memberKey('node-a'), 0x3bc1e404);
  assert.equal(fnv1aInteger(1_700_000_000_000, nameState), 0x8a81d207);
  assert.equal(identityHashA('node-a', 1_700_000_000_000), 0x43bf7f14);
  assert.equal(fnv1aInteger(1_700_000_000_000, 0x1fffb72f), 0xeb556013);
  assert.equal(identityHashB('node-a', 1_700_000_000_000), 0xfd014234);
});
