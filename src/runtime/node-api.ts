/**
 * The public Node API: `createNode(options)` gives a service one gossip node running on real sockets (or on
 * any Transport it hands in), with a typed surface for membership, per-node state, events and lifecycle.
 *
 * It owns the wiring around one Runner: the transport, the frame codec (plain or keyring-encrypted, with a
 * keyring that rotates live), the real scheduler and random source, the event-loop monitor whose stalls it
 * feeds to the core, the persisted generation, the delivery of events to listeners, iterators and watchers,
 * and the verdict history: a bounded record of every status change this node observed and why.
 *
 * Invariants it keeps: events reach listeners only after the core's step has returned (the Runner hands them
 * over after the step; a listener that throws is counted and logged, never propagated into the core); every
 * event buffer is bounded and reports what it dropped; a configured `dataDir` makes every start's generation
 * higher than the last one persisted, so a restart always supersedes the previous incarnation; the verdict
 * history is recorded before any listener sees the event, holds at most `verdictHistorySize` records, and
 * never exposes key material (keys are shown by fingerprint only).
 */
import { createHash, randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join as joinPath } from 'node:path';
import {
  type ClusterEvent,
  type ClusterEventType,
  CommandError,
  type CommandErrorCode,
  type CoreCounterName,
  GossipNode,
  type GossipOptions,
  type MemberView,
  type OptionIssue,
  type Random,
  resolveGossipOptions,
  SeededRandom,
} from '../core/index.js';
import type { MemberStatus, Message } from '../wire/index.js';
import { formatAddress, isWildcardHost, parseAddress } from './address.js';
import { EventIterator, type NodeEvent } from './event-iterator.js';
import { type FrameCodec, PlainFrameCodec } from './frame-codec.js';
import { KeyError, type KeyErrorCode, Keyring, KeyringFrameCodec } from './keyring.js';
import { startLoopMonitor } from './loop-monitor.js';
import { NetTransport } from './net-transport.js';
import { RealScheduler } from './real-scheduler.js';
import { Runner, type RunnerStats } from './runner.js';
import type { Scheduler, Transport } from './transport.js';
import {
  DEFAULT_VERDICT_HISTORY_SIZE,
  VERDICT_HISTORY_SIZE_MAX,
  VerdictHistory,
  type VerdictQuery,
  type VerdictRecord,
} from './verdict-history.js';

export type { EventsDropped, NodeEvent } from './event-iterator.js';
export {
  provenanceOf,
  type Refutation,
  VERDICT_HISTORY_SIZE_MAX,
  VerdictHistory,
  type VerdictProvenance,
  type VerdictQuery,
  type VerdictRecord,
} from './verdict-history.js';

// ---------------------------------------------------------------------------------------------------------
// Types

export type GrapevineErrorCode =
  | CommandErrorCode
  | KeyErrorCode
  | 'KEYRING_DISABLED'
  | 'OPTIONS_INVALID'
  | 'ADVERTISE_REQUIRED'
  | 'BIND_FAILED'
  | 'DATA_DIR_FAILED'
  | 'JOIN_TIMEOUT'
  | 'NOT_STARTED'
  | 'STOPPED';

/** An expected operating error, with a `code` that callers can switch on (it never changes meaning). */
export class GrapevineError extends Error {
  override readonly name = 'GrapevineError';
  readonly code: GrapevineErrorCode;
  /** For OPTIONS_INVALID: every problem found, each with the option's path. */
  readonly issues: readonly OptionIssue[];
  constructor(code: GrapevineErrorCode, message: string, issues: readonly OptionIssue[] = []) {
    super(message);
    this.code = code;
    this.issues = issues;
  }
}

/** The logging calls the node makes; a pino logger fits it. */
export interface NodeLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export interface NodeOptions {
  /** Unique name of this node in the cluster. */
  readonly name: string;
  /** host:port to listen on, UDP and TCP (default 0.0.0.0:7946; port 0 picks a free port). */
  readonly bind?: string;
  /**
   * host:port peers should use to reach this node. Defaults to the bind address; with a wildcard bind
   * (0.0.0.0 or ::) to the machine's first private IPv4 address, as Serf does, because peers cannot send to
   * a wildcard. A port of 0 (or none) means the bound port.
   */
  readonly advertise?: string;
  /** Seeds: addresses (host:port) to join at start, and to gossip with now and then so partitions heal. */
  readonly join?: readonly string[];
  /** Only nodes with the same cluster name talk to each other (default "grapevine"). */
  readonly clusterName?: string;
  /**
   * Base64 AES-256 keys (32 bytes each). The first one encrypts; every one decrypts, so a key can be rotated
   * through a live cluster. No keys: frames are authenticated by nothing but the cluster name.
   */
  readonly keys?: readonly string[];
  /** Protocol tunables over their defaults; see GOSSIP_OPTION_SPECS. */
  readonly gossip?: Partial<GossipOptions>;
  /** A directory where the node persists its last generation, so a restart always supersedes it. */
  readonly dataDir?: string;
  readonly logger?: NodeLogger;
  /** Feed event-loop stalls to the failure detector (default true). */
  readonly monitorEventLoop?: boolean;
  /** Advanced: run on this transport instead of binding sockets (the in-memory network in tests). */
  readonly transport?: Transport;
  /** Advanced: a clock and timer other than the real one (a virtual clock in tests). */
  readonly scheduler?: Scheduler;
  /** Advanced: the random source (default: seeded once from the operating system's entropy). */
  readonly random?: Random;
  /** Advanced: wall-clock milliseconds since the epoch, used for the generation (default Date.now). */
  readonly wallClock?: () => number;
  /** Status changes kept by the verdict history, the oldest dropped first (default 512). */
  readonly verdictHistorySize?: number;
}

export type NodePhase = 'created' | 'running' | 'left' | 'stopped';

export type KeyUpdate = Extract<ClusterEvent, { type: 'key-updated' }>;

export type NodeEventListener<T extends ClusterEventType | '*'> = (
  event: T extends ClusterEventType ? Extract<ClusterEvent, { type: T }> : ClusterEvent,
) => void;

export interface KeyEntry {
  readonly value: string;
  readonly version: number;
}

export interface MemberFilter {
  /** One status or several. */
  readonly status?: MemberStatus | readonly MemberStatus[];
  /** Only members that hold this key... */
  readonly key?: string;
  /** ...with this value. */
  readonly value?: string;
}

export interface MemberDetails {
  readonly member: MemberView;
  /** The failure detector's view of it; null for this node itself. */
  readonly detector: { phi: number; silenceMs: number; meanMs: number; stdMs: number } | null;
  /** The members that watch it (hear it directly every round, and probe it first when it goes quiet). */
  readonly watchers: readonly string[];
  /** Whether this node is one of them. */
  readonly watchedByThisNode: boolean;
  readonly keys: Readonly<Record<string, KeyEntry>>;
}

export interface LoopStats {
  readonly lagMsP99: number;
  readonly lagMsMax: number;
  readonly stalls: number;
}

export interface NodeStats {
  readonly phase: NodePhase;
  readonly core: Readonly<Record<CoreCounterName, number>>;
  readonly runner: Readonly<RunnerStats>;
  /** Messages and bytes received, by message type (frames that opened). */
  readonly received: {
    readonly messagesByType: Readonly<Record<Message['type'], number>>;
    readonly bytesByType: Readonly<Record<Message['type'], number>>;
  };
  /** The transport's own counters (sockets, streams, oversize frames...), when it keeps any. */
  readonly transport: Readonly<Record<string, number>>;
  readonly loop: LoopStats | null;
  /** Listener calls that threw (logged and counted, never propagated). */
  readonly listenerErrors: number;
  /** Events dropped from full iterator buffers, all iterators together. */
  readonly iteratorEventsDropped: number;
  /** Status changes the verdict history recorded since the start, by the status entered. */
  readonly statusChanges: Readonly<Record<MemberStatus, number>>;
  /** Encryption keys installed (0: frames are not encrypted). */
  readonly keyringKeys: number;
}

/** An encryption key as the Node API shows it: a fingerprint, never the key. */
export interface KeyFingerprint {
  /** The first 8 bytes of the key's SHA-256, in hex; its first byte is the key id written in frames. */
  readonly fingerprint: string;
  /** Whether this key seals outgoing frames (every installed key opens incoming ones). */
  readonly primary: boolean;
}

/** The answer to a keyring change: whether anything changed, and the keys installed afterwards. */
export interface KeyringChange {
  readonly changed: boolean;
  readonly keys: readonly KeyFingerprint[];
}

/**
 * Live key rotation on this node (memberlist's keyring API): keys are base64 AES-256 keys (32 bytes). The
 * calls throw GrapevineError with code KEYRING_DISABLED (the node was created without keys), KEY_NOT_BASE64,
 * KEY_WRONG_LENGTH, KEYRING_FULL, KEY_NOT_INSTALLED or KEY_IS_PRIMARY; messages never contain key material.
 */
export interface NodeKeyring {
  /** Installed keys by fingerprint, the primary first. */
  list(): KeyFingerprint[];
  /** Installs a key: it opens frames from now on; the primary is unchanged. Installing it twice is a no-op. */
  install(key: string): KeyringChange;
  /** Makes an installed key the primary: it seals every frame from now on. */
  use(key: string): KeyringChange;
  /** Removes an installed key that is not the primary. */
  remove(key: string): KeyringChange;
}

const DEFAULT_BIND = '0.0.0.0:7946';
const DEFAULT_PORT = 7946;
const DEFAULT_CLUSTER_NAME = 'grapevine';
const EVENT_BUFFER_MAX = 1_000_000;
const ITERATORS_MAX = 10_000;
const LISTENERS_MAX = 100_000;
const FINGERPRINT_BYTES = 8;

// ---------------------------------------------------------------------------------------------------------
// Addresses

type Interfaces = ReturnType<typeof networkInterfaces>;

/**
 * The address to advertise when bound to a wildcard: the first private IPv4 address of this machine, else
 * its first non-internal IPv4 address (memberlist's GetPrivateIP rule). Undefined when there is none.
 */
export function chooseAdvertiseHost(interfaces: Interfaces = networkInterfaces()): string | undefined {
  const candidates: string[] = [];
  for (const entries of Object.values(interfaces)) {
    for (const entry of entries ?? []) {
      if (entry.family === 'IPv4' && !entry.internal) candidates.push(entry.address);
    }
  }
  return candidates.find(isPrivateIpv4) ?? candidates[0];
}

function isPrivateIpv4(address: string): boolean {
  const [a = 0, b = 0] = address.split('.').map(Number);
  // RFC 1918, plus RFC 6598 shared address space (100.64/10), which memberlist also counts as private.
  return (
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127)
  );
}

/** host:port with the host resolved to an IP address, so it compares equal to the addresses peers send from. */
async function resolveAddress(address: string, logger: NodeLogger | undefined): Promise<string> {
  const { host, port } = parseAddress(address, { defaultPort: DEFAULT_PORT });
  if (isIP(host) !== 0) return formatAddress(host, port);
  try {
    const found = await lookup(host, { family: 4 });
    return formatAddress(found.address, port);
  } catch (error) {
    // A seed that does not resolve yet (DNS still converging) is kept as written and retried by the core.
    logger?.warn({ address, error: String(error) }, 'could not resolve address; using it as written');
    return address;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Generation

/**
 * Milliseconds since the epoch, and never below one more than the generation persisted in `dataDir`, which
 * it then records: a restart supersedes the previous incarnation even if the wall clock stepped back.
 */
export async function nextGeneration(dataDir: string | undefined, wallClockMs: number): Promise<number> {
  const now = Math.floor(wallClockMs);
  if (dataDir === undefined || dataDir === '') return now;
  const path = joinPath(dataDir, 'generation.json');
  try {
    await mkdir(dataDir, { recursive: true });
    let last = -1;
    try {
      const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
      const value = (parsed as { generation?: unknown } | null)?.generation;
      if (typeof value === 'number' && Number.isSafeInteger(value)) last = value;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const generation = Math.max(now, last + 1);
    // Write then rename, so a crash mid-write never leaves a truncated file behind.
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify({ generation })}\n`);
    await rename(temporary, path);
    return generation;
  } catch (error) {
    throw new GrapevineError('DATA_DIR_FAILED', `cannot persist the generation in ${dataDir}: ${error}`);
  }
}

/** The fingerprint of a base64 key: the first bytes of its SHA-256 in hex (the key id is the first byte). */
export function keyFingerprint(key: string): string {
  const digest = createHash('sha256').update(Buffer.from(key, 'base64')).digest();
  return digest.subarray(0, FINGERPRINT_BYTES).toString('hex');
}

// ---------------------------------------------------------------------------------------------------------
// The node

interface NodeParts {
  readonly core: GossipNode;
  readonly transport: Transport;
  readonly scheduler: Scheduler;
  readonly codec: FrameCodec;
  readonly clusterName: string;
  readonly logger: NodeLogger | undefined;
  readonly monitorEventLoop: boolean;
  readonly wallClock: () => number;
  readonly verdictHistorySize: number;
}

type AnyListener = (event: ClusterEvent) => void;

export class GrapevineNode {
  readonly name: string;
  readonly generation: number;
  /** The address peers reach this node at. */
  readonly address: string;
  readonly clusterName: string;
  readonly #core: GossipNode;
  readonly #runner: Runner;
  readonly #transport: Transport;
  readonly #scheduler: Scheduler;
  readonly #logger: NodeLogger | undefined;
  readonly #monitorEventLoop: boolean;
  readonly #wallClock: () => number;
  readonly #history: VerdictHistory;
  readonly #keyring: Keyring | null;
  readonly #listeners = new Map<ClusterEventType | '*', Set<AnyListener>>();
  #listenerCount = 0;
  readonly #iterators = new Set<EventIterator>();
  #loopMonitor: { stop(): void; stats(): LoopStats } | null = null;
  #phase: NodePhase = 'created';
  #stopping: Promise<void> | null = null;
  #listenerErrors = 0;
  #iteratorEventsDropped = 0;

  /** Use `createNode`, which validates the options and binds the transport first. */
  constructor(parts: NodeParts) {
    this.#core = parts.core;
    this.#runner = new Runner({
      node: parts.core,
      transport: parts.transport,
      scheduler: parts.scheduler,
      codec: parts.codec,
      onEvent: (event) => this.#deliver(event),
    });
    this.#transport = parts.transport;
    this.#scheduler = parts.scheduler;
    this.#logger = parts.logger;
    this.#monitorEventLoop = parts.monitorEventLoop;
    this.#wallClock = parts.wallClock;
    this.name = parts.core.name;
    this.generation = parts.core.generation;
    this.address = parts.core.address;
    this.clusterName = parts.clusterName;
    this.#keyring = parts.codec instanceof KeyringFrameCodec ? parts.codec.keyring : null;
    this.#history = new VerdictHistory({
      capacity: parts.verdictHistorySize,
      // One more than the member table holds: every known member is tracked, nothing more.
      trackedMax: parts.core.options.membersMax + 1,
      wallClockOf: (atMs) => this.wallClockOf(atMs),
    });
    this.#history.seed(parts.core.members());
  }

  get phase(): NodePhase {
    return this.#phase;
  }

  /** The protocol options in force. */
  get options(): GossipOptions {
    return this.#core.options;
  }

  // ----- lifecycle ---------------------------------------------------------------------------------------

  /** Starts gossiping (and joins the seeds given as `join`). */
  async start(): Promise<void> {
    if (this.#phase !== 'created') return;
    this.#phase = 'running';
    if (this.#monitorEventLoop) {
      this.#loopMonitor = startLoopMonitor({ onStall: (durationMs) => this.#runner.reportStall(durationMs) });
    }
    this.#runner.start();
    this.#logger?.info(
      { name: this.name, generation: this.generation, address: this.address, cluster: this.clusterName },
      'node started',
    );
  }

  /**
   * Contacts `addresses` and waits until a member answers (one at those addresses turns alive, or a new
   * member appears), for at most `timeoutMs` (default 5000; 0: do not wait). Rejects with JOIN_TIMEOUT.
   */
  async join(addresses: readonly string[], options: { timeoutMs?: number } = {}): Promise<void> {
    this.#requirePhase('join');
    const issues = addressIssues('addresses', addresses);
    if (issues.length > 0) {
      const text = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
      throw new GrapevineError('OPTIONS_INVALID', `invalid join addresses: ${text}`, issues);
    }
    const resolved = await Promise.all(addresses.map((address) => resolveAddress(address, this.#logger)));
    if (this.#phase !== 'running') throw new GrapevineError('STOPPED', `node is ${this.#phase}`);
    const timeoutMs = options.timeoutMs ?? 5000;
    const reached = timeoutMs > 0 ? this.#waitForPeer(new Set(resolved), timeoutMs) : null;
    this.#command({ kind: 'join', now: this.#runner.now, addresses: resolved });
    if (reached !== null) await reached;
  }

  #waitForPeer(addresses: ReadonlySet<string>, timeoutMs: number): Promise<void> {
    const isTarget = (member: MemberView) =>
      !member.isSelf && member.status === 'alive' && addresses.has(member.address);
    if (this.#core.members().some(isTarget)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const finish = (error?: GrapevineError) => {
        clearTimeout(timer);
        unsubscribe();
        if (error === undefined) resolve();
        else reject(error);
      };
      const unsubscribe = this.on('*', (event) => {
        if (event.type === 'member-joined' || event.type === 'member-restarted') finish();
        else if (event.type === 'member-alive' && isTarget(event.member)) finish();
      });
      const timer = setTimeout(() => {
        const list = [...addresses].join(', ');
        finish(new GrapevineError('JOIN_TIMEOUT', `no member answered at ${list} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  /**
   * Leaves gracefully: announces `left` to several peers at once, keeps answering gossip for a little while
   * (two rounds, at most `timeoutMs`) so the announcement reaches everyone, then stops.
   */
  async leave(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#phase === 'created') {
      await this.stop();
      return;
    }
    if (this.#phase !== 'running') return;
    this.#command({ kind: 'leave', now: this.#runner.now });
    this.#phase = 'left';
    const waitMs = Math.min(options.timeoutMs ?? 5000, 2 * this.#core.options.gossipIntervalMs);
    this.#logger?.info({ name: this.name, waitMs }, 'left the cluster; letting the announcement spread');
    if (waitMs > 0) await new Promise<void>((resolve) => setTimeout(resolve, waitMs));
    await this.stop();
  }

  /** Stops at once, without telling anyone (peers will detect this node as down). */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#phase = 'stopped';
    this.#runner.stop();
    this.#loopMonitor?.stop();
    for (const iterator of [...this.#iterators]) iterator.close();
    await this.#transport.close();
    this.#logger?.info({ name: this.name }, 'node stopped');
  }

  // ----- state -------------------------------------------------------------------------------------------

  /** Sets a key of this node's own state; it spreads to every node. Throws KEY_INVALID, VALUE_TOO_LARGE... */
  set(key: string, value: string): void {
    this.#requireNotStopped();
    this.#command({ kind: 'set', now: this.#runner.now, key, value });
  }

  delete(key: string): void {
    this.#requireNotStopped();
    this.#command({ kind: 'delete', now: this.#runner.now, key });
  }

  /** A key of any member's state, as this node knows it (undefined if unknown). */
  get(member: string, key: string): string | undefined {
    return this.#core.keysOf(member)?.get(key)?.value;
  }

  /** Every live key of a member's state, or undefined for an unknown member. */
  keys(member: string): ReadonlyMap<string, KeyEntry> | undefined {
    return this.#core.keysOf(member);
  }

  // ----- membership --------------------------------------------------------------------------------------

  /** This node as it sees itself. */
  get self(): MemberView {
    return this.#core.member(this.name)!;
  }

  members(filter: MemberFilter = {}): MemberView[] {
    const statuses = filter.status === undefined ? null : new Set([filter.status].flat());
    return this.#core.members().filter((member) => {
      if (statuses !== null && !statuses.has(member.status)) return false;
      if (filter.key === undefined) return true;
      const entry = this.#core.keysOf(member.name)?.get(filter.key);
      return entry !== undefined && (filter.value === undefined || entry.value === filter.value);
    });
  }

  member(name: string): MemberView | undefined {
    return this.#core.member(name);
  }

  /** One member with the failure detector's numbers behind its status and its keys: for operators. */
  inspect(name: string): MemberDetails | undefined {
    const member = this.#core.member(name);
    if (member === undefined) return undefined;
    const keys: Record<string, KeyEntry> = {};
    for (const [key, entry] of this.#core.keysOf(name) ?? []) keys[key] = entry;
    const watchers = this.#core.watchersOf(name);
    return {
      member,
      detector: this.#core.phiOf(name) ?? null,
      watchers,
      watchedByThisNode: this.#core.watchedMembers().includes(name),
      keys,
    };
  }

  /** Phi of every other live member (for metrics: a histogram or a maximum, never one series per member). */
  phiValues(): number[] {
    const values: number[] = [];
    for (const member of this.#core.members()) {
      if (member.isSelf || member.status === 'down' || member.status === 'left') continue;
      const detector = this.#core.phiOf(member.name);
      if (detector !== undefined && Number.isFinite(detector.phi)) values.push(detector.phi);
    }
    return values;
  }

  /** Converts a time of this node's clock (event `atMs`, `statusChangedAtMs`) to wall-clock ms since the epoch. */
  wallClockOf(atMs: number): number {
    return Math.round(this.#wallClock() - (this.#scheduler.now() - atMs));
  }

  // ----- verdict history ---------------------------------------------------------------------------------

  /**
   * The status changes this node observed, oldest first (the last `verdictHistorySize` at most): when,
   * which member, from which status to which, at what heartbeat, and why (the verdict's provenance, or the
   * heartbeat that refuted it). Filter by member, and keep the last `limit`.
   */
  verdicts(query: VerdictQuery = {}): VerdictRecord[] {
    if (query.limit !== undefined && !(Number.isSafeInteger(query.limit) && query.limit >= 1)) {
      throw new RangeError('limit must be a positive integer');
    }
    return this.#history.query(query);
  }

  /** The history record an event made (undefined for events that are not status changes, such as joins). */
  verdictRecordOf(event: ClusterEvent): VerdictRecord | undefined {
    return this.#history.recordOf(event);
  }

  // ----- keyring -----------------------------------------------------------------------------------------

  /** Live key rotation; see NodeKeyring. */
  get keyring(): NodeKeyring {
    return {
      list: () => this.#fingerprints(this.#requireKeyring()),
      install: (key) => this.#changeKeyring('install', key),
      use: (key) => this.#changeKeyring('use', key),
      remove: (key) => this.#changeKeyring('remove', key),
    };
  }

  /** Whether frames are encrypted (the node was created with keys), so the keyring can rotate. */
  get encrypted(): boolean {
    return this.#keyring !== null;
  }

  #requireKeyring(): Keyring {
    if (this.#keyring === null) {
      throw new GrapevineError(
        'KEYRING_DISABLED',
        'this node was started without encryption keys, so it has no keyring to change: start it with keys',
      );
    }
    return this.#keyring;
  }

  #fingerprints(keyring: Keyring): KeyFingerprint[] {
    return keyring.list().map((key, index) => ({ fingerprint: keyFingerprint(key), primary: index === 0 }));
  }

  #changeKeyring(operation: 'install' | 'use' | 'remove', key: string): KeyringChange {
    const keyring = this.#requireKeyring();
    if (typeof key !== 'string')
      throw new GrapevineError('KEY_NOT_BASE64', 'the key must be a base64 string');
    const before = this.#fingerprints(keyring);
    try {
      keyring[operation](key);
    } catch (error) {
      if (error instanceof KeyError) throw new GrapevineError(error.code, error.message);
      throw error;
    }
    const keys = this.#fingerprints(keyring);
    const changed = JSON.stringify(keys) !== JSON.stringify(before);
    if (changed) {
      this.#logger?.info(
        { operation, fingerprint: keyFingerprint(key), primary: keys[0]!.fingerprint, keys: keys.length },
        'keyring changed',
      );
    }
    return { changed, keys };
  }

  // ----- events ------------------------------------------------------------------------------------------

  /** Calls `listener` with every event of `type` ('*': all), after the step that produced it. */
  on<T extends ClusterEventType | '*'>(type: T, listener: NodeEventListener<T>): () => void {
    if (this.#listenerCount >= LISTENERS_MAX) throw new RangeError(`at most ${LISTENERS_MAX} listeners`);
    const set = this.#listeners.get(type) ?? new Set();
    this.#listeners.set(type, set);
    const wrapped = listener as AnyListener;
    set.add(wrapped);
    this.#listenerCount++;
    return () => {
      if (set.delete(wrapped)) this.#listenerCount--;
    };
  }

  /**
   * An async iterator of events with a buffer of `bufferSize` (default 1024). When the consumer falls behind,
   * the oldest events are dropped and an `events-dropped` marker with their count takes their place. It ends
   * when the node stops, or when the loop breaks.
   */
  events(
    options: { bufferSize?: number; types?: readonly ClusterEventType[] } = {},
  ): AsyncIterableIterator<NodeEvent> {
    const capacity = options.bufferSize ?? 1024;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > EVENT_BUFFER_MAX) {
      throw new RangeError(`bufferSize must be an integer from 1 to ${EVENT_BUFFER_MAX}`);
    }
    if (this.#iterators.size >= ITERATORS_MAX) throw new RangeError(`at most ${ITERATORS_MAX} iterators`);
    const iterator = new EventIterator({
      capacity,
      types: options.types === undefined ? null : new Set(options.types),
      onClose: (closed) => this.#iterators.delete(closed),
      onDrop: () => this.#iteratorEventsDropped++,
    });
    if (this.#phase === 'stopped') iterator.close();
    else this.#iterators.add(iterator);
    return iterator;
  }

  /**
   * Calls `listener` for every change of a key starting with `prefix`, on any member (a null value is a
   * delete). With `initial: true` it is first called, synchronously, once per key that already exists.
   */
  watch(
    prefix: string,
    listener: (update: KeyUpdate) => void,
    options: { initial?: boolean } = {},
  ): () => void {
    const unsubscribe = this.on('key-updated', (event) => {
      if (event.key.startsWith(prefix)) listener(event);
    });
    if (options.initial === true) {
      const atMs = this.#runner.now;
      for (const member of this.#core.members()) {
        for (const [key, entry] of this.#core.keysOf(member.name) ?? []) {
          if (!key.startsWith(prefix)) continue;
          listener({
            type: 'key-updated',
            atMs,
            owner: member.name,
            key,
            value: entry.value,
            version: entry.version,
          });
        }
      }
    }
    return unsubscribe;
  }

  #deliver(event: ClusterEvent): void {
    // Recorded first, so a listener that reads the history finds the change it is told about.
    this.#history.observe(event);
    for (const type of [event.type, '*'] as const) {
      const set = this.#listeners.get(type);
      if (set === undefined) continue;
      for (const listener of [...set]) {
        try {
          listener(event);
        } catch (error) {
          this.#listenerErrors++;
          this.#logger?.error({ event: event.type, error: String(error) }, 'an event listener threw');
        }
      }
    }
    for (const iterator of this.#iterators) iterator.push(event);
  }

  // ----- diagnostics -------------------------------------------------------------------------------------

  stats(): NodeStats {
    return {
      phase: this.#phase,
      core: this.#core.counters,
      runner: this.#runner.stats,
      received: {
        messagesByType: this.#runner.stats.messagesReceivedByType,
        bytesByType: this.#runner.stats.bytesReceivedByType,
      },
      transport: numericFields((this.#transport as { stats?: unknown }).stats),
      loop: this.#loopMonitor?.stats() ?? null,
      listenerErrors: this.#listenerErrors,
      iteratorEventsDropped: this.#iteratorEventsDropped,
      statusChanges: { ...this.#history.changesByStatus },
      keyringKeys: this.#keyring?.size ?? 0,
    };
  }

  // ----- helpers -----------------------------------------------------------------------------------------

  #command(input: Parameters<Runner['command']>[0]): void {
    try {
      this.#runner.command(input);
    } catch (error) {
      if (error instanceof CommandError) throw new GrapevineError(error.code, error.message);
      throw error;
    }
  }

  #requirePhase(action: string): void {
    if (this.#phase === 'created') throw new GrapevineError('NOT_STARTED', `start the node before ${action}`);
    if (this.#phase !== 'running') throw new GrapevineError('STOPPED', `node is ${this.#phase}`);
  }

  #requireNotStopped(): void {
    if (this.#phase === 'stopped' || this.#phase === 'left') {
      throw new GrapevineError('STOPPED', `node is ${this.#phase}`);
    }
  }
}

function numericFields(value: unknown): Record<string, number> {
  const result: Record<string, number> = {};
  if (typeof value !== 'object' || value === null) return result;
  for (const [name, field] of Object.entries(value)) if (typeof field === 'number') result[name] = field;
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// createNode

function validate(options: NodeOptions): GossipOptions {
  const issues: OptionIssue[] = [];
  if (typeof options.name !== 'string' || options.name.length === 0 || options.name.length > 255) {
    issues.push({ path: 'name', message: 'must be a non-empty string of at most 255 characters' });
  }
  const resolved = resolveGossipOptions((options.gossip ?? {}) as Record<string, unknown>, 'gossip.');
  issues.push(...resolved.issues);
  for (const [path, address] of [
    ['bind', options.bind],
    ['advertise', options.advertise],
  ] as const) {
    if (address === undefined) continue;
    try {
      parseAddress(address, { defaultPort: path === 'bind' ? DEFAULT_PORT : 0, allowPortZero: true });
    } catch (error) {
      issues.push({ path, message: error instanceof Error ? error.message : String(error) });
    }
  }
  issues.push(...addressIssues('join', options.join ?? []));
  const historySize = options.verdictHistorySize;
  if (
    historySize !== undefined &&
    !(Number.isSafeInteger(historySize) && historySize >= 1 && historySize <= VERDICT_HISTORY_SIZE_MAX)
  ) {
    issues.push({
      path: 'verdictHistorySize',
      message: `must be an integer from 1 to ${VERDICT_HISTORY_SIZE_MAX}, got ${historySize}`,
    });
  }
  if (issues.length > 0) {
    const text = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
    throw new GrapevineError('OPTIONS_INVALID', `invalid node options: ${text}`, issues);
  }
  return resolved.options;
}

function addressIssues(path: string, addresses: readonly string[]): OptionIssue[] {
  const issues: OptionIssue[] = [];
  addresses.forEach((address, index) => {
    try {
      parseAddress(address, { defaultPort: DEFAULT_PORT });
    } catch (error) {
      issues.push({
        path: `${path}[${index}]`,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  });
  return issues;
}

function frameCodec(options: NodeOptions): FrameCodec {
  const clusterName = options.clusterName ?? DEFAULT_CLUSTER_NAME;
  if (options.keys === undefined || options.keys.length === 0) return new PlainFrameCodec(clusterName);
  try {
    return new KeyringFrameCodec({ clusterName, keyring: Keyring.fromBase64(options.keys) });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new GrapevineError('OPTIONS_INVALID', `invalid keys: ${message}`, [{ path: 'keys', message }]);
  }
}

/** The advertise address for a bind address, as documented on `NodeOptions.advertise`. */
function advertiseFor(options: NodeOptions, bindHost: string): { host: string; port: number } | undefined {
  if (options.advertise !== undefined && options.advertise !== '') {
    return parseAddress(options.advertise, { defaultPort: 0, allowPortZero: true });
  }
  if (!isWildcardHost(bindHost)) return undefined;
  const host = chooseAdvertiseHost();
  if (host === undefined) {
    throw new GrapevineError(
      'ADVERTISE_REQUIRED',
      `bound to the wildcard ${bindHost} and no non-loopback IPv4 address found: set advertise`,
    );
  }
  return { host, port: 0 };
}

async function openTransport(options: NodeOptions, gossip: GossipOptions): Promise<Transport> {
  if (options.transport !== undefined) return options.transport;
  const bindText = options.bind ?? DEFAULT_BIND;
  const bind = parseAddress(bindText, { defaultPort: DEFAULT_PORT, allowPortZero: true });
  const advertise = advertiseFor(options, bind.host);
  // A host alone makes the transport advertise the port it actually bound (port 0 binds pick one).
  const advertiseAddress =
    advertise === undefined
      ? undefined
      : advertise.port === 0
        ? advertise.host
        : formatAddress(advertise.host, advertise.port);
  try {
    return await NetTransport.create({
      bindHost: bind.host,
      bindPort: bind.port,
      ...(advertiseAddress === undefined ? {} : { advertiseAddress }),
      datagramBytesMax: gossip.datagramBytesMax,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code =
      (error as { code?: string }).code === 'ADVERTISE_INVALID' ? 'OPTIONS_INVALID' : 'BIND_FAILED';
    throw new GrapevineError(code, `cannot listen on ${bindText}: ${message}`);
  }
}

/**
 * Creates a node: validates the options (every problem in one OPTIONS_INVALID error), binds its sockets and
 * picks its generation. Call `start()` to begin gossiping.
 */
export async function createNode(options: NodeOptions): Promise<GrapevineNode> {
  let gossip = validate(options);
  const codec = frameCodec(options);
  const seeds = await Promise.all(
    [...new Set([...gossip.seeds, ...(options.join ?? [])])].map((seed) =>
      resolveAddress(seed, options.logger),
    ),
  );
  gossip = { ...gossip, seeds: [...new Set(seeds)] };
  const wallClock = options.wallClock ?? Date.now;
  const generation = await nextGeneration(options.dataDir, wallClock());
  const transport = await openTransport(options, gossip);
  const core = new GossipNode({
    identity: { name: options.name, generation, address: transport.localAddress },
    options: gossip,
    // Seeded once from the operating system: the core needs a fast stream, not a cryptographic one.
    random: options.random ?? new SeededRandom(randomBytes(4).readUInt32LE(0)),
    frameOverheadBytes: codec.overheadBytes,
  });
  return new GrapevineNode({
    core,
    transport,
    scheduler: options.scheduler ?? new RealScheduler(),
    codec,
    clusterName: codec.clusterName,
    logger: options.logger,
    monitorEventLoop: options.monitorEventLoop ?? options.scheduler === undefined,
    wallClock,
    verdictHistorySize: options.verdictHistorySize ?? DEFAULT_VERDICT_HISTORY_SIZE,
  });
}
