/**
 * Fuzzes the wire decoder. It feeds `decode`, `decodeFrameHeader` and the runtime's `PlainFrameCodec.open`
 * random bytes and mutations (bit flips, byte inserts and deletes, truncation, splicing, inflated length
 * fields) of valid encodings: the golden fixtures of every message type in test/fixtures/wire, plus every
 * input that decoded during the run (a bounded corpus). It checks what the codec promises for each input:
 * no exception escapes; a refusal carries a reason; an accepted message re-encodes to exactly the input bytes
 * and stays within the DecodeLimits; no single decode takes longer than `slowDecodeMs`.
 *
 * One seed drives every choice, so a run replays exactly. test/fuzz/decode.test.ts runs this engine at a
 * size that fits the test suite; run the full million with
 *   npx tsx bench/fuzz-decoder.ts [--inputs 1000000] [--seed N]
 * which prints its findings and writes them into docs/benchmarks.md (section `fuzz-decoder`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SeededRandom } from '../src/core/index.js';
import { PlainFrameCodec } from '../src/runtime/frame-codec.js';
import {
  CLUSTER_NAME_BYTES_MAX,
  COUNTER_MAX,
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  type DecodeResult,
  decode,
  decodeFrameHeader,
  encode,
  encodedLength,
  encodeFrame,
  FRAME_FLAG_ENCRYPTED,
  frameHeaderLength,
  type MemberEntry,
  type Message,
  type OwnerDelta,
  utf8Length,
} from '../src/wire/index.js';
import { markdownTable, writeBenchmarkSection } from './lib/report.js';

const FIXTURES_FOLDER = new URL('../test/fixtures/wire/', import.meta.url);
/** The cluster the frame target's codec belongs to; frames of other clusters must come back `wrong-cluster`. */
export const FUZZ_CLUSTER_NAME = 'prod';
const CORPUS_SIZE_MAX = 512;
const INPUT_BYTES_MAX = 8192;
const CORPUS_INPUT_BYTES_MAX = 4096;
const EXAMPLES_MAX = 5;
/** Longer failing inputs are shown cut; the seed replays them whole. */
const EXAMPLE_BYTES_MAX = 1024;
const SLOW_RETRIES = 3;

export interface FuzzOptions {
  readonly seed: number;
  /** Inputs for `decode`. */
  readonly messageInputs: number;
  /** Inputs for `decodeFrameHeader` and `PlainFrameCodec.open` (each frame input goes to both). */
  readonly frameInputs: number;
  readonly limits?: DecodeLimits;
  /** A decode slower than this (confirmed by re-measuring) counts as a hang. */
  readonly slowDecodeMs?: number;
  /** Whether accepted inputs join the corpus (default true); off keeps every mutant one step from a fixture. */
  readonly corpusGrowth?: boolean;
  /** The message decoder under test; the real one unless a test checks that the harness catches faults. */
  readonly decodeMessage?: (bytes: Uint8Array, limits: DecodeLimits) => DecodeResult<Message>;
  readonly onProgress?: (done: number, total: number) => void;
}

/** What one decoder did with its inputs. A sound decoder has `throws`, `problems` and `slowInputs` at 0. */
export interface TargetReport {
  inputs: number;
  accepted: number;
  readonly rejectedByReason: Map<string, number>;
  throws: number;
  /** Accepted inputs that break the contract (re-encoding differs, a limit is exceeded), or reasonless refusals. */
  problems: number;
  slowInputs: number;
  slowestMs: number;
  slowestInputHex: string;
  readonly examples: string[];
}

export interface FuzzReport {
  readonly seed: number;
  readonly limits: DecodeLimits;
  readonly message: TargetReport;
  readonly frameHeader: TargetReport;
  readonly frameOpen: TargetReport;
  /** Accepted messages by type: shows the mutations reach every message type's decoder. */
  readonly acceptedByType: Map<string, number>;
  /** Inputs and accepted inputs per generator (`random-bytes`, `random-structured`, or the first mutation). */
  readonly origins: Map<string, { inputs: number; accepted: number }>;
  corpusSize: number;
  totalMs: number;
}

// ---------------------------------------------------------------------------------------------------------
// Corpus

function parseHex(text: string): Uint8Array {
  const digits = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('')
    .replace(/\s+/g, '');
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

/** Valid encodings to mutate: every golden fixture as a bare message and as a frame of the fuzzed cluster. */
export function loadFixtureCorpus(): { messages: Uint8Array[]; frames: Uint8Array[] } {
  const messages: Uint8Array[] = [];
  const frames: Uint8Array[] = [];
  const names = readdirSync(FIXTURES_FOLDER)
    .filter((file) => file.endsWith('.hex'))
    .sort();
  for (const file of names) {
    const bytes = parseHex(readFileSync(new URL(file, FIXTURES_FOLDER), 'utf8'));
    const header = decodeFrameHeader(bytes);
    const payload = header.ok ? bytes.subarray(header.value.payloadOffset) : bytes;
    const decoded = decode(payload);
    if (!decoded.ok) throw new Error(`fixture ${file} does not decode: ${decoded.reason}`);
    messages.push(payload);
    frames.push(encodeFrame(FUZZ_CLUSTER_NAME, decoded.value), encodeFrame('grappe-é', decoded.value));
    if (header.ok) frames.push(bytes);
  }
  return { messages, frames };
}

// ---------------------------------------------------------------------------------------------------------
// Inputs: random bytes and mutations

const INTERESTING_BYTES = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x7f, 0x80, 0x81, 0xc0, 0xed, 0xef, 0xf4, 0xff,
];

/** Varints that, written over a length or count, push it to or past a limit, or break the varint rules. */
const LARGE_VARINTS: readonly (readonly number[])[] = [
  [0x81, 0x01], // 129: one byte over the default name limit
  [0x81, 0x02], // 257: one byte over the default address limit
  [0x81, 0x04], // 513: one byte over the default key limit
  [0x81, 0x80, 0x04], // 65,537: one byte over the default value limit
  [0x81, 0x80, 0x40], // 2^20 + 1: one item over the default list limit
  [0xff, 0xff, 0x7f], // 2^21 - 1
  [0x80, 0x80, 0x80, 0x80, 0x10], // 2^32
  [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40], // 2^48 + 1: one over COUNTER_MAX
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f], // 2^53 - 1
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // 2^56 - 1: beyond safe integers
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // nine bytes: too long
  [0x80, 0x00], // zero in two bytes: not minimal
];

class Inputs {
  readonly #random: SeededRandom;

  constructor(random: SeededRandom) {
    this.#random = random;
  }

  below(bound: number): number {
    return this.#random.int(bound);
  }

  #byte(): number {
    return this.#random.nextUint32() & 0xff;
  }

  #interestingByte(): number {
    return INTERESTING_BYTES[this.below(INTERESTING_BYTES.length)]!;
  }

  randomBytes(): Uint8Array {
    const length = this.below(8) === 0 ? this.below(2048) : this.below(64);
    return Uint8Array.from({ length }, () => this.#byte());
  }

  /** Random bytes after a valid first byte, biased to small values so that the decoder gets past the start. */
  randomStructured(firstBytes: readonly number[]): Uint8Array {
    const length = this.below(256);
    const bytes = Uint8Array.from({ length }, () => {
      const kind = this.below(10);
      if (kind < 5) return this.below(8);
      if (kind < 7) return this.#interestingByte();
      return this.#byte();
    });
    const result = new Uint8Array(firstBytes.length + length);
    result.set(firstBytes);
    result.set(bytes, firstBytes.length);
    return result;
  }

  /** Applies one to three mutations to `parent`; returns the input and the name of the first mutation. */
  mutate(parent: Uint8Array, corpus: readonly Uint8Array[]): { bytes: Uint8Array; origin: string } {
    const rounds = [1, 1, 1, 2, 2, 3][this.below(6)]!;
    let bytes = parent;
    let origin = '';
    for (let round = 0; round < rounds; round++) {
      const name = MUTATION_NAMES[this.below(MUTATION_NAMES.length)]!;
      if (round === 0) origin = name;
      bytes = this.#apply(name, bytes, corpus[this.below(corpus.length)]!);
    }
    return { bytes: bytes.length > INPUT_BYTES_MAX ? bytes.subarray(0, INPUT_BYTES_MAX) : bytes, origin };
  }

  #apply(name: MutationName, bytes: Uint8Array, other: Uint8Array): Uint8Array {
    const at = this.below(bytes.length + 1);
    switch (name) {
      case 'bit-flip': {
        if (bytes.length === 0) return bytes;
        const copy = bytes.slice();
        const flips = 1 + this.below(4);
        for (let i = 0; i < flips; i++) copy[this.below(copy.length)]! ^= 1 << this.below(8);
        return copy;
      }
      case 'byte-replace': {
        if (bytes.length === 0) return bytes;
        const copy = bytes.slice();
        copy[this.below(copy.length)] = this.below(2) === 0 ? this.#interestingByte() : this.#byte();
        return copy;
      }
      case 'byte-insert': {
        const inserted = Array.from({ length: 1 + this.below(4) }, () => this.#interestingByte());
        return splice(bytes, { at, removeCount: 0, inserted });
      }
      case 'byte-delete':
        return splice(bytes, { at, removeCount: 1 + this.below(4), inserted: [] });
      case 'truncate':
        return bytes.subarray(0, this.below(bytes.length + 1));
      case 'splice': {
        const from = this.below(other.length + 1);
        return concat(bytes.subarray(0, at), other.subarray(from));
      }
      case 'length-inflate': {
        const varint = LARGE_VARINTS[this.below(LARGE_VARINTS.length)]!;
        return splice(bytes, { at, removeCount: this.below(2), inserted: varint });
      }
      case 'chunk-duplicate': {
        const start = this.below(bytes.length + 1);
        const chunk = bytes.subarray(start, start + 1 + this.below(32));
        return splice(bytes, { at, removeCount: 0, inserted: Array.from(chunk) });
      }
    }
  }
}

const MUTATION_NAMES = [
  'bit-flip',
  'byte-replace',
  'byte-insert',
  'byte-delete',
  'truncate',
  'splice',
  'length-inflate',
  'chunk-duplicate',
] as const;
type MutationName = (typeof MUTATION_NAMES)[number];

function splice(
  bytes: Uint8Array,
  edit: { at: number; removeCount: number; inserted: readonly number[] },
): Uint8Array {
  const tail = bytes.subarray(Math.min(bytes.length, edit.at + edit.removeCount));
  return concat(bytes.subarray(0, edit.at), Uint8Array.from(edit.inserted), tail);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const result = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Checks

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let i = 0; i < left.length; i++) if (left[i] !== right[i]) return false;
  return true;
}

/** The first way `message` exceeds `limits` or the format's own bounds, or null when it stays within them. */
export function limitProblem(message: Message, limits: DecodeLimits): string | null {
  const problems: string[] = [];
  const list = (what: string, count: number) => {
    if (count > limits.listCountMax)
      problems.push(`${what}: ${count} items > listCountMax ${limits.listCountMax}`);
  };
  const bytes = (what: string, text: string, max: number) => {
    if (utf8Length(text) > max) problems.push(`${what}: ${utf8Length(text)} bytes > ${max}`);
  };
  const counter = (what: string, value: number) => {
    if (!Number.isSafeInteger(value) || value < 0 || value > COUNTER_MAX) problems.push(`${what}: ${value}`);
  };
  const entry = (member: MemberEntry) => {
    if (member.name.length === 0) problems.push('empty member name');
    bytes('name', member.name, limits.nameBytesMax);
    bytes('address', member.address, limits.addressBytesMax);
    if (!Number.isSafeInteger(member.generation) || member.generation < 0) problems.push('generation');
    counter('heartbeat', member.heartbeat);
    counter('maxVersion', member.maxVersion);
    if (member.verdict !== null) {
      bytes('accuser', member.verdict.accuser, limits.nameBytesMax);
      counter('phiHundredths', member.verdict.phiHundredths);
      counter('silenceMs', member.verdict.silenceMs);
    }
  };
  const deltas = (items: readonly OwnerDelta[]) => {
    list('deltas', items.length);
    for (const delta of items) {
      entry(delta.member);
      list('key-values', delta.entries.length);
      let previous = delta.fromVersion;
      for (const keyValue of delta.entries) {
        bytes('key', keyValue.key, limits.keyBytesMax);
        if (keyValue.value !== null) bytes('value', keyValue.value, limits.valueBytesMax);
        if (keyValue.version <= previous) problems.push('versions not ascending above fromVersion');
        counter('version', keyValue.version);
        previous = keyValue.version;
      }
    }
  };
  switch (message.type) {
    case 'syn':
    case 'syn-ack': {
      const { sender, news, page } = message.digest;
      entry(sender);
      list('news', news.length);
      news.forEach(entry);
      if (page?.kind === 'explicit') {
        list('page entries', page.entries.length);
        page.entries.forEach(entry);
      } else if (page?.kind === 'positional') {
        list('page positions', page.count);
      }
      if (message.type === 'syn-ack') deltas(message.deltas);
      break;
    }
    case 'ack':
      deltas(message.deltas);
      break;
    case 'heartbeat':
      entry(message.sender);
      break;
    case 'sync':
      entry(message.sender);
      list('members', message.members.length);
      message.members.forEach(entry);
      deltas(message.deltas);
      break;
  }
  return problems[0] ?? null;
}

/** Why an accepted message breaks the contract for `bytes` (its exact encoding), or null. */
function acceptedProblem(message: Message, bytes: Uint8Array, limits: DecodeLimits): string | null {
  try {
    const length = encodedLength(message);
    if (length !== bytes.length) return `encodedLength ${length} but the input has ${bytes.length} bytes`;
    if (!sameBytes(encode(message), bytes)) return 're-encoding differs from the input';
  } catch (error) {
    return `the decoded message does not re-encode: ${String(error)}`;
  }
  return limitProblem(message, limits);
}

function newTargetReport(): TargetReport {
  return {
    inputs: 0,
    accepted: 0,
    rejectedByReason: new Map(),
    throws: 0,
    problems: 0,
    slowInputs: 0,
    slowestMs: 0,
    slowestInputHex: '',
    examples: [],
  };
}

function example(report: TargetReport, what: string, bytes: Uint8Array): void {
  if (report.examples.length >= EXAMPLES_MAX) return;
  const shown =
    bytes.length > EXAMPLE_BYTES_MAX ? `${toHex(bytes.subarray(0, EXAMPLE_BYTES_MAX))}…` : toHex(bytes);
  report.examples.push(`${what}: ${shown}`);
}

/**
 * Runs `call` on `bytes` under the clock and records the outcome. `accept` judges an accepted result and
 * returns a problem or null. Returns the result, or null when the call threw.
 */
function measure<T extends { readonly ok: boolean; readonly reason?: string }>(
  report: TargetReport,
  bytes: Uint8Array,
  call: () => T,
  options: { slowDecodeMs: number; accept: (result: T) => string | null },
): T | null {
  report.inputs++;
  let result: T;
  let elapsedMs: number;
  try {
    const started = performance.now();
    result = call();
    elapsedMs = performance.now() - started;
  } catch (error) {
    report.throws++;
    example(report, `threw ${String(error)}`, bytes);
    return null;
  }
  if (elapsedMs > report.slowestMs) {
    report.slowestMs = elapsedMs;
    report.slowestInputHex = toHex(bytes.subarray(0, 64));
  }
  // A single slow measurement may be a pause of the whole process; a hang is slow every time.
  if (elapsedMs > options.slowDecodeMs) {
    let fastestMs = elapsedMs;
    for (let retry = 0; retry < SLOW_RETRIES; retry++) {
      const started = performance.now();
      call();
      fastestMs = Math.min(fastestMs, performance.now() - started);
    }
    if (fastestMs > options.slowDecodeMs) {
      report.slowInputs++;
      example(report, `took ${fastestMs.toFixed(1)} ms`, bytes);
    }
  }
  if (result.ok) {
    const problem = options.accept(result);
    if (problem === null) report.accepted++;
    else {
      report.problems++;
      example(report, problem, bytes);
    }
  } else if (typeof result.reason !== 'string' || result.reason.length === 0) {
    report.problems++;
    example(report, 'refused without a reason', bytes);
  } else {
    report.rejectedByReason.set(result.reason, (report.rejectedByReason.get(result.reason) ?? 0) + 1);
  }
  return result;
}

/** Adds an accepted input to the corpus, replacing a random non-fixture entry once the corpus is full. */
function remember(corpus: Uint8Array[], fixtureCount: number, bytes: Uint8Array, inputs: Inputs): void {
  if (bytes.length > CORPUS_INPUT_BYTES_MAX) return;
  if (corpus.length < CORPUS_SIZE_MAX) corpus.push(bytes);
  else corpus[fixtureCount + inputs.below(CORPUS_SIZE_MAX - fixtureCount)] = bytes;
}

// ---------------------------------------------------------------------------------------------------------
// The run

/**
 * Half of the parents are fixtures, so every message type keeps being mutated even after the grown part of
 * the corpus fills with the kinds of input that survive mutation most easily (short heartbeats).
 */
function pickParent(corpus: readonly Uint8Array[], fixtureCount: number, inputs: Inputs): Uint8Array {
  return corpus[inputs.below(2) === 0 ? inputs.below(fixtureCount) : inputs.below(corpus.length)]!;
}

function fuzzMessages(options: FuzzOptions, inputs: Inputs, report: FuzzReport, corpus: Uint8Array[]): void {
  const decodeMessage = options.decodeMessage ?? decode;
  const slowDecodeMs = options.slowDecodeMs ?? 50;
  const fixtureCount = corpus.length;
  for (let index = 0; index < options.messageInputs; index++) {
    const kind = inputs.below(10);
    let bytes: Uint8Array;
    let origin: string;
    if (kind === 0) {
      bytes = inputs.randomBytes();
      origin = 'random-bytes';
    } else if (kind === 1) {
      bytes = inputs.randomStructured([1 + inputs.below(5)]);
      origin = 'random-structured';
    } else {
      ({ bytes, origin } = inputs.mutate(pickParent(corpus, fixtureCount, inputs), corpus));
    }
    const result = measure(report.message, bytes, () => decodeMessage(bytes, report.limits), {
      slowDecodeMs,
      accept: (accepted) => (accepted.ok ? acceptedProblem(accepted.value, bytes, report.limits) : null),
    });
    const counts = report.origins.get(origin) ?? { inputs: 0, accepted: 0 };
    counts.inputs++;
    if (result?.ok) {
      counts.accepted++;
      report.acceptedByType.set(result.value.type, (report.acceptedByType.get(result.value.type) ?? 0) + 1);
      if (options.corpusGrowth ?? true) remember(corpus, fixtureCount, bytes, inputs);
    }
    report.origins.set(origin, counts);
    if (index % 10_000 === 0) options.onProgress?.(index, options.messageInputs + options.frameInputs);
  }
}

function fuzzFrames(options: FuzzOptions, inputs: Inputs, report: FuzzReport, corpus: Uint8Array[]): void {
  const codec = new PlainFrameCodec(FUZZ_CLUSTER_NAME);
  const slowDecodeMs = options.slowDecodeMs ?? 50;
  const fixtureCount = corpus.length;
  for (let index = 0; index < options.frameInputs; index++) {
    const kind = inputs.below(10);
    let bytes: Uint8Array;
    if (kind === 0) bytes = inputs.randomBytes();
    else if (kind === 1) bytes = inputs.randomStructured([0x47, 0x56, 0x01, inputs.below(4)]);
    else bytes = inputs.mutate(pickParent(corpus, fixtureCount, inputs), corpus).bytes;
    measure(report.frameHeader, bytes, () => decodeFrameHeader(bytes), {
      slowDecodeMs,
      accept: (accepted) => {
        if (!accepted.ok) return null;
        const { header, payloadOffset } = accepted.value;
        if ((header.flags & ~FRAME_FLAG_ENCRYPTED) !== 0) return `unknown flags ${header.flags} accepted`;
        if (utf8Length(header.clusterName) > CLUSTER_NAME_BYTES_MAX) return 'cluster name over its limit';
        if (payloadOffset !== frameHeaderLength(header.clusterName) || payloadOffset > bytes.length)
          return `payload offset ${payloadOffset} does not follow the header`;
        return null;
      },
    });
    const opened = measure(report.frameOpen, bytes, () => codec.open(bytes, report.limits), {
      slowDecodeMs,
      accept: (accepted) => {
        if (!accepted.ok) return null;
        if (!sameBytes(encodeFrame(FUZZ_CLUSTER_NAME, accepted.message), bytes)) return 're-encoding differs';
        return limitProblem(accepted.message, report.limits);
      },
    });
    if (opened?.ok && (options.corpusGrowth ?? true)) remember(corpus, fixtureCount, bytes, inputs);
    if (index % 10_000 === 0)
      options.onProgress?.(options.messageInputs + index, options.messageInputs + options.frameInputs);
  }
}

export function runDecoderFuzz(options: FuzzOptions): FuzzReport {
  const started = performance.now();
  const random = new SeededRandom(options.seed);
  const { messages, frames } = loadFixtureCorpus();
  const report: FuzzReport = {
    seed: options.seed,
    limits: options.limits ?? DEFAULT_DECODE_LIMITS,
    message: newTargetReport(),
    frameHeader: newTargetReport(),
    frameOpen: newTargetReport(),
    acceptedByType: new Map(),
    origins: new Map(),
    corpusSize: 0,
    totalMs: 0,
  };
  // Separate streams, so that the frame run does not change when the message run's size does.
  fuzzMessages(options, new Inputs(random.fork()), report, messages);
  fuzzFrames(options, new Inputs(random.fork()), report, frames);
  report.corpusSize = messages.length + frames.length;
  report.totalMs = performance.now() - started;
  return report;
}

// ---------------------------------------------------------------------------------------------------------
// Command line

function sorted(map: Map<string, number>): [string, number][] {
  return [...map].sort((left, right) => right[1] - left[1]);
}

function targetRow(name: string, target: TargetReport): (string | number)[] {
  const rejected = [...target.rejectedByReason.values()].reduce((sum, count) => sum + count, 0);
  return [
    name,
    target.inputs.toLocaleString('en-US'),
    target.accepted.toLocaleString('en-US'),
    rejected.toLocaleString('en-US'),
    target.throws,
    target.problems,
    target.slowInputs,
    target.slowestMs.toFixed(2),
  ];
}

export function describeReport(report: FuzzReport): string {
  const header = [
    'target',
    'inputs',
    'accepted',
    'refused',
    'threw',
    'contract problems',
    'slow',
    'slowest ms',
  ];
  const reasons = new Map<string, number>();
  for (const target of [report.message, report.frameOpen]) {
    for (const [reason, count] of target.rejectedByReason)
      reasons.set(reason, (reasons.get(reason) ?? 0) + count);
  }
  const examples = [report.message, report.frameHeader, report.frameOpen].flatMap(
    (target) => target.examples,
  );
  return [
    `Seed ${report.seed}; ${(report.totalMs / 1000).toFixed(1)} s in all; the corpus ended with ${report.corpusSize} valid inputs.`,
    '',
    markdownTable(header, [
      targetRow('`decode`', report.message),
      targetRow('`decodeFrameHeader`', report.frameHeader),
      targetRow('`PlainFrameCodec.open`', report.frameOpen),
    ]),
    '',
    'Refusals by reason (`decode` and `PlainFrameCodec.open`):',
    '',
    markdownTable(
      ['reason', 'count'],
      sorted(reasons).map(([reason, count]) => [reason, count.toLocaleString('en-US')]),
    ),
    '',
    '`decode` inputs by generator (for mutations, the first mutation applied):',
    '',
    markdownTable(
      ['generator', 'inputs', 'accepted'],
      [...report.origins]
        .sort((left, right) => left[0].localeCompare(right[0]))
        .map(([origin, counts]) => [
          origin,
          counts.inputs.toLocaleString('en-US'),
          counts.accepted.toLocaleString('en-US'),
        ]),
    ),
    '',
    `Accepted messages by type: ${sorted(report.acceptedByType)
      .map(([type, count]) => `${type} ${count.toLocaleString('en-US')}`)
      .join(', ')}.`,
    `Slowest \`decode\` input (first 64 bytes): \`${report.message.slowestInputHex}\`.`,
    examples.length === 0
      ? 'No contract problems.'
      : `Problems:\n\n${examples.map((line) => `- \`${line}\``).join('\n')}`,
  ].join('\n');
}

/** The paragraph in front of the results: what was fed to which decoder and what counts as a failure. */
function describeContract(sizes: { messageInputs: number; frameInputs: number }): string {
  return [
    `\`decode\` ran on ${sizes.messageInputs.toLocaleString('en-US')} random and mutated inputs, and`,
    `\`decodeFrameHeader\` and \`PlainFrameCodec.open\` on ${sizes.frameInputs.toLocaleString('en-US')} frames,`,
    'mutated from the golden fixtures in test/fixtures/wire and from every input accepted during the run.',
    'The contract: nothing throws, every refusal has a reason, every accepted input re-encodes to exactly its',
    'own bytes within the default DecodeLimits, and no decode takes over 50 ms. A slower decode is measured',
    `${SLOW_RETRIES} more times and counts as slow only if every measurement is; "slowest ms" is the largest`,
    'single measurement, pauses of the whole process included.',
  ].join('\n');
}

function main(): void {
  const { values } = parseArgs({
    options: {
      inputs: { type: 'string', default: '1000000' },
      seed: { type: 'string' },
      'frame-inputs': { type: 'string' },
    },
  });
  const messageInputs = Number(values.inputs);
  const seed = values.seed === undefined ? (Date.now() % 2 ** 32) >>> 0 : Number(values.seed);
  const frameInputs =
    values['frame-inputs'] === undefined ? Math.round(messageInputs / 10) : Number(values['frame-inputs']);
  if (
    !Number.isSafeInteger(messageInputs) ||
    !Number.isSafeInteger(seed) ||
    !Number.isSafeInteger(frameInputs)
  ) {
    throw new Error('--inputs, --seed and --frame-inputs take integers');
  }
  console.log(`fuzz-decoder: seed ${seed}, ${messageInputs} decode inputs, ${frameInputs} frame inputs`);
  const report = runDecoderFuzz({
    seed,
    messageInputs,
    frameInputs,
    onProgress: (done, total) => {
      if (done % 100_000 === 0 && done > 0)
        console.error(`  ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`);
    },
  });
  const body = describeReport(report);
  console.log(body);
  const command = `npx tsx bench/fuzz-decoder.ts --inputs ${messageInputs} --seed ${seed}`;
  writeBenchmarkSection({
    id: 'fuzz-decoder',
    title: 'Decoder fuzzing',
    command,
    body: `${describeContract({ messageInputs, frameInputs })}\n\n${body}`,
  });
  const failures = [report.message, report.frameHeader, report.frameOpen].reduce(
    (sum, target) => sum + target.throws + target.problems + target.slowInputs,
    0,
  );
  if (failures > 0) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
