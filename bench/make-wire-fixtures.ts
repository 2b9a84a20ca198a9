/**
 * Writes the golden fixtures of wire format v1 into test/fixtures/wire: for each representative message a
 * `<name>.hex` file (the exact bytes, as hex text with `#` comments) and a `<name>.json` file (the message,
 * with typed-array columns written as number arrays). test/unit/wire-golden.test.ts holds the codec to them.
 *
 * Regenerate only when the format version changes: the fixtures exist to freeze v1, so a codec change that
 * alters them is a format change, not a reason to rewrite them. Run with `npx tsx bench/make-wire-fixtures.ts`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { identityHashA, identityHashB, memberKey } from '../src/core/index.js';
import {
  positionalPage as buildPositionalPage,
  COUNTER_MAX,
  encode,
  encodeFrame,
  type MemberEntry,
  type Message,
  type OwnerDelta,
  type PositionalPage,
} from '../src/wire/index.js';

const FIXTURES_FOLDER = new URL('../test/fixtures/wire/', import.meta.url);
const HEX_BYTES_PER_LINE = 16;

interface Fixture {
  readonly name: string;
  readonly description: string;
  /** Present when the fixture is a whole frame (header and plaintext message) rather than a bare message. */
  readonly clusterName?: string;
  readonly message: Message;
}

function member(name: string, fields: Partial<MemberEntry> = {}): MemberEntry {
  return {
    name,
    generation: 1_700_000_000_000,
    address: '10.0.0.1:7946',
    heartbeat: 42,
    status: 'alive',
    maxVersion: 0,
    verdict: null,
    ...fields,
  };
}

const nodeA = member('node-a', { maxVersion: 3 });
const nodeB = member('node-b', { generation: 1_700_000_000_500, address: '10.0.0.2:7946', heartbeat: 40 });
const nodeC = member('node-c', {
  generation: 1_700_000_001_000,
  address: '10.0.0.3:7946',
  heartbeat: 17,
  status: 'suspect',
  maxVersion: 5,
  verdict: { accuser: 'node-b', reason: 'phi', phiHundredths: 812, silenceMs: 4200 },
});
const nodeD = member('node-d', {
  address: '10.0.0.4:7946',
  heartbeat: 9,
  status: 'down',
  verdict: { accuser: 'node-a', reason: 'refused', phiHundredths: 0, silenceMs: 1500 },
});
const nodeE = member('node-e', {
  address: '10.0.0.5:7946',
  heartbeat: 200,
  status: 'left',
  maxVersion: 2,
  verdict: { accuser: 'node-e', reason: 'left', phiHundredths: 0, silenceMs: 0 },
});

/** A positional page as the core builds it: members in key order, hashes XORed over their identities. */
function positionalPage(
  members: readonly MemberEntry[],
  rangeStart: number,
  rangeEnd: number,
): PositionalPage {
  const sorted = [...members].sort((left, right) => memberKey(left.name) - memberKey(right.name));
  let hashA = 0;
  let hashB = 0;
  for (const entry of sorted) {
    hashA ^= identityHashA(entry.name, entry.generation);
    hashB ^= identityHashB(entry.name, entry.generation);
  }
  return buildPositionalPage({
    rangeStart,
    rangeEnd,
    hashA: hashA >>> 0,
    hashB: hashB >>> 0,
    heartbeats: sorted.map((entry) => entry.heartbeat),
    maxVersions: sorted.map((entry) => entry.maxVersion),
    statuses: sorted.map((entry) => ['alive', 'suspect', 'down', 'left'].indexOf(entry.status)),
  });
}

const nodeADelta: OwnerDelta = {
  member: nodeA,
  reset: false,
  fromVersion: 0,
  gcVersion: 0,
  entries: [
    { key: 'role', value: 'db', version: 1 },
    { key: 'zone', value: 'eu-1', version: 2 },
    { key: 'tmp', value: null, version: 3 },
  ],
};

const FIXTURES: readonly Fixture[] = [
  {
    name: 'heartbeat',
    description: 'heartbeat from an alive member without a verdict note',
    message: { type: 'heartbeat', sender: nodeA },
  },
  {
    name: 'frame-heartbeat',
    description: 'a whole plaintext frame: header with cluster name "prod", then a heartbeat',
    clusterName: 'prod',
    message: { type: 'heartbeat', sender: nodeA },
  },
  {
    name: 'syn-positional',
    description: 'syn whose digest carries news with a phi verdict note and a positional page of 3 members',
    message: {
      type: 'syn',
      digest: { sender: nodeA, news: [nodeC], page: positionalPage([nodeA, nodeB, nodeC], 0, 2 ** 32) },
    },
  },
  {
    name: 'syn-explicit',
    description: 'syn with an explicit page of 2 members, one down with a refused verdict note',
    message: {
      type: 'syn',
      digest: {
        sender: nodeB,
        news: [],
        page: { kind: 'explicit', rangeStart: 0x4000_0000, rangeEnd: 0x8000_0000, entries: [nodeA, nodeD] },
      },
    },
  },
  {
    name: 'syn-no-page',
    description: 'syn without a page (page kind 0), news of a member that left',
    message: { type: 'syn', digest: { sender: nodeB, news: [nodeE], page: null } },
  },
  {
    name: 'syn-ack',
    description:
      'syn-ack: digest with a positional page of part of the key space, and one delta with a tombstone',
    message: {
      type: 'syn-ack',
      digest: { sender: nodeB, news: [], page: positionalPage([nodeA, nodeB], 0x1000, 0xfffff000) },
      deltas: [nodeADelta],
    },
  },
  {
    name: 'ack',
    description: 'ack with one incremental delta starting above version 3',
    message: {
      type: 'ack',
      deltas: [
        {
          member: nodeC,
          reset: false,
          fromVersion: 3,
          gcVersion: 1,
          entries: [
            { key: 'load', value: '0.73', version: 4 },
            { key: 'disk', value: 'ok', version: 5 },
          ],
        },
      ],
    },
  },
  {
    name: 'ack-reset',
    description: 'ack with a reset delta (flags bit 0) whose collection point is version 7',
    message: {
      type: 'ack',
      deltas: [
        {
          member: member('node-f', { address: '10.0.0.6:7946', maxVersion: 10 }),
          reset: true,
          fromVersion: 0,
          gcVersion: 7,
          entries: [
            { key: 'a', value: 'kept', version: 8 },
            { key: 'b', value: null, version: 10 },
          ],
        },
      ],
    },
  },
  {
    name: 'ack-empty',
    description: 'the smallest message: an ack with no deltas',
    message: { type: 'ack', deltas: [] },
  },
  {
    name: 'sync',
    description: 'sync asking for a reply, with four members (every status) and one delta',
    message: {
      type: 'sync',
      sender: nodeA,
      replyWanted: true,
      members: [nodeB, nodeC, nodeD, nodeE],
      deltas: [nodeADelta],
    },
  },
  {
    name: 'unicode',
    description:
      'names, keys and values outside ASCII: 2-, 3- and 4-byte UTF-8, a combining mark, U+FEFF inside',
    message: {
      type: 'ack',
      deltas: [
        {
          member: member('nœud-é', { address: '[fe80::1]:7946', maxVersion: 4 }),
          reset: false,
          fromVersion: 0,
          gcVersion: 0,
          entries: [
            { key: 'clé', value: 'ünïcödé', version: 1 },
            { key: '键', value: '值', version: 2 },
            { key: '🔑', value: '😀 e\u0301', version: 3 },
            { key: 'a\ufeffb', value: null, version: 4 },
          ],
        },
      ],
    },
  },
  {
    name: 'counters-max',
    description: 'every counter at its documented maximum: generation 2^53-1, heartbeats and versions 2^48',
    message: {
      type: 'syn-ack',
      digest: {
        sender: member('m', {
          generation: Number.MAX_SAFE_INTEGER,
          address: '',
          heartbeat: COUNTER_MAX,
          status: 'suspect',
          maxVersion: COUNTER_MAX,
          verdict: { accuser: 'w', reason: 'phi', phiHundredths: COUNTER_MAX, silenceMs: COUNTER_MAX },
        }),
        news: [],
        page: buildPositionalPage({
          rangeStart: 0,
          rangeEnd: 2 ** 32,
          hashA: 0xffffffff,
          hashB: 0,
          heartbeats: [COUNTER_MAX],
          maxVersions: [COUNTER_MAX],
          statuses: [3],
        }),
      },
      deltas: [
        {
          member: member('m', { generation: 0, address: '', heartbeat: 0, maxVersion: COUNTER_MAX }),
          reset: false,
          fromVersion: COUNTER_MAX - 2,
          gcVersion: COUNTER_MAX,
          entries: [
            { key: 'k', value: '', version: COUNTER_MAX - 1 },
            { key: 'k', value: null, version: COUNTER_MAX },
          ],
        },
      ],
    },
  },
];

/** The JSON form of a message: plain JSON, with typed-array columns written as number arrays. */
function messageToJsonText(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item) => (ArrayBuffer.isView(item) ? Array.from(item as Uint8Array) : item),
    2,
  );
}

function hexText(fixture: Fixture, bytes: Uint8Array): string {
  const lines = [
    `# ${fixture.name}: ${fixture.description}.`,
    `# ${bytes.length} bytes${fixture.clusterName === undefined ? ' (a bare message: code and body)' : ' (a frame: header, then the message)'}.`,
    '# Generated by bench/make-wire-fixtures.ts; regenerate only when the format version changes.',
  ];
  for (let offset = 0; offset < bytes.length; offset += HEX_BYTES_PER_LINE) {
    const row = Array.from(bytes.subarray(offset, offset + HEX_BYTES_PER_LINE), (byte) =>
      byte.toString(16).padStart(2, '0'),
    );
    lines.push(row.join(' '));
  }
  return `${lines.join('\n')}\n`;
}

function main(): void {
  mkdirSync(FIXTURES_FOLDER, { recursive: true });
  for (const fixture of FIXTURES) {
    const bytes =
      fixture.clusterName === undefined
        ? encode(fixture.message)
        : encodeFrame(fixture.clusterName, fixture.message);
    const json: Record<string, unknown> = { description: fixture.description };
    if (fixture.clusterName !== undefined) json.clusterName = fixture.clusterName;
    json.message = fixture.message;
    writeFileSync(new URL(`${fixture.name}.hex`, FIXTURES_FOLDER), hexText(fixture, bytes));
    writeFileSync(new URL(`${fixture.name}.json`, FIXTURES_FOLDER), `${messageToJsonText(json)}\n`);
    console.log(`${fixture.name}: ${bytes.length} bytes`);
  }
  // The JSON files live under test/, which the linter checks; format them the way it expects.
  const biome = fileURLToPath(new URL('../node_modules/.bin/biome', import.meta.url));
  execFileSync(biome, ['format', '--write', fileURLToPath(FIXTURES_FOLDER)], { stdio: 'inherit' });
}

main();
