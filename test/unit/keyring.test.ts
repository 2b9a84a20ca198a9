/**
 * Proves the keyring's guarantees: a sealed frame opens to the same message; keys roll (a keyring with A and
 * B reads frames sealed under either, one with only B cannot read A's); changing any byte of a frame, the
 * clear header included, fails authentication; frames of another cluster, plaintext frames and truncated
 * frames are refused with their own reasons and never throw; overheadBytes is exact; bad keys are refused
 * with a KeyError naming their position. A small property test round-trips random messages.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PlainFrameCodec } from '../../src/runtime/frame-codec.js';
import {
  generateKey,
  KEYS_MAX,
  KeyError,
  type KeyErrorCode,
  Keyring,
  KeyringFrameCodec,
  keyIdOf,
} from '../../src/runtime/keyring.js';
import {
  decodeFrameHeader,
  encodedLength,
  FRAME_FLAG_ENCRYPTED,
  frameHeaderLength,
  type MemberEntry,
  type Message,
} from '../../src/wire/index.js';

const KEY_A = generateKey();
const KEY_B = generateKey();

function entry(name: string, heartbeat = 7): MemberEntry {
  return {
    name,
    generation: 1_767_225_600_000,
    address: '127.0.0.1:7946',
    heartbeat,
    status: 'alive',
    maxVersion: 3,
    verdict: null,
  };
}

const MESSAGE: Message = {
  type: 'ack',
  deltas: [
    {
      member: entry('node-1'),
      reset: false,
      fromVersion: 0,
      gcVersion: 0,
      entries: [
        { key: 'role', value: 'web', version: 1 },
        { key: 'zone', value: null, version: 3 },
      ],
    },
  ],
};

function codec(keys: readonly string[], clusterName = 'prod'): KeyringFrameCodec {
  return new KeyringFrameCodec({ clusterName, keyring: Keyring.fromBase64(keys) });
}

function expectReason(result: ReturnType<KeyringFrameCodec['open']>, reason: string): void {
  assert.equal(result.ok, false, `expected the frame to be refused with ${reason}`);
  if (!result.ok) assert.equal(result.reason, reason);
}

test('a sealed frame opens to the same message, and its header says encrypted', () => {
  const sealing = codec([KEY_A]);
  const frame = sealing.seal(MESSAGE);
  const opened = sealing.open(frame);
  assert.ok(opened.ok);
  assert.deepEqual(opened.message, MESSAGE);
  const header = decodeFrameHeader(frame);
  assert.ok(header.ok);
  assert.equal(header.value.header.clusterName, 'prod');
  assert.equal(header.value.header.flags & FRAME_FLAG_ENCRYPTED, FRAME_FLAG_ENCRYPTED);
  assert.equal(frame[header.value.payloadOffset], sealing.keyring.primaryId);
});

test('two seals of one message differ (fresh nonce) and both open', () => {
  const sealing = codec([KEY_A]);
  const first = sealing.seal(MESSAGE);
  const second = sealing.seal(MESSAGE);
  assert.notDeepEqual(first, second);
  assert.ok(sealing.open(first).ok && sealing.open(second).ok);
});

test('overheadBytes is exactly header + key id + nonce + tag, for every frame', () => {
  for (const clusterName of ['', 'prod', 'x'.repeat(64), 'grappe-é']) {
    const sealing = codec([KEY_A], clusterName);
    assert.equal(sealing.overheadBytes, frameHeaderLength(clusterName) + 1 + 12 + 16);
    const frame = sealing.seal(MESSAGE);
    assert.equal(frame.length, sealing.overheadBytes + encodedLength(MESSAGE));
  }
});

test('rotation: a keyring with A and B reads frames sealed under A or B; B alone cannot read A', () => {
  const underA = codec([KEY_A]).seal(MESSAGE);
  const underB = codec([KEY_B]).seal(MESSAGE);
  const both = codec([KEY_A, KEY_B]);
  const bothReversed = codec([KEY_B, KEY_A]);
  for (const reader of [both, bothReversed]) {
    assert.ok(reader.open(underA).ok);
    assert.ok(reader.open(underB).ok);
  }
  expectReason(codec([KEY_B]).open(underA), 'authentication');
  expectReason(codec([KEY_A]).open(underB), 'authentication');
});

test('rotation through install, use and remove keeps the cluster readable at every step', () => {
  const old = codec([KEY_A]);
  const rolled = codec([KEY_A]);
  rolled.keyring.install(KEY_B);
  assert.equal(rolled.keyring.primaryId, keyIdOf(Buffer.from(KEY_A, 'base64')));
  assert.ok(old.open(rolled.seal(MESSAGE)).ok, 'installing a key does not change what seals');
  old.keyring.install(KEY_B);
  rolled.keyring.use(KEY_B);
  assert.equal(rolled.keyring.primaryId, keyIdOf(Buffer.from(KEY_B, 'base64')));
  assert.ok(old.open(rolled.seal(MESSAGE)).ok, 'a node that installed B reads B');
  assert.ok(rolled.open(old.seal(MESSAGE)).ok, 'a node still sealing with A is read');
  assert.throws(
    () => rolled.keyring.remove(KEY_B),
    (error: unknown) => codeOf(error) === 'KEY_IS_PRIMARY',
  );
  rolled.keyring.remove(KEY_A);
  assert.deepEqual(rolled.keyring.list(), [KEY_B]);
  expectReason(rolled.open(codec([KEY_A]).seal(MESSAGE)), 'authentication');
});

test('changing any byte of a sealed frame fails; a header that still parses fails authentication', () => {
  const keys = [KEY_A, KEY_B];
  const frame = codec(keys).seal(MESSAGE);
  let authenticated = 0;
  for (let index = 0; index < frame.length; index++) {
    for (const bit of [0x01, 0x10, 0x80]) {
      const tampered = frame.slice();
      tampered[index] = tampered[index]! ^ bit;
      // Read it as a node of whatever cluster the tampered header now names would: a header that still
      // parses and says encrypted must be caught by authentication, since it is the additional data.
      const header = decodeFrameHeader(tampered);
      if (!header.ok || (header.value.header.flags & FRAME_FLAG_ENCRYPTED) === 0) {
        assert.equal(codec(keys).open(tampered).ok, false, `byte ${index} ^ ${bit} opened`);
        continue;
      }
      expectReason(codec(keys, header.value.header.clusterName).open(tampered), 'authentication');
      authenticated++;
    }
  }
  // Every byte after the header, and most header bytes, reached authentication.
  assert.ok(authenticated >= 3 * (frame.length - frameHeaderLength('prod')), `${authenticated}`);
});

test('a header changed to another valid header of the same cluster still fails authentication', () => {
  // Flip the cluster name's case: the receiver of the other cluster sees its own name in the header, but the
  // additional data no longer matches what was sealed.
  const sealing = codec([KEY_A], 'Prod');
  const frame = sealing.seal(MESSAGE);
  const nameOffset = 5;
  frame[nameOffset] = 'p'.charCodeAt(0);
  expectReason(codec([KEY_A], 'prod').open(frame), 'authentication');
});

test('a frame of another cluster is refused as wrong-cluster, a plaintext frame as missing-encryption', () => {
  expectReason(codec([KEY_A], 'prod').open(codec([KEY_A], 'staging').seal(MESSAGE)), 'wrong-cluster');
  expectReason(codec([KEY_A]).open(new PlainFrameCodec('prod').seal(MESSAGE)), 'missing-encryption');
  const plain = new PlainFrameCodec('prod');
  const opened = plain.open(codec([KEY_A]).seal(MESSAGE));
  assert.equal(opened.ok, false, 'a plain node cannot read an encrypted frame');
});

test('every truncation of a sealed frame is refused without throwing', () => {
  const sealing = codec([KEY_A]);
  const frame = sealing.seal(MESSAGE);
  for (let length = 0; length < frame.length; length++) {
    const opened = sealing.open(frame.subarray(0, length));
    assert.equal(opened.ok, false, `a frame cut to ${length} bytes opened`);
    if (!opened.ok && length >= frameHeaderLength('prod')) {
      assert.ok(['truncated', 'authentication'].includes(opened.reason), `${length}: ${opened.reason}`);
    }
  }
  expectReason(sealing.open(frame.subarray(0, sealing.overheadBytes - 1)), 'truncated');
});

function codeOf(error: unknown): KeyErrorCode | undefined {
  return error instanceof KeyError ? error.code : undefined;
}

test('bad keys are refused with a KeyError naming the position, never the key', () => {
  const short = Buffer.alloc(16, 7).toString('base64');
  const cases: [readonly string[], KeyErrorCode, number | undefined][] = [
    [[], 'KEYRING_EMPTY', undefined],
    [[KEY_A, short], 'KEY_WRONG_LENGTH', 1],
    [['not base64!'], 'KEY_NOT_BASE64', 0],
    [[KEY_A, KEY_B, ''], 'KEY_NOT_BASE64', 2],
    [[KEY_A, KEY_B, KEY_A], 'KEY_DUPLICATE', 2],
    [Array.from({ length: KEYS_MAX + 1 }, generateKey), 'KEYRING_FULL', undefined],
  ];
  for (const [keys, code, position] of cases) {
    assert.throws(
      () => Keyring.fromBase64(keys),
      (error: unknown) => {
        assert.ok(error instanceof KeyError);
        assert.equal(error.code, code);
        assert.equal(error.position, position);
        for (const key of keys) if (key.length > 0) assert.ok(!error.message.includes(key), 'leaks a key');
        if (position !== undefined) assert.match(error.message, new RegExp(`key ${position + 1}\\b`));
        return true;
      },
    );
  }
  assert.throws(
    () => Keyring.fromBase64([KEY_A]).use(KEY_B),
    (error) => codeOf(error) === 'KEY_NOT_INSTALLED',
  );
});

test('generateKey makes distinct 32-byte keys that a keyring accepts', () => {
  const keys = new Set(Array.from({ length: 8 }, generateKey));
  assert.equal(keys.size, 8);
  for (const key of keys) assert.equal(Buffer.from(key, 'base64').length, 32);
  assert.equal(Keyring.fromBase64([...keys]).size, 8);
});

const name = fc.string({ minLength: 1, maxLength: 20 });
const counter = fc.integer({ min: 0, max: 2 ** 40 });
const memberEntry = fc.record(
  {
    name,
    generation: counter,
    address: fc.string({ maxLength: 30 }),
    heartbeat: counter,
    status: fc.constantFrom('alive', 'suspect', 'down', 'left'),
    maxVersion: counter,
    verdict: fc.constant(null),
  },
  { noNullPrototype: true },
) as fc.Arbitrary<MemberEntry>;

const keyValues = fc
  .array(fc.tuple(fc.string({ maxLength: 12 }), fc.option(fc.string({ maxLength: 40 }))), { maxLength: 5 })
  .map((pairs) => pairs.map(([key, value], index) => ({ key, value, version: index + 1 })));

const message: fc.Arbitrary<Message> = fc.oneof(
  memberEntry.map((sender): Message => ({ type: 'heartbeat', sender })),
  fc.array(fc.tuple(memberEntry, keyValues), { maxLength: 3 }).map(
    (owners): Message => ({
      type: 'ack',
      deltas: owners.map(([member, entries]) => ({
        member,
        reset: false,
        fromVersion: 0,
        gcVersion: 0,
        entries,
      })),
    }),
  ),
);

test('property: open(seal(m)) is m for random messages, cluster names and keyrings', () => {
  fc.assert(
    fc.property(
      message,
      fc.string({ maxLength: 16 }),
      fc.integer({ min: 0, max: 2 }),
      (value, cluster, extra) => {
        const keys = [KEY_A, ...[KEY_B, generateKey()].slice(0, extra)];
        const sealing = codec(keys, cluster);
        const frame = sealing.seal(value);
        assert.equal(frame.length, sealing.overheadBytes + encodedLength(value));
        const opened = codec([...keys].reverse(), cluster).open(frame);
        assert.ok(opened.ok, opened.ok ? '' : opened.reason);
        assert.deepEqual(opened.message, value);
      },
    ),
    { numRuns: 200 },
  );
});
