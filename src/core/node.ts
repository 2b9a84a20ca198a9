/**
 * GossipNode: the whole protocol of one node as a synchronous, deterministic state machine.
 *
 * It owns the member list (with every member's heartbeat, status and state version), the versioned state of
 * every owner, the news queue, the failure detector and the round schedule. It never reads a clock, draws
 * from Math.random or touches I/O: time arrives in every input, randomness through the injected `Random`,
 * and everything it wants done comes back as outputs. The simulator and the real runtime drive this same
 * class.
 *
 * Invariants (checked by assertions and by the simulator's checkers):
 * - time never goes backwards between inputs;
 * - a member's (generation, heartbeat, status) only moves up the lattice: newer generation, then higher
 *   heartbeat, then later status at the same heartbeat; the node's own record only ever refutes upwards;
 * - an owner's maxVersion only grows (a reset only adopts a strictly newer view);
 * - every datagram the node emits encodes to at most `datagramBytesMax` bytes, frame included.
 */
import {
  type Digest,
  type MemberEntry,
  type Message,
  memberEntryLength,
  type OwnerDelta,
  type Page,
  type PositionalPage,
  pageLength,
  type SyncMessage,
  utf8Length,
  VarintCursor,
  type VerdictNote,
  varintLength,
} from '../wire/index.js';
import { AssertionError, assert } from './assert.js';
import {
  buildDelta,
  type DeltaCandidate,
  type DeltaSource,
  packDeltas,
  planDelta,
  planLiveness,
} from './deltas.js';
import { CLUSTER_EVENT_TYPES, type ClusterEvent, type ClusterEventType, type MemberView } from './events.js';
import {
  effectiveStd,
  foldInterval,
  type IntervalStatistics,
  phi,
  silenceAtThreshold,
} from './failure-detector.js';
import { hashText } from './hash.js';
import { CommandError, type Input, type Output, type ProbeOutcome } from './io.js';
import { PeerKnowledge } from './knowledge.js';
import {
  MemberTable,
  type NewMember,
  STATUS_ALIVE,
  STATUS_DOWN,
  STATUS_LEFT,
  STATUS_SUSPECT,
} from './member-table.js';
import type { GossipOptions } from './options.js';
import { OwnerState } from './owner-state.js';
import {
  buildExplicitPage,
  buildPositionalPage,
  KEY_SPACE_END,
  type KnownRangeHash,
  randomPageStart,
  rangeHash,
  singleDifferenceKey,
  statusName,
} from './pages.js';
import type { Random } from './random.js';
import type { StringPool } from './string-pool.js';
import { TokenBucket } from './token-bucket.js';

export interface NodeIdentity {
  readonly name: string;
  /** Grows across restarts of the same name; a newer generation supersedes everything of an older one. */
  readonly generation: number;
  /** host:port where peers reach this node (datagrams and streams). */
  readonly address: string;
}

export interface GossipNodeInit {
  readonly identity: NodeIdentity;
  readonly options: GossipOptions;
  readonly random: Random;
  /** Bytes the shell adds around each datagram payload (frame header, encryption); the core budgets for them. */
  readonly frameOverheadBytes: number;
  /** Where member names and addresses are interned; the simulator shares one among all its nodes. */
  readonly strings?: StringPool;
}

/** A watched member whose silence calls for a probe, and by how many deviations it is late. */
interface ProbeCandidate {
  readonly slot: number;
  readonly lateness: number;
}

interface NewsItem {
  transmitsLeft: number;
  /** The member's version before the news: a speculative delta starts there. */
  baseVersion: number;
  urgent: boolean;
}

/** News entries chosen for one digest, their slots and encoded size. */
interface NewsSelection {
  readonly entries: readonly MemberEntry[];
  readonly slots: readonly number[];
  readonly bytes: number;
}

/** What #selectNews gives when there is none, as there mostly is not at rest: one shared, empty selection. */
const NO_NEWS: NewsSelection = { entries: [], slots: [], bytes: 0 };

/**
 * The outputs of a step that has none: one shared empty array, read-only by type. (Not frozen: for-of over a
 * frozen array leaves V8's fast path and allocates a result object per step.)
 */
const NO_OUTPUTS: readonly Output[] = [];

const NEWS_CAPACITY = 1024;
/** About what one entry of an explicit page takes (name, address, heartbeat, status, now and then a verdict). */
const EXPLICIT_ENTRY_BYTES_TYPICAL = 40;
const PROBES_IN_FLIGHT_MAX = 64;
/** Relayed arrivals sampled into a node's pooled statistics per round, about (see #relayedStride). */
const RELAYED_SAMPLES_PER_ROUND = 4;
const REAPED_CAPACITY = 10_000;
const RANGE_HASHES = 64;
const RANGE_HASH_FIELDS = 6;
/** Slots of a page whose heartbeat moved on, between the two passes of a merge (steps are synchronous). */
let arrivalScratch = new Int32Array(256);

/**
 * A fresh set of the core's counters. Written out as one object literal so that V8 keeps every counter
 * inside the object: built field by field, all but the first few would sit in a separate property array,
 * one more pointer (and, in a simulated cluster of 1,000 nodes, one more cache miss) per increment.
 */
function zeroCounters() {
  return {
    rounds: 0,
    synSent: 0,
    synReceived: 0,
    synAckSent: 0,
    synAckReceived: 0,
    ackSent: 0,
    ackReceived: 0,
    syncSent: 0,
    syncReceived: 0,
    heartbeatsSent: 0,
    heartbeatsReceived: 0,
    urgentPushes: 0,
    eagerPushes: 0,
    probesSent: 0,
    probesRefused: 0,
    probesReachable: 0,
    probesTimedOut: 0,
    pagesMatched: 0,
    pagesMismatched: 0,
    explicitPagesSent: 0,
    pageDifferencesFound: 0,
    deltasApplied: 0,
    deltaGaps: 0,
    resetsApplied: 0,
    catchUpsSent: 0,
    keysApplied: 0,
    refutations: 0,
    identityConflicts: 0,
    reapedIgnored: 0,
    membersRefused: 0,
    membersReaped: 0,
    stallsCompensated: 0,
    stallCompensatedMs: 0,
    tombstonesCollected: 0,
    suspicions: 0,
    downVerdicts: 0,
    messagesIgnored: 0,
  };
}

export type CoreCounterName = keyof ReturnType<typeof zeroCounters>;

export const CORE_COUNTER_NAMES: readonly CoreCounterName[] = Object.keys(
  zeroCounters(),
) as CoreCounterName[];

export class GossipNode {
  readonly name: string;
  readonly generation: number;
  readonly address: string;
  readonly options: GossipOptions;
  readonly counters: Record<CoreCounterName, number>;
  // The fields most events read come first, so that they share as few cache lines as can be.
  #now = 0;
  #phase: 'idle' | 'running' | 'left' = 'idle';
  #outputs: Output[] | null = null;
  #table: MemberTable;
  #selfSlot: number;
  /**
   * Each member's key-value state by slot (undefined when it has none): an array rather than a Map, as it is
   * looked up for every member a peer mentions, and indexing by slot costs no hashing.
   */
  #states: (OwnerState | undefined)[] = [];
  /** One map reused for every exchange (each is handled within one synchronous step). */
  readonly #knowledge = new PeerKnowledge();
  #nextRoundAtMs = Number.POSITIVE_INFINITY;
  #nextCheckAtMs = Number.POSITIVE_INFINITY;
  /**
   * A member whose deadline falls before this (the end of the horizon after the current one) joins the
   * watch set, and leaves it only once its deadline moves past it: a watched member's deadline, a round or
   * two ahead, then never leaves the set, and never lowers `#outsideMinMs` below the next horizon.
   */
  #keepUntilMs = Number.NEGATIVE_INFINITY;
  /**
   * No member outside the watch set has a deadline before this (a lower bound, lowered as deadlines are set
   * and raised by each full pass): while it lies beyond the next horizon, the pass would add nobody and is
   * skipped. At rest only a few members (the watched ones, with deadlines a round or two ahead) are in the
   * set, and every other deadline lies minutes ahead, so the pass runs rarely.
   */
  #outsideMinMs = Number.NEGATIVE_INFINITY;
  /** Bumped whenever a member is added, removed or changes status: cached ring neighbours go stale then. */
  #membershipEpoch = 0;
  /** Whether `#reaped` may hold anything (see #tombstonedAny): read for every entry a peer sends. */
  #reapedAny = false;
  /** Whether `#news` holds anything, kept exact (the fanout depends on it): read for every digest composed. */
  #newsAny = false;
  /**
   * Whether `#tombstoned` may hold anything. It is nearly always empty (so are the maps behind the other
   * flags here), and asking a Map or Set its size reads two objects of its own: in a simulated cluster of
   * 1,000 nodes each such read is a likely cache miss.
   */
  #tombstonedAny = false;
  /** Whether `#probedAtMs` may hold anything (read for every heartbeat of a watched member; see #tombstonedAny). */
  #probedAny = false;
  #urgentPending = false;
  /** Set when this node wrote a key or learned newer state during the step: push it eagerly after. */
  #eagerPending = false;
  /**
   * `#watched[0]` (or -1), and whether there are more: with the default of one watcher, #watches compares
   * one number and reads no array (in a simulated cluster, two objects and two likely cache misses).
   */
  #watchedFirst = -1;
  #watchedMore = false;
  /**
   * One relayed arrival in this many becomes a sample (about RELAYED_SAMPLES_PER_ROUND a round): a pooled
   * estimate needs no more, and an arrival that is not sampled is two writes, with no read of the member's
   * last arrival (in a simulated cluster of 1,000 nodes, a cache miss per arrival). Set once a round.
   */
  #relayedStride = 1;
  #relayedArrivals = 0;
  #relayedUnsampled = 0;
  /** Silence after which phi over the relayed statistics reaches downPhi; follows every relayed sample. */
  #relayedDownSilenceMs = 0;
  /**
   * Identity hashes of ranges of our member list that this node hashed or paged lately: range start, range
   * end, hashA, hashB, count and the membership epoch they were taken at (RANGE_HASH_FIELDS each), in
   * RANGE_HASHES places picked by the top bits of the start. While the epoch is unchanged nothing that
   * enters a hash has changed, so a page of a range seen before (at rest, every node pages the same ranges in
   * turn, and a reply covers the range of our own syn) needs no pass over the members' hash columns.
   */
  readonly #rangeHashes = new Float64Array(RANGE_HASHES * RANGE_HASH_FIELDS).fill(-1);
  readonly #payloadBudget: number;
  #pageCursor = 0;
  /**
   * What #rangeHash and #knownRangeHash return when the hash is remembered: one object, overwritten by the
   * next call, as every caller is done with it before then (a page build or a comparison).
   */
  readonly #knownScratch = { rangeEnd: 0, hashA: 0, hashB: 0, count: 0 };
  #lastOwnEntry: MemberEntry | null = null;
  /** Encoded size of #lastOwnEntry (a digest's budget is what is left after it). */
  #lastOwnEntryBytes = 0;
  /** Members #checkWatched found late enough to probe: one list, emptied by each check. */
  readonly #probeCandidates: ProbeCandidate[] = [];
  #liveCount = 0;

  #random: Random;
  /** Owners whose state holds tombstones: the only ones the once-a-round collection looks at. */
  #tombstoned = new Set<number>();
  #news = new Map<number, NewsItem>();
  #verdicts = new Map<number, VerdictNote>();
  #probedAtMs = new Map<number, number>();
  #probesInFlight = new Map<string, { slot: number; name: string; generation: number }>();
  /** Reaped identities: (generation, last heartbeat known) per name, so stale gossip cannot bring them back. */
  #reaped = new Map<string, { generation: number; heartbeat: number; reapedAtMs: number }>();
  #catchUpAtMs = new Map<string, number>();
  #seeds: string[];

  #lastJoinAtMs = Number.NEGATIVE_INFINITY;
  #eventTypes: ReadonlySet<ClusterEventType> = new Set(CLUSTER_EVENT_TYPES);
  #urgentBucket: TokenBucket;
  #eagerBucket: TokenBucket;
  #probeBudget = 0;
  #stallCompensatedUntilMs = Number.NEGATIVE_INFINITY;
  #downCount = 0;
  #meanMs = 0;
  #stdMs = 0;
  #priorMeanMs: number;
  readonly #alpha: number;
  /**
   * Statistics of relayed arrivals (F1c): the intervals between heartbeat increases of every member this
   * node does not watch, pooled. Such a member's heartbeat reaches this node when a page or a news entry
   * happens to carry a newer one, so its intervals come from the gossip's rotation, the same for every
   * member; pooled, they are sampled about forty times a round instead of once every twenty rounds per member.
   */
  readonly #relayed: IntervalStatistics = { meanMs: 0, varianceMs2: 0 };
  #relayedSamples = 0;
  /** Weight of one relayed sample: a window of detectorWindowSamples intervals per member (once a round). */
  #relayedAlpha: number;
  /** Members whose deadline falls before `#horizonMs`: the only ones the periodic checks look at. */
  #watch = new Set<number>();
  #horizonMs = Number.NEGATIVE_INFINITY;
  /** The live members just before this node in key order: the ones it watches (and alone may probe). */
  #watched: number[] = [];
  /** The live members just after it: they watch it, so it sends them a heartbeat every round. */
  #watchers: number[] = [];
  #neighboursEpoch = -1;

  constructor(init: GossipNodeInit) {
    const { identity, options } = init;
    assert(identity.name.length > 0, 'a node needs a name');
    assert(
      Number.isSafeInteger(identity.generation) && identity.generation >= 0,
      'generation is a safe integer',
    );
    this.name = identity.name;
    this.generation = identity.generation;
    this.address = identity.address;
    this.options = options;
    this.#random = init.random;
    this.#table = new MemberTable(init.strings);
    this.#payloadBudget = options.datagramBytesMax - init.frameOverheadBytes;
    assert(this.#payloadBudget >= 400, 'datagram budget too small after frame overhead');
    this.#urgentBucket = new TokenBucket(options.urgentPushesPerSecondMax);
    this.#eagerBucket = new TokenBucket(options.eagerPushesPerSecondMax);
    this.#priorMeanMs = options.gossipIntervalMs;
    this.#alpha = 2 / (options.detectorWindowSamples + 1);
    this.#relayedAlpha = this.#alpha;
    this.#seeds = options.seeds.filter((seed) => seed !== identity.address);
    this.counters = zeroCounters();
    this.#selfSlot = this.#table.add(
      {
        name: identity.name,
        generation: identity.generation,
        address: identity.address,
        heartbeat: 0,
        status: 0,
      },
      0,
    );
    this.#states[this.#selfSlot] = new OwnerState();
  }

  // -------------------------------------------------------------------------------------------------------
  // The one entry point

  /** Feeds one input and returns what the node wants done. Throws CommandError only for invalid commands. */
  step(input: Input): readonly Output[] {
    // Not assert(): its message would be formatted on every step, and steps run millions of times a minute.
    if (!(input.now >= this.#now))
      throw new AssertionError(`time went backwards: ${input.now} < ${this.#now}`);
    this.#now = input.now;
    this.#outputs = null;
    switch (input.kind) {
      case 'start':
        this.#start();
        break;
      case 'tick':
        this.#tick();
        break;
      case 'datagram':
      case 'stream':
        this.#receive(input.from, input.message);
        break;
      case 'probe-result':
        this.#probeResult(input.address, input.outcome);
        break;
      case 'stall':
        this.#compensateStall(input.durationMs);
        break;
      case 'set':
        this.#write(input.key, input.value);
        break;
      case 'delete':
        this.#write(input.key, null);
        break;
      case 'join':
        this.#requireRunning();
        this.#joinVia(input.addresses);
        break;
      case 'leave':
        this.#leave();
        break;
    }
    if (this.#urgentPending) this.#pushUrgent();
    else if (this.#eagerPending) this.#pushEager();
    this.#eagerPending = false;
    return this.#outputs ?? NO_OUTPUTS;
  }

  /** Earliest time the node wants a `tick`; Infinity when it has nothing scheduled. */
  nextWakeAt(): number {
    if (this.#phase !== 'running') return Number.POSITIVE_INFINITY;
    return Math.min(this.#nextRoundAtMs, this.#nextCheckAtMs);
  }

  get phase(): 'idle' | 'running' | 'left' {
    return this.#phase;
  }

  // -------------------------------------------------------------------------------------------------------
  // Reading the view

  get memberCount(): number {
    return this.#table.count;
  }

  members(): MemberView[] {
    const views: MemberView[] = [];
    for (let position = 0; position < this.#table.count; position++) {
      views.push(this.#view(this.#table.order[position]!));
    }
    return views;
  }

  /**
   * Every member's name, in view order, and its (generation, heartbeat, state version) as three numbers
   * each in `values`: what the simulator's invariant checkers compare between samples, without building a
   * MemberView per member.
   */
  memberVersions(): { names: string[]; values: Float64Array } {
    const table = this.#table;
    const names: string[] = new Array(table.count);
    const values = new Float64Array(3 * table.count);
    for (let position = 0; position < table.count; position++) {
      const slot = table.order[position]!;
      names[position] = table.name(slot);
      values[3 * position] = table.generations[slot]!;
      values[3 * position + 1] = table.heartbeats[slot]!;
      values[3 * position + 2] = table.maxVersions[slot]!;
    }
    return { names, values };
  }

  member(name: string): MemberView | undefined {
    const slot = this.#table.find(name);
    return slot < 0 ? undefined : this.#view(slot);
  }

  /** Live (non-deleted) keys of a member's state, or undefined for an unknown member. */
  keysOf(name: string): Map<string, { value: string; version: number }> | undefined {
    const slot = this.#table.find(name);
    if (slot < 0) return undefined;
    const result = new Map<string, { value: string; version: number }>();
    const state = this.#states[slot];
    if (state === undefined) return result;
    for (const entry of state.entries()) {
      if (entry.value !== null) result.set(entry.key, { value: entry.value, version: entry.version });
    }
    return result;
  }

  /** Current phi of a member, with the statistics behind it, for diagnostics. */
  phiOf(name: string): { phi: number; silenceMs: number; meanMs: number; stdMs: number } | undefined {
    const slot = this.#table.find(name);
    if (slot < 0 || slot === this.#selfSlot) return undefined;
    this.#loadStatistics(slot);
    const meanMs = this.#meanMs;
    const stdMs = this.#stdMs;
    const silenceMs = this.#now - this.#table.lastArrivalMs[slot]!;
    return { phi: phi(silenceMs, meanMs, stdMs, this.options.acceptablePauseMs), silenceMs, meanMs, stdMs };
  }

  /**
   * A checksum of everything that must agree across nodes once gossip has settled: every member's identity,
   * status and version, and every owner's state. Heartbeats are left out because they never stop moving.
   */
  viewChecksum(): number {
    let checksum = 0;
    const table = this.#table;
    for (let position = 0; position < table.count; position++) {
      const slot = table.order[position]!;
      let h = hashText(table.name(slot));
      h = hashText(`|${table.generations[slot]}|${table.statuses[slot]}|${table.maxVersions[slot]}`, h);
      const state = this.#states[slot];
      if (state !== undefined && state.size > 0) {
        let stateHash = 0;
        for (const entry of state.entries()) {
          stateHash ^= hashText(`${entry.key}\u0000${entry.version}\u0000${entry.value ?? '\u0001'}`);
        }
        h = hashText(String(stateHash >>> 0), h);
      }
      checksum = (Math.imul(checksum, 31) + h) >>> 0;
    }
    return checksum;
  }

  // -------------------------------------------------------------------------------------------------------
  // Lifecycle

  #requireRunning(): void {
    if (this.#phase !== 'running') throw new CommandError('NOT_RUNNING', `node is ${this.#phase}`);
  }

  #start(): void {
    if (this.#phase !== 'idle') return;
    this.#phase = 'running';
    // A random phase within the first interval keeps nodes that start together from gossiping in lockstep.
    this.#nextRoundAtMs = this.#now + this.#random.int(this.options.gossipIntervalMs);
    this.#nextCheckAtMs = this.#nextRoundAtMs;
    if (this.#seeds.length > 0) this.#joinVia(this.#seeds);
  }

  #joinVia(addresses: readonly string[]): void {
    const candidates = addresses.filter((address) => address !== this.address);
    for (const address of candidates) {
      if (!this.#seeds.includes(address) && this.#seeds.length < 64) this.#seeds.push(address);
    }
    this.#lastJoinAtMs = this.#now;
    const message: SyncMessage = {
      type: 'sync',
      sender: this.#ownEntry(),
      replyWanted: true,
      members: [],
      deltas: [this.#fullDelta(this.#selfSlot)],
    };
    for (const address of this.#pick(candidates, 3)) this.#send(address, 'stream', message);
  }

  #leave(): void {
    if (this.#phase !== 'running') return;
    const table = this.#table;
    table.heartbeats[this.#selfSlot]!++;
    this.#setStatus(
      this.#selfSlot,
      STATUS_LEFT,
      { accuser: this.name, reason: 'left', phiHundredths: 0, silenceMs: 0 },
      false,
    );
    this.#phase = 'left';
    // Announce it now, to more peers than usual: a left node stops gossiping, so this is its last word.
    this.#urgentPending = false;
    const fanout = Math.max(this.options.fanout, this.options.urgentFanout);
    for (const slot of this.#sampleLive(fanout)) this.#sendSyn(table.address(slot));
  }

  // -------------------------------------------------------------------------------------------------------
  // Rounds

  #tick(): void {
    if (this.#phase !== 'running') return;
    if (this.#now >= this.#nextRoundAtMs) {
      const interval = this.options.gossipIntervalMs;
      this.#nextRoundAtMs += interval;
      // After a stall, resume the rhythm from now rather than firing every missed round at once.
      if (this.#nextRoundAtMs <= this.#now) this.#nextRoundAtMs = this.#now + interval;
      this.#round();
    } else if (this.#now >= this.#nextCheckAtMs) {
      this.#checkWatched();
    }
  }

  #round(): void {
    this.counters.rounds++;
    this.#table.heartbeats[this.#selfSlot]!++;
    this.#probeBudget = this.options.probesPerRoundMax;
    this.#checkMembers();
    this.#collectTombstones();
    this.#expireReaped();
    this.#gossip();
    this.#heartbeatWatchers();
  }

  #heartbeatWatchers(): void {
    if (this.#watchers.length === 0) return;
    const message: Message = { type: 'heartbeat', sender: this.#ownEntry() };
    for (const slot of this.#watchers) {
      this.counters.heartbeatsSent++;
      this.#send(this.#table.address(slot), 'datagram', message);
    }
  }

  /**
   * Recomputes who this node watches and who watches it: its live neighbours on the key ring. Only when the
   * member list or a status changed since the last time (`#membershipEpoch`).
   */
  #findNeighbours(): void {
    if (this.#neighboursEpoch === this.#membershipEpoch) return;
    this.#neighboursEpoch = this.#membershipEpoch;
    const previouslyWatched = this.#watched;
    const self = this.#table.positionOf(this.#selfSlot);
    this.#watchers = this.#liveNeighbours(self, 1, this.#selfSlot);
    this.#watched = this.#liveNeighbours(self, -1, this.#selfSlot);
    this.#watchedFirst = this.#watched.length > 0 ? this.#watched[0]! : -1;
    this.#watchedMore = this.#watched.length > 1;
    // A member that starts or stops being watched changes how its heartbeats reach this node (directly every
    // round, or relayed by pages every few rounds) and its thresholds (a watcher probes, and suspects
    // sooner). Its statistics restart from the prior of its new role, or the intervals of the old one would
    // linger for many samples (a new watcher slow to notice a crash, a former one quick to accuse a member
    // it no longer hears every round); its deadline follows now, not at its next heartbeat.
    for (const slot of previouslyWatched) if (!this.#watched.includes(slot)) this.#restartStatistics(slot);
    for (const slot of this.#watched) if (!previouslyWatched.includes(slot)) this.#restartStatistics(slot);
  }

  #restartStatistics(slot: number): void {
    this.#table.sampleCounts[slot] = 0;
    this.#updateDeadline(slot);
  }

  /**
   * The `watchers` live members next to `position` in key order, other than `subject`, walking forwards
   * (1: the subject's watchers) or backwards (-1: the members it watches).
   */
  #liveNeighbours(position: number, direction: 1 | -1, subject: number): number[] {
    const table = this.#table;
    const found: number[] = [];
    for (let step = 1; step < table.count && found.length < this.options.watchers; step++) {
      const slot = table.order[(position + direction * step + table.count) % table.count]!;
      if (slot !== subject && table.statuses[slot]! <= STATUS_SUSPECT) found.push(slot);
    }
    return found;
  }

  /**
   * The members that watch `name` (its live successors in key order) as this node sees the ring, and, for
   * this node itself, the ones it watches: for diagnostics (the HTTP API shows who is expected to catch a
   * member's failure first).
   */
  watchersOf(name: string): string[] {
    const slot = this.#table.find(name);
    if (slot < 0) return [];
    const position = this.#table.positionOf(slot);
    return this.#liveNeighbours(position, 1, slot).map((watcher) => this.#table.name(watcher));
  }

  /** Members this node watches (its live predecessors in key order). */
  watchedMembers(): string[] {
    return this.#watched.map((slot) => this.#table.name(slot));
  }

  #gossip(): void {
    const table = this.#table;
    const fanout = this.#newsAny ? this.options.fanout : this.options.idleFanout;
    let gossipedToSeed = false;
    for (const slot of this.#sampleLive(fanout)) {
      const address = table.address(slot);
      gossipedToSeed ||= this.#seeds.includes(address);
      this.#sendSyn(address);
    }
    // Cassandra's rules (CASSANDRA-150): now and then also gossip to a down member, so that a healed
    // partition is noticed, and to a seed, so that no group of nodes stays an island.
    const live = this.#liveCount;
    const down = this.#downCount;
    if (down > 0 && this.#random.next() < down / (live + 1)) {
      const slot = this.#sampleStatus(STATUS_DOWN);
      if (slot >= 0) this.#sendSyn(table.address(slot));
    }
    if (this.#seeds.length === 0) return;
    if (live === 0) {
      if (this.#now - this.#lastJoinAtMs >= this.options.joinRetryIntervalMs) this.#joinVia(this.#seeds);
      return;
    }
    if (
      (!gossipedToSeed || live < this.#seeds.length) &&
      this.#random.next() < this.#seeds.length / (live + down)
    ) {
      this.#sendSyn(this.#seeds[this.#random.int(this.#seeds.length)]!);
    }
  }

  /** Up to `count` distinct random live members other than this node. */
  #sampleLive(count: number): number[] {
    const table = this.#table;
    if (count <= 0 || table.count <= 1) return [];
    // Sized up front (an empty array grows to seventeen elements at its first push), cut to what was found.
    let chosen: number[] = new Array<number>(count);
    let found = 0;
    // Rejection sampling stays O(count) while most members are live; fall back to a scan otherwise.
    for (let tries = 0; tries < count * 8 && found < count; tries++) {
      const slot = table.order[this.#random.int(table.count)]!;
      if (slot !== this.#selfSlot && table.statuses[slot]! <= STATUS_SUSPECT && !chosen.includes(slot)) {
        chosen[found++] = slot;
      }
    }
    if (found === count) return chosen;
    chosen = chosen.slice(0, found);
    const live: number[] = [];
    for (let position = 0; position < table.count; position++) {
      const slot = table.order[position]!;
      if (slot !== this.#selfSlot && table.statuses[slot]! <= STATUS_SUSPECT && !chosen.includes(slot)) {
        live.push(slot);
      }
    }
    for (const slot of this.#pick(live, count - chosen.length)) chosen.push(slot);
    return chosen;
  }

  #sampleStatus(status: number): number {
    const table = this.#table;
    const matching: number[] = [];
    for (let position = 0; position < table.count; position++) {
      const slot = table.order[position]!;
      if (table.statuses[slot] === status) matching.push(slot);
    }
    return matching.length === 0 ? -1 : matching[this.#random.int(matching.length)]!;
  }

  /** A random subset of at most `count` items (partial Fisher-Yates on a copy). */
  #pick<T>(items: readonly T[], count: number): T[] {
    const copy = items.slice();
    const result: T[] = [];
    for (let i = 0; i < copy.length && result.length < count; i++) {
      const j = i + this.#random.int(copy.length - i);
      const swap = copy[i]!;
      copy[i] = copy[j]!;
      copy[j] = swap;
      result.push(copy[i]!);
    }
    return result;
  }

  #pushUrgent(): void {
    this.#urgentPending = false;
    if (this.#phase !== 'running' || this.options.urgentFanout === 0) return;
    if (!this.#urgentBucket.take(this.#now)) return;
    this.counters.urgentPushes++;
    for (const slot of this.#pushTargets(this.options.urgentFanout)) this.#sendSyn(this.#table.address(slot));
    for (const item of this.#news.values()) item.urgent = false;
  }

  /** Starts exchanges with `eagerFanout` peers now: the news this step brought travels without waiting. */
  #pushEager(): void {
    if (this.#phase !== 'running' || this.options.eagerFanout === 0) return;
    if (!this.#eagerBucket.take(this.#now)) return;
    this.counters.eagerPushes++;
    for (const slot of this.#pushTargets(this.options.eagerFanout)) this.#sendSyn(this.#table.address(slot));
  }

  /**
   * Where a push goes: `fanout` random live members and this node's watchers (its live successors in key
   * order). Random targets alone reach all but about e^-fanout of the cluster (a node nobody happened to
   * pick waits for the next rounds); since every node that learns the news also pushes to its successor,
   * the news walks the ring from every node that has it, and each gap between them closes within
   * milliseconds.
   */
  #pushTargets(fanout: number): number[] {
    this.#findNeighbours();
    const targets = this.#sampleLive(fanout);
    for (const slot of this.#watchers) if (!targets.includes(slot)) targets.push(slot);
    return targets;
  }

  // -------------------------------------------------------------------------------------------------------
  // Failure detection

  /**
   * Loads a member's inter-arrival mean and standard deviation into `#meanMs` and `#stdMs` (fields rather
   * than a returned object: this runs for every heartbeat a page brings, millions of times a simulated
   * round at 10,000 nodes). A member without samples gets the prior.
   */
  #loadStatistics(slot: number): void {
    if (!this.#watches(slot)) {
      this.#loadRelayedStatistics();
      return;
    }
    const table = this.#table;
    if (table.sampleCounts[slot] === 0) {
      // The prior of a watched member: one round, as it hears the member directly.
      const prior = this.options.gossipIntervalMs;
      this.#meanMs = prior;
      this.#stdMs = Math.max(prior / 2, this.options.minStdDeviationMs);
      return;
    }
    this.#meanMs = table.meanIntervalMs[slot]!;
    this.#stdMs = effectiveStd(table.varianceIntervalMs2[slot]!, this.options.minStdDeviationMs);
  }

  /** #loadStatistics for a member this node does not watch: the pooled relayed statistics (F1c), or their prior. */
  #loadRelayedStatistics(): void {
    if (this.#relayedSamples === 0) {
      const prior = this.#priorMeanMs;
      this.#meanMs = prior;
      this.#stdMs = Math.max(prior / 2, this.options.minStdDeviationMs);
      return;
    }
    this.#meanMs = this.#relayed.meanMs;
    this.#stdMs = effectiveStd(this.#relayed.varianceMs2, this.options.minStdDeviationMs);
  }

  /** Whether this node watches `slot` (it is among its live predecessors): `watchers` is 1 to 4, so a scan. */
  #watches(slot: number): boolean {
    if (slot === this.#watchedFirst) return true;
    return this.#watchedMore && this.#watched.includes(slot);
  }

  /**
   * Folds one inter-arrival sample into a member's statistics: exponentially weighted with an effective
   * window of detectorWindowSamples, but early samples weigh more (a running mean in which the prior counts
   * as two samples), so a young member's statistics reflect what was observed within a few heartbeats.
   */
  #foldSample(slot: number, sampleMs: number): void {
    const table = this.#table;
    const count = table.sampleCounts[slot]!;
    const statistics = this.#foldScratch;
    statistics.meanMs = table.meanIntervalMs[slot]!;
    statistics.varianceMs2 = table.varianceIntervalMs2[slot]!;
    // The prior of a watched member: one round, as it hears the member directly.
    foldInterval(statistics, count, sampleMs, this.#alpha, this.options.gossipIntervalMs);
    table.meanIntervalMs[slot] = statistics.meanMs;
    table.varianceIntervalMs2[slot] = statistics.varianceMs2;
    if (count < 255) table.sampleCounts[slot] = count + 1;
  }

  readonly #foldScratch: IntervalStatistics = { meanMs: 0, varianceMs2: 0 };

  /**
   * Expected heartbeat inter-arrival time before any sample: one round while every member fits in one page;
   * with P pages and about 2 * idleFanout pages received per round, a member's page comes by every P / (2 *
   * idleFanout) rounds. Recomputed once a round.
   */
  #updatePrior(): void {
    const perPage = Math.min(this.options.pageEntriesMax, (this.#payloadBudget - 200) / 5);
    const pages = Math.ceil(this.#table.count / perPage);
    this.#priorMeanMs = this.options.gossipIntervalMs * Math.max(1, pages / (2 * this.options.idleFanout));
    // Each unwatched live member adds about one relayed arrival per its own interval, and one arrival in
    // #relayedStride becomes a sample: a window of detectorWindowSamples intervals per member spans that many
    // times the members, over the stride, in samples.
    const relayed = Math.max(1, this.#liveCount - this.#watched.length);
    this.#relayedStride = Math.max(1, Math.floor(this.#relayedArrivals / RELAYED_SAMPLES_PER_ROUND));
    this.#relayedArrivals = 0;
    this.#relayedAlpha = 2 / ((this.options.detectorWindowSamples * relayed) / this.#relayedStride + 1);
    this.#updateRelayedSilence();
  }

  /** Folds one interval between relayed arrivals into the pooled statistics (as #foldSample does per member). */
  #foldRelayedSample(sampleMs: number): void {
    foldInterval(this.#relayed, this.#relayedSamples, sampleMs, this.#relayedAlpha, this.#priorMeanMs);
    this.#relayedSamples++;
    this.#updateRelayedSilence();
  }

  #updateRelayedSilence(): void {
    this.#loadRelayedStatistics();
    this.#relayedDownSilenceMs = silenceAtThreshold(
      this.options.downPhi,
      this.#meanMs,
      this.#stdMs,
      this.options.acceptablePauseMs,
    );
  }

  /**
   * Records a heartbeat increase. For a member this node watches (it hears it every round), an interval
   * longer than two rounds is a stall or a burst of loss, not a sample of how heartbeats arrive: it is not
   * folded into the statistics, as Cassandra ignores intervals above its maximum (the acceptable pause is
   * there to absorb it). Otherwise a peer that pauses for two seconds now and then would teach its watcher
   * to wait out a pause of eight.
   */
  #recordArrival(slot: number): void {
    const table = this.#table;
    const watched = this.#watches(slot);
    if (watched) {
      const sampleMs = this.#now - table.lastArrivalMs[slot]!;
      if (sampleMs <= 2 * this.options.gossipIntervalMs) this.#foldSample(slot, sampleMs);
    } else {
      this.#relayedArrivals++;
      if (++this.#relayedUnsampled >= this.#relayedStride) {
        this.#relayedUnsampled = 0;
        this.#foldRelayedSample(this.#now - table.lastArrivalMs[slot]!);
      }
    }
    table.lastArrivalMs[slot] = this.#now;
    // An alive member this node does not watch: its deadline is the pooled silence from now (what
    // #updateDeadline would compute, without reading its columns again).
    if (watched || table.statuses[slot] !== STATUS_ALIVE) this.#updateDeadline(slot);
    else this.#setDeadline(slot, this.#now + this.#relayedDownSilenceMs);
  }

  /** When the next failure-detector threshold of a live member is crossed, if nothing arrives before. */
  #updateDeadline(slot: number): void {
    const table = this.#table;
    const status = table.statuses[slot]!;
    if (slot === this.#selfSlot) {
      table.deadlineMs[slot] = Number.POSITIVE_INFINITY;
      return;
    }
    if (status >= STATUS_DOWN) {
      this.#setDeadline(slot, table.statusChangedAtMs[slot]! + this.options.downRetentionMs);
      return;
    }
    this.#loadStatistics(slot);
    const meanMs = this.#meanMs;
    const stdMs = this.#stdMs;
    const last = table.lastArrivalMs[slot]!;
    const pause = this.options.acceptablePauseMs;
    const watched = this.#watches(slot);
    let probeAt = Number.POSITIVE_INFINITY;
    if (watched) {
      const probedAt = this.#probedAny ? this.#probedAtMs.get(slot) : undefined;
      const probeReadyAt = probedAt === undefined ? 0 : probedAt + this.options.probeCooldownMs;
      probeAt = Math.max(probeReadyAt, last + this.#probeSilenceMs(meanMs, stdMs));
    }
    if (status === STATUS_ALIVE) {
      const suspectAt = last + silenceAtThreshold(this.#suspectThreshold(watched), meanMs, stdMs, pause);
      this.#setDeadline(slot, Math.min(probeAt, suspectAt));
      return;
    }
    const downAt = Math.max(
      last + silenceAtThreshold(this.options.downPhi, meanMs, stdMs, pause),
      table.statusChangedAtMs[slot]! + this.options.suspicionMinMs,
    );
    this.#setDeadline(slot, Math.min(probeAt, downAt));
  }

  /**
   * Watchers hear a member directly every round and suspect it at `suspectPhi`. Everyone else only sees
   * relayed heartbeats, late by a random number of hops, and relies on the watchers' verdicts (which spread
   * in milliseconds); they suspect on their own only at `downPhi`, as a backstop when no watcher is left.
   */
  #suspectThreshold(watched: boolean): number {
    return watched ? this.options.suspectPhi : this.options.downPhi;
  }

  /**
   * Once a round: acts on every member whose deadline has passed (a failure-detector threshold for the
   * live, the reap time for the dead). Only members in the watch set are looked at; the set holds every
   * member whose deadline falls before the horizon, and a full pass over the member list rebuilds it at most
   * every few rounds (every round up to 250 members, every 40 at 10,000), and only when a deadline outside
   * the set may fall before the new horizon (`#outsideMinMs`). A full pass per round per node is what made a
   * simulated 10,000-node cluster quadratic.
   */
  #checkMembers(): void {
    if (this.#now >= this.#horizonMs) this.#rebuildWatch();
    this.#checkWatched();
    this.#findNeighbours();
    this.#updatePrior();
  }

  #rebuildWatch(): void {
    const table = this.#table;
    const rounds = Math.max(1, Math.ceil(table.count / 250));
    const spanMs = rounds * this.options.gossipIntervalMs;
    this.#horizonMs = this.#now + spanMs;
    this.#keepUntilMs = this.#horizonMs + spanMs;
    if (this.#outsideMinMs >= this.#horizonMs) return;
    const keepUntil = this.#keepUntilMs;
    const { order, deadlineMs } = table;
    const watch = new Set<number>();
    let outsideMin = Number.POSITIVE_INFINITY;
    for (let position = 0; position < table.count; position++) {
      const slot = order[position]!;
      const deadline = deadlineMs[slot]!;
      if (deadline < keepUntil) watch.add(slot);
      else if (deadline < outsideMin) outsideMin = deadline;
    }
    this.#watch = watch;
    this.#outsideMinMs = outsideMin;
  }

  /** Evaluates or reaps the watched members that are due, and plans the next check. */
  #checkWatched(): void {
    const table = this.#table;
    const now = this.#now;
    const probeCandidates = this.#probeCandidates;
    probeCandidates.length = 0;
    let earliest = Number.POSITIVE_INFINITY;
    for (const slot of this.#watch) {
      if (!table.isUsed(slot)) {
        this.#watch.delete(slot);
        continue;
      }
      if (table.deadlineMs[slot]! <= now) {
        if (table.statuses[slot]! >= STATUS_DOWN) {
          this.#reap(slot);
          continue;
        }
        this.#evaluate(slot, probeCandidates);
      }
      const deadline = table.deadlineMs[slot]!;
      if (deadline >= this.#keepUntilMs) {
        this.#watch.delete(slot);
        if (deadline < this.#outsideMinMs) this.#outsideMinMs = deadline;
      } else if (deadline < earliest) earliest = deadline;
    }
    this.#startProbes(probeCandidates);
    // Check again at the earliest deadline, but not more often than four times a round.
    this.#nextCheckAtMs = Math.max(earliest, now + this.options.gossipIntervalMs / 4);
  }

  /** Sets a member's next deadline, watching it at once if that falls before the horizon. */
  #setDeadline(slot: number, deadlineMs: number): void {
    this.#table.deadlineMs[slot] = deadlineMs;
    if (deadlineMs < this.#keepUntilMs) {
      this.#watch.add(slot);
      if (deadlineMs < this.#nextCheckAtMs) this.#nextCheckAtMs = Math.max(deadlineMs, this.#now);
    } else if (deadlineMs < this.#outsideMinMs) {
      this.#outsideMinMs = deadlineMs;
    }
  }

  /** Keeps the live and down counts (used by the gossip probabilities) as statuses change. */
  #count(status: number, delta: number): void {
    this.#membershipEpoch++;
    if (status <= STATUS_SUSPECT) this.#liveCount += delta;
    else this.#downCount += delta;
  }

  #evaluate(slot: number, probeCandidates: ProbeCandidate[]): void {
    const table = this.#table;
    const now = this.#now;
    this.#loadStatistics(slot);
    const meanMs = this.#meanMs;
    const stdMs = this.#stdMs;
    const silence = now - table.lastArrivalMs[slot]!;
    const pause = this.options.acceptablePauseMs;
    const watched = this.#watches(slot);
    if (table.statuses[slot] === STATUS_ALIVE) {
      if (silence >= silenceAtThreshold(this.#suspectThreshold(watched), meanMs, stdMs, pause)) {
        this.counters.suspicions++;
        this.#setStatus(slot, STATUS_SUSPECT, this.#phiVerdict(slot, silence, meanMs, stdMs), true);
      }
    } else if (
      silence >= silenceAtThreshold(this.options.downPhi, meanMs, stdMs, pause) &&
      now - table.statusChangedAtMs[slot]! >= this.options.suspicionMinMs
    ) {
      this.counters.downVerdicts++;
      this.#setStatus(slot, STATUS_DOWN, this.#phiVerdict(slot, silence, meanMs, stdMs), true);
      return;
    }
    const probedAt = this.#probedAny ? this.#probedAtMs.get(slot) : undefined;
    const cooled = probedAt === undefined || now - probedAt >= this.options.probeCooldownMs;
    if (watched && cooled && silence >= this.#probeSilenceMs(meanMs, stdMs)) {
      probeCandidates.push({ slot, lateness: (silence - meanMs) / stdMs });
    }
    this.#updateDeadline(slot);
  }

  /**
   * Silence after which a watcher probes the member it watches: phi reaches `probePhi` (without the pause),
   * with the standard deviation capped at a quarter of the mean. A watcher that has just started watching
   * (it restarted, or the ring changed) still has the prior's wide deviation and would probe a crashed
   * member a second later than one with a long history; a probe convicts only on a refused connection, so
   * probing early costs a connection attempt and no calm.
   */
  #probeSilenceMs(meanMs: number, stdMs: number): number {
    const capped = Math.min(stdMs, Math.max(this.options.minStdDeviationMs, meanMs / 4));
    return silenceAtThreshold(this.options.probePhi, meanMs, capped, 0);
  }

  #phiVerdict(slot: number, silence: number, meanMs: number, stdMs: number): VerdictNote {
    assert(slot !== this.#selfSlot, 'a node never judges itself');
    const value = phi(silence, meanMs, stdMs, this.options.acceptablePauseMs);
    return {
      accuser: this.name,
      reason: 'phi',
      phiHundredths: Math.round(value * 100),
      silenceMs: Math.round(silence),
    };
  }

  /** Direct checks of the quietest members: an exchange with each, and a reachability probe of its address. */
  #startProbes(candidates: ProbeCandidate[]): void {
    if (candidates.length === 0) return;
    candidates.sort((a, b) => b.lateness - a.lateness);
    const table = this.#table;
    for (const { slot } of candidates) {
      if (this.#probeBudget <= 0 || this.#probesInFlight.size >= PROBES_IN_FLIGHT_MAX) break;
      this.#probeBudget--;
      const address = table.address(slot);
      this.#probedAtMs.set(slot, this.#now);
      this.#probedAny = true;
      this.#probesInFlight.set(address, {
        slot,
        name: table.name(slot),
        generation: table.generations[slot]!,
      });
      this.counters.probesSent++;
      this.#output({ kind: 'probe', to: address });
      this.#sendSyn(address);
      this.#updateDeadline(slot);
    }
  }

  #probeResult(address: string, outcome: ProbeOutcome): void {
    const probe = this.#probesInFlight.get(address);
    if (probe === undefined) return;
    this.#probesInFlight.delete(address);
    const table = this.#table;
    const { slot } = probe;
    if (
      !table.isUsed(slot) ||
      table.name(slot) !== probe.name ||
      table.generations[slot] !== probe.generation
    )
      return;
    if (outcome === 'reachable') this.counters.probesReachable++;
    if (outcome === 'timeout') this.counters.probesTimedOut++;
    if (outcome !== 'refused') return;
    this.counters.probesRefused++;
    if (table.statuses[slot]! >= STATUS_DOWN || this.#phase !== 'running') return;
    this.counters.downVerdicts++;
    const silence = this.#now - table.lastArrivalMs[slot]!;
    this.#setStatus(
      slot,
      STATUS_DOWN,
      { accuser: this.name, reason: 'refused', phiHundredths: 0, silenceMs: Math.round(silence) },
      true,
    );
  }

  #compensateStall(durationMs: number): void {
    // The part of the stall not already compensated: two sources may report the same pause.
    const effective = Math.min(durationMs, this.#now - this.#stallCompensatedUntilMs);
    if (!(effective > 0)) return;
    this.#stallCompensatedUntilMs = this.#now;
    this.counters.stallsCompensated++;
    this.counters.stallCompensatedMs += Math.round(effective);
    const table = this.#table;
    for (let position = 0; position < table.count; position++) {
      const slot = table.order[position]!;
      if (slot === this.#selfSlot || table.statuses[slot]! >= STATUS_DOWN) continue;
      // Silence that fell while this node could not listen says nothing about the peer.
      table.lastArrivalMs[slot] = Math.min(this.#now, table.lastArrivalMs[slot]! + effective);
      if (table.statuses[slot] === STATUS_SUSPECT) table.statusChangedAtMs[slot]! += effective;
      this.#updateDeadline(slot);
    }
    this.#nextCheckAtMs = Math.max(this.#nextCheckAtMs, this.#now);
  }

  // -------------------------------------------------------------------------------------------------------
  // Status changes, news and events

  /**
   * Moves a member to a new status, records the verdict, and queues the change as news. `urgent` news is
   * pushed at once instead of waiting for the next round: verdicts this node reached itself, adopted down and
   * left verdicts, and refutations. Adopted suspicions are not urgent, or one doubt would flood the cluster.
   */
  #setStatus(slot: number, status: number, verdict: VerdictNote | null, urgent: boolean): void {
    const table = this.#table;
    const previous = table.statuses[slot]!;
    if (previous === status) return;
    table.statuses[slot] = status;
    table.statusChangedAtMs[slot] = this.#now;
    // #count bumps it for other members; this node's own status (left) enters the page hash too.
    if (slot === this.#selfSlot) this.#membershipEpoch++;
    if (slot !== this.#selfSlot) {
      this.#count(previous, -1);
      this.#count(status, 1);
    }
    if (status === STATUS_ALIVE) this.#verdicts.delete(slot);
    else if (verdict !== null) this.#verdicts.set(slot, verdict);
    if (status >= STATUS_DOWN) {
      table.sampleCounts[slot] = 0;
      this.#probedAtMs.delete(slot);
    } else if (previous >= STATUS_DOWN) {
      // Back from the dead: its old statistics describe another era.
      table.sampleCounts[slot] = 0;
      table.lastArrivalMs[slot] = this.#now;
    }
    this.#updateDeadline(slot);
    this.#addNews(slot, urgent);
    const member = this.#view(slot);
    const atMs = this.#now;
    if (status === STATUS_ALIVE) {
      this.#emit({ type: 'member-alive', atMs, member, previousStatus: statusName(previous) });
    } else if (status === STATUS_SUSPECT) {
      this.#emit({ type: 'member-suspect', atMs, member });
    } else if (status === STATUS_DOWN) {
      this.#emit({ type: 'member-down', atMs, member });
    } else {
      this.#emit({ type: 'member-left', atMs, member });
    }
  }

  #addNews(slot: number, urgent = false, baseVersion = this.#table.maxVersions[slot]!): void {
    const transmits = this.options.newsTransmitMultiplier * Math.ceil(Math.log10(this.#table.count + 1));
    const item = this.#news.get(slot);
    if (item !== undefined) {
      item.transmitsLeft = transmits;
      item.urgent ||= urgent;
      if (baseVersion < item.baseVersion) item.baseVersion = baseVersion;
    } else {
      if (this.#news.size >= NEWS_CAPACITY) {
        const oldest = this.#news.keys().next().value;
        if (oldest !== undefined) this.#news.delete(oldest);
      }
      this.#news.set(slot, { transmitsLeft: transmits, baseVersion, urgent });
      this.#newsAny = true;
    }
    if (urgent) this.#urgentPending = true;
  }

  #emit(event: ClusterEvent): void {
    if (this.#eventTypes.has(event.type)) this.#output({ kind: 'event', event });
  }

  /** Whether anyone listens to events of this type (building them is the costly part of a bulk sync). */
  #wants(type: ClusterEventType): boolean {
    return this.#eventTypes.has(type);
  }

  /**
   * Limits the events the node builds to the types listed: a shell that nobody listens to for, say,
   * `member-joined` spares the node from building 10,000 of them on a full sync. All types by default.
   */
  listenTo(types: Iterable<ClusterEventType>): void {
    this.#eventTypes = new Set(types);
  }

  #view(slot: number): MemberView {
    const table = this.#table;
    return {
      name: table.name(slot),
      generation: table.generations[slot]!,
      address: table.address(slot),
      status: statusName(table.statuses[slot]!),
      heartbeat: table.heartbeats[slot]!,
      maxVersion: table.maxVersions[slot]!,
      statusChangedAtMs: table.statusChangedAtMs[slot]!,
      verdict: this.#verdicts.get(slot) ?? null,
      isSelf: slot === this.#selfSlot,
    };
  }

  /**
   * This node's own entry, as #memberEntry builds it: every message carries one and it changes about once a
   * round (the heartbeat), so the last one built is reused while it is still exact.
   */
  #ownEntry(): MemberEntry {
    const slot = this.#selfSlot;
    const table = this.#table;
    const last = this.#lastOwnEntry;
    if (
      last !== null &&
      last.heartbeat === table.heartbeats[slot] &&
      last.status === statusName(table.statuses[slot]!) &&
      last.maxVersion === table.maxVersions[slot] &&
      last.generation === table.generations[slot] &&
      last.verdict === (this.#verdicts.size === 0 ? null : (this.#verdicts.get(slot) ?? null))
    ) {
      return last;
    }
    const entry = this.#memberEntry(slot);
    this.#lastOwnEntry = entry;
    this.#lastOwnEntryBytes = memberEntryLength(entry);
    return entry;
  }

  #memberEntry(slot: number): MemberEntry {
    const table = this.#table;
    return {
      name: table.name(slot),
      generation: table.generations[slot]!,
      address: table.address(slot),
      heartbeat: table.heartbeats[slot]!,
      status: statusName(table.statuses[slot]!),
      maxVersion: table.maxVersions[slot]!,
      verdict: this.#verdicts.get(slot) ?? null,
    };
  }

  #reap(slot: number): void {
    const table = this.#table;
    const member = this.#view(slot);
    if (this.#reaped.size >= REAPED_CAPACITY) {
      const oldest = this.#reaped.keys().next().value;
      if (oldest !== undefined) this.#reaped.delete(oldest);
    }
    this.#reapedAny = true;
    this.#reaped.set(member.name, {
      generation: member.generation,
      heartbeat: member.heartbeat,
      reapedAtMs: this.#now,
    });
    this.#forgetSlot(slot);
    this.#count(table.statuses[slot]!, -1);
    this.#watch.delete(slot);
    table.remove(slot);
    this.counters.membersReaped++;
    this.#emit({ type: 'member-reaped', atMs: this.#now, member });
  }

  #forgetSlot(slot: number): void {
    this.#states[slot] = undefined;
    this.#tombstoned.delete(slot);
    this.#news.delete(slot);
    this.#newsAny = this.#news.size > 0;
    this.#verdicts.delete(slot);
    this.#probedAtMs.delete(slot);
  }

  #expireReaped(): void {
    if (!this.#reapedAny) return;
    for (const [name, record] of this.#reaped) {
      if (record.reapedAtMs + this.options.reapedRetentionMs > this.#now) break;
      this.#reaped.delete(name);
    }
    this.#reapedAny = this.#reaped.size > 0;
  }

  #collectTombstones(): void {
    if (!this.#tombstonedAny) return;
    for (const slot of this.#tombstoned) {
      const state = this.#states[slot];
      if (state !== undefined && state.tombstoneCount > 0) {
        const collected = state.collectTombstones(this.#now, this.options.tombstoneGraceMs);
        this.counters.tombstonesCollected += collected;
        if (collected > 0) assert(state.maxVersion === this.#table.maxVersions[slot], 'gc keeps maxVersion');
      }
      if (state === undefined || state.tombstoneCount === 0) this.#tombstoned.delete(slot);
    }
    this.#tombstonedAny = this.#tombstoned.size > 0;
  }

  // -------------------------------------------------------------------------------------------------------
  // Writing this node's own state

  #write(key: string, value: string | null): void {
    if (this.#phase === 'left') throw new CommandError('NOT_RUNNING', 'node has left');
    const keyBytes = utf8Length(key);
    if (keyBytes === 0 || keyBytes > this.options.keyBytesMax) {
      throw new CommandError('KEY_INVALID', `key must be 1 to ${this.options.keyBytesMax} bytes of UTF-8`);
    }
    if (value !== null && utf8Length(value) > this.options.valueBytesMax) {
      throw new CommandError('VALUE_TOO_LARGE', `value must be at most ${this.options.valueBytesMax} bytes`);
    }
    const state = this.#states[this.#selfSlot]!;
    const current = state.get(key);
    if (current === undefined ? value === null : current.value === value) return;
    if (current === undefined && state.size >= this.options.keysPerNodeMax) {
      throw new CommandError('KEYS_FULL', `a node holds at most ${this.options.keysPerNodeMax} keys`);
    }
    const version = state.maxVersion + 1;
    state.apply(key, value, version, this.#now);
    if (value === null) {
      this.#tombstoned.add(this.#selfSlot);
      this.#tombstonedAny = true;
    }
    this.#table.maxVersions[this.#selfSlot] = version;
    this.#eagerPending = true;
    this.#emit({ type: 'key-updated', atMs: this.#now, owner: this.name, key, value, version });
  }

  // -------------------------------------------------------------------------------------------------------
  // Receiving

  #receive(from: string, message: Message): void {
    if (this.#phase === 'idle') {
      this.counters.messagesIgnored++;
      return;
    }
    switch (message.type) {
      case 'syn':
        this.counters.synReceived++;
        this.#onSyn(from, message.digest);
        return;
      case 'syn-ack':
        this.counters.synAckReceived++;
        this.#onSynAck(message.digest, message.deltas);
        return;
      case 'ack':
        this.counters.ackReceived++;
        for (const delta of message.deltas) this.#applyDelta(delta);
        return;
      case 'sync':
        this.counters.syncReceived++;
        this.#onSync(message);
        return;
      case 'heartbeat':
        this.counters.heartbeatsReceived++;
        this.#learn(message.sender);
        return;
    }
  }

  /**
   * Merges what a peer says about one member. Returns the member's slot, or -1 when the entry is ignored
   * (about a reaped identity, a full member list, or a newer generation of this node's own name).
   */
  #learn(entry: MemberEntry): number {
    if (entry.name === this.name) return this.#learnAboutSelf(entry);
    if (this.#isStaleReaped(entry)) {
      this.counters.reapedIgnored++;
      return -1;
    }
    const table = this.#table;
    const slot = table.find(entry.name);
    if (slot < 0) {
      // A member first heard of as down or left is not learned: it would only be reaped again, and nodes
      // that never knew it passing it on to each other is how dead incarnations are gossiped forever
      // (chitchat#161).
      if (entry.status === 'down' || entry.status === 'left') return -1;
      return this.#addMember(entry);
    }
    const generation = table.generations[slot]!;
    if (entry.generation < generation) return slot;
    if (entry.generation > generation) {
      this.#restart(slot, entry);
      return slot;
    }
    this.#mergeLiveness(slot, entry.heartbeat, statusIndex(entry.status), entry.verdict);
    if (entry.maxVersion > table.maxVersions[slot]!) this.#addNews(slot);
    return slot;
  }

  #learnAboutSelf(entry: MemberEntry): number {
    if (entry.generation > this.generation) {
      // Another process uses this name with a newer generation: this node has been replaced.
      this.counters.identityConflicts++;
      return -1;
    }
    if (entry.generation === this.generation) this.#accusedAt(entry.heartbeat, statusIndex(entry.status));
    return this.#selfSlot;
  }

  /** A peer's view of this node: if it says suspect, down or left, refute with a heartbeat above it. */
  #accusedAt(heartbeat: number, status: number): void {
    if (status === STATUS_ALIVE || this.#phase === 'left') return;
    const heartbeats = this.#table.heartbeats;
    if (heartbeat >= heartbeats[this.#selfSlot]!) {
      heartbeats[this.#selfSlot] = heartbeat + 1;
      this.counters.refutations++;
      this.#addNews(this.#selfSlot, true);
    } else if (!this.#news.has(this.#selfSlot)) {
      // A stale accusation: our fresher heartbeat already beats it; make sure it travels.
      this.#addNews(this.#selfSlot);
    }
  }

  /**
   * Whether an entry is stale news of a reaped identity: an older generation, or the same one no further
   * along than when it was reaped. The same generation alive with a higher heartbeat is not stale: the
   * member was only cut off (a partition longer than downRetentionMs), and it comes back.
   */
  #isStaleReaped(entry: MemberEntry): boolean {
    if (!this.#reapedAny) return false;
    const reaped = this.#reaped.get(entry.name);
    if (reaped === undefined) return false;
    if (entry.generation !== reaped.generation) return entry.generation < reaped.generation;
    return entry.heartbeat <= reaped.heartbeat || entry.status === 'down' || entry.status === 'left';
  }

  #addMember(entry: MemberEntry): number {
    const table = this.#table;
    if (table.count >= this.options.membersMax) {
      this.counters.membersRefused++;
      return -1;
    }
    const slot = table.add(newMemberOf(entry), this.#now);
    this.#count(table.statuses[slot]!, 1);
    if (entry.verdict !== null && entry.status !== 'alive') this.#verdicts.set(slot, entry.verdict);
    this.#updateDeadline(slot);
    this.#addNews(slot);
    // A newcomer is news worth pushing at once: joins otherwise take rounds to reach the last nodes.
    this.#eagerPending = true;
    this.#emit({ type: 'member-joined', atMs: this.#now, member: this.#view(slot) });
    return slot;
  }

  #restart(slot: number, entry: MemberEntry): void {
    const table = this.#table;
    const previousGeneration = table.generations[slot]!;
    this.#forgetSlot(slot);
    this.#count(table.statuses[slot]!, -1);
    table.replaceGeneration(slot, newMemberOf(entry), this.#now);
    this.#count(table.statuses[slot]!, 1);
    if (entry.verdict !== null && entry.status !== 'alive') this.#verdicts.set(slot, entry.verdict);
    this.#updateDeadline(slot);
    this.#addNews(slot, true, 0);
    this.#emit({ type: 'member-restarted', atMs: this.#now, member: this.#view(slot), previousGeneration });
  }

  /** The liveness lattice: a higher heartbeat wins; at an equal heartbeat, the later status wins. */
  #mergeLiveness(slot: number, heartbeat: number, status: number, verdict: VerdictNote | null): void {
    if (slot === this.#selfSlot) {
      this.#accusedAt(heartbeat, status);
      return;
    }
    const table = this.#table;
    const current = table.heartbeats[slot]!;
    if (heartbeat > current) {
      table.heartbeats[slot] = heartbeat;
      const previous = table.statuses[slot]!;
      if (status <= STATUS_SUSPECT && previous <= STATUS_SUSPECT) this.#recordArrival(slot);
      if (status !== previous) this.#setStatus(slot, status, verdict, status >= STATUS_DOWN);
    } else if (heartbeat === current && status > table.statuses[slot]!) {
      this.#setStatus(slot, status, verdict, status >= STATUS_DOWN);
    }
  }

  /**
   * Merges a digest into this node's view and returns what the peer holds of each member it mentioned, for
   * computing what it lacks. Reports whether a positional page could be matched.
   */
  #learnDigest(digest: Digest, knowledge: PeerKnowledge): { peerSlot: number; pageMatched: boolean } {
    const peerSlot = this.#learn(digest.sender);
    this.#know(knowledge, peerSlot, digest.sender);
    for (const entry of digest.news) this.#know(knowledge, this.#learn(entry), entry);
    const page = digest.page;
    if (page === null) return { peerSlot, pageMatched: false };
    if (page.kind === 'explicit') {
      this.#learnExplicitPage(page.rangeStart, page.rangeEnd, page.entries, knowledge);
      return { peerSlot, pageMatched: true };
    }
    return { peerSlot, pageMatched: this.#mergePositionalPage(page, knowledge) };
  }

  #know(knowledge: PeerKnowledge, slot: number, entry: MemberEntry): void {
    if (slot < 0) return;
    const table = this.#table;
    const status = statusIndex(entry.status);
    const heartbeat = table.heartbeats[slot]!;
    const staleLiveness =
      entry.generation === table.generations[slot] &&
      status !== table.statuses[slot] &&
      (entry.heartbeat < heartbeat || (entry.heartbeat === heartbeat && status < table.statuses[slot]!));
    knowledge.set(slot, entry.generation, entry.maxVersion, staleLiveness);
  }

  #learnExplicitPage(
    rangeStart: number,
    rangeEnd: number,
    entries: readonly MemberEntry[],
    knowledge: PeerKnowledge,
  ): void {
    const listed = new Set<number>();
    for (const entry of entries) {
      const slot = this.#learn(entry);
      this.#know(knowledge, slot, entry);
      if (slot >= 0) listed.add(slot);
    }
    // Live members of ours in the covered range that the peer did not list are unknown to it (or dead to
    // it): introduce them. Pages leave dead members out, so ours are not compared.
    const table = this.#table;
    for (let position = table.lowerBound(rangeStart); position < table.count; position++) {
      const slot = table.order[position]!;
      if (table.keys[slot]! >= rangeEnd) break;
      if (!listed.has(slot) && table.statuses[slot]! <= STATUS_SUSPECT && slot !== this.#selfSlot) {
        knowledge.set(slot, -1, 0, false);
      }
    }
  }

  #mergePositionalPage(page: PositionalPage, knowledge: PeerKnowledge): boolean {
    const table = this.#table;
    const local = this.#rangeHash(page.rangeStart, page.rangeEnd);
    if (local.count !== page.count || local.hashA !== page.hashA || local.hashB !== page.hashB) {
      this.counters.pagesMismatched++;
      return false;
    }
    this.counters.pagesMatched++;
    const { order, heartbeats, statuses, maxVersions } = table;
    const self = this.#selfSlot;
    if (arrivalScratch.length < page.count) arrivalScratch = new Int32Array(page.count);
    const arrivals = arrivalScratch;
    let pending = 0;
    let position = table.lowerBound(page.rangeStart);
    const cursor = new VarintCursor(page.entries);
    for (let i = 0; i < page.count; i++, position++) {
      // Pages list live members only (see pages.ts); the hash matched, so the live members line up.
      while (statuses[order[position]!]! > STATUS_SUSPECT) position++;
      const slot = order[position]!;
      const heartbeat = cursor.next();
      const packed = cursor.next();
      const status = packed % 4;
      const peerVersion = (packed - status) / 4;
      if (
        heartbeat > heartbeats[slot]! &&
        status === statuses[slot] &&
        status <= STATUS_SUSPECT &&
        slot !== self
      ) {
        // The common case, a live member's heartbeat moving on, without the general merge's bookkeeping:
        // this loop runs for every member of every page received. Its detector update waits for
        // #recordArrivals, in the same order.
        heartbeats[slot] = heartbeat;
        arrivals[pending++] = slot;
      } else {
        // The general merge may change statuses and deadlines: the updates before it are made first.
        if (pending > 0) this.#recordArrivals(arrivals, pending);
        pending = 0;
        this.#mergeLiveness(slot, heartbeat, status, null);
      }
      const ours = maxVersions[slot]!;
      if (peerVersion > ours) this.#addNews(slot);
      else if (peerVersion < ours) knowledge.set(slot, table.generations[slot]!, peerVersion, false);
    }
    if (pending > 0) this.#recordArrivals(arrivals, pending);
    return true;
  }

  /**
   * The detector's side of a page's heartbeats, for live members whose heartbeat moved on: a second pass, so
   * that neither loop reads more than five columns (each column is a separate stream of cache misses, a CPU's
   * prefetchers follow only so many at once, and in a simulated cluster of 1,000 nodes every table is cold).
   */
  #recordArrivals(slots: Int32Array, count: number): void {
    for (let i = 0; i < count; i++) this.#recordArrival(slots[i]!);
  }

  #scratchKnowledge(): PeerKnowledge {
    this.#knowledge.clear();
    return this.#knowledge;
  }

  /**
   * For a positional page that did not match: the key of the one member of ours that explains the
   * difference, or -1 (see singleDifferenceKey). Mismatches are rare at rest, so hashing the range again
   * here costs less than carrying the hash out of the merge for every page.
   */
  #differenceKey(page: PositionalPage): number {
    const local = this.#rangeHash(page.rangeStart, page.rangeEnd);
    const key = singleDifferenceKey(this.#table, page.rangeStart, page.rangeEnd, page, local);
    if (key >= 0) this.counters.pageDifferencesFound++;
    return key;
  }

  #onSyn(from: string, digest: Digest): void {
    const knowledge = this.#scratchKnowledge();
    const { peerSlot, pageMatched } = this.#learnDigest(digest, knowledge);
    const page = digest.page;
    const reply =
      page === null
        ? null
        : {
            rangeStart: page.rangeStart,
            rangeEnd: page.rangeEnd,
            explicit: !pageMatched,
            startKey: !pageMatched && page.kind === 'positional' ? this.#differenceKey(page) : -1,
          };
    const candidates = this.#plan(knowledge);
    const { digest: replyDigest, deltas, leftovers } = this.#composeReply(reply, candidates, knowledge);
    this.counters.synAckSent++;
    this.#send(from, 'datagram', { type: 'syn-ack', digest: replyDigest, deltas });
    this.#catchUp(peerSlot, leftovers);
  }

  #onSynAck(digest: Digest, deltas: readonly OwnerDelta[]): void {
    const knowledge = this.#scratchKnowledge();
    const { peerSlot } = this.#learnDigest(digest, knowledge);
    for (const delta of deltas) this.#applyDelta(delta);
    if (peerSlot < 0) return;
    const candidates = this.#plan(knowledge);
    if (candidates.length === 0) return;
    const budget = this.#payloadBudget - 1 - 3;
    const packed = packDeltas(this.#deltaSource, candidates, budget);
    if (packed.deltas.length > 0) {
      this.counters.ackSent++;
      this.#send(this.#table.address(peerSlot), 'datagram', { type: 'ack', deltas: packed.deltas });
    }
    this.#catchUp(peerSlot, packed.leftovers);
  }

  #onSync(message: SyncMessage): void {
    this.#learnMany(message.members);
    const peerSlot = this.#learn(message.sender);
    for (const delta of message.deltas) this.#applyDelta(delta, false);
    if (!message.replyWanted || peerSlot < 0 || this.#phase !== 'running') return;
    const table = this.#table;
    const members: MemberEntry[] = [];
    const deltas: OwnerDelta[] = [];
    for (let position = 0; position < table.count; position++) {
      const slot = table.order[position]!;
      members.push(this.#memberEntry(slot));
      const state = this.#states[slot];
      if (state !== undefined && state.maxVersion > 0) deltas.push(this.#fullDelta(slot));
    }
    this.#send(table.address(peerSlot), 'stream', {
      type: 'sync',
      sender: this.#ownEntry(),
      replyWanted: false,
      members,
      deltas,
    });
  }

  /** Learns a full member list, adding the unknown members in one sorted batch. */
  #learnMany(entries: readonly MemberEntry[]): void {
    const table = this.#table;
    const candidates: MemberEntry[] = [];
    for (const entry of entries) {
      if (entry.name === this.name) continue;
      if ((entry.status === 'down' || entry.status === 'left') && table.find(entry.name) < 0) continue;
      if (!this.#isStaleReaped(entry)) candidates.push(entry);
    }
    if (table.count + candidates.length > this.options.membersMax) {
      // Near capacity: one at a time, so that known members are still updated and the rest are counted.
      for (const entry of candidates) this.#learn(entry);
      return;
    }
    const statuses = new Uint8Array(candidates.length);
    for (let i = 0; i < candidates.length; i++) statuses[i] = statusIndex(candidates[i]!.status);
    const slots = table.addMany(candidates, statuses, this.#now);
    this.#updatePrior();
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      const entry = candidates[i]!;
      if (slot < 0) {
        this.#learn(entry);
        continue;
      }
      this.#count(table.statuses[slot]!, 1);
      if (entry.verdict !== null && entry.status !== 'alive') this.#verdicts.set(slot, entry.verdict);
      this.#updateDeadline(slot);
      // Not news: the peer that sent the list knows all of it, and so will everyone it gossips with.
      if (this.#wants('member-joined'))
        this.#emit({ type: 'member-joined', atMs: this.#now, member: this.#view(slot) });
    }
  }

  /** Applies one owner's delta. `spread`: whether a change it brings is news worth gossiping on. */
  #applyDelta(delta: OwnerDelta, spread = true): void {
    const slot = this.#learn(delta.member);
    const table = this.#table;
    if (slot < 0 || slot === this.#selfSlot || table.generations[slot] !== delta.member.generation) return;
    let state = this.#states[slot];
    if (state === undefined) {
      state = new OwnerState();
      this.#states[slot] = state;
    }
    const before = state.maxVersion;
    if (delta.reset) {
      if (delta.member.maxVersion <= before) return;
      this.#applyReset(slot, state, delta);
    } else {
      if (before < delta.fromVersion) {
        // A gap: applying would break the prefix invariant. Ask for the missing part instead.
        this.counters.deltaGaps++;
        this.#addNews(slot);
        return;
      }
      const owner = table.name(slot);
      for (const entry of delta.entries) {
        if (state.apply(entry.key, entry.value, entry.version, this.#now)) {
          this.counters.keysApplied++;
          this.#emit({ type: 'key-updated', atMs: this.#now, owner, ...entry });
        }
      }
    }
    this.counters.deltasApplied++;
    if (state.tombstoneCount > 0) {
      this.#tombstoned.add(slot);
      this.#tombstonedAny = true;
    }
    if (state.maxVersion > before) {
      table.maxVersions[slot] = state.maxVersion;
      if (spread) {
        this.#addNews(slot, false, before);
        this.#eagerPending = true;
      }
    }
  }

  #applyReset(slot: number, state: OwnerState, delta: OwnerDelta): void {
    this.counters.resetsApplied++;
    const owner = this.#table.name(slot);
    const previous = new Map<string, string | null>();
    for (const entry of state.entries()) previous.set(entry.key, entry.value);
    state.reset(delta.gcVersion);
    for (const entry of delta.entries) {
      state.apply(entry.key, entry.value, entry.version, this.#now);
      if (previous.get(entry.key) !== entry.value || !previous.has(entry.key)) {
        this.counters.keysApplied++;
        this.#emit({ type: 'key-updated', atMs: this.#now, owner, ...entry });
      }
      previous.delete(entry.key);
    }
    state.completeReset(delta.gcVersion);
    // Keys the reset dropped were deleted and collected at the owner.
    for (const [key, value] of previous) {
      if (value === null) continue;
      this.#emit({
        type: 'key-updated',
        atMs: this.#now,
        owner,
        key,
        value: null,
        version: state.maxVersion,
      });
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Composing messages

  readonly #deltaSource: DeltaSource = {
    memberEntry: (slot) => this.#memberEntry(slot),
    generationOf: (slot) => this.#table.generations[slot]!,
    stateOf: (slot) => this.#states[slot],
  };

  #plan(knowledge: PeerKnowledge): DeltaCandidate[] {
    const candidates: DeltaCandidate[] = [];
    for (let i = 0; i < knowledge.length; i++) {
      const slot = knowledge.slotAt(i);
      if (!this.#table.isUsed(slot)) continue;
      const candidate =
        planDelta(this.#deltaSource, slot, knowledge.generationAt(i), knowledge.versionAt(i)) ??
        (knowledge.staleLivenessAt(i) ? planLiveness(this.#deltaSource, slot) : null);
      if (candidate !== null) candidates.push(candidate);
    }
    return candidates;
  }

  #fullDelta(slot: number): OwnerDelta {
    const candidate = planDelta(this.#deltaSource, slot, -1, 0);
    assert(candidate !== null, 'a full delta always exists');
    return buildDelta(this.#deltaSource, candidate, Number.POSITIVE_INFINITY);
  }

  #sendSyn(address: string): void {
    // One byte of message code, then the digest: sender, news (up to half), and a page in what is left.
    const budget = this.#payloadBudget - 1;
    const sender = this.#ownEntry();
    const senderBytes = this.#lastOwnEntryBytes;
    const news = this.#selectNews(Math.floor(budget / 2) - senderBytes);
    const page = this.#nextPage(budget - senderBytes - varintLength(news.entries.length) - news.bytes);
    const message: Message = { type: 'syn', digest: { sender, news: news.entries, page } };
    this.counters.synSent++;
    this.#send(address, 'datagram', message);
  }

  /** The next page of the rotation: the whole key space while it fits, otherwise successive ranges. */
  #nextPage(budget: number): Page | null {
    const page = buildPositionalPage(
      this.#table,
      this.#pageCursor,
      KEY_SPACE_END,
      budget,
      this.options.pageEntriesMax,
      this.#knownRangeHash(this.#pageCursor),
    );
    if (page === null) return null;
    this.#pageCursor = page.rangeEnd >= KEY_SPACE_END ? 0 : page.rangeEnd;
    this.#rememberRangeHash(page.rangeStart, page.rangeEnd, page.hashA, page.hashB, page.count);
    return page;
  }

  /** rangeHash of our member list, remembered (see #rangeHashes). */
  #rangeHash(rangeStart: number, rangeEnd: number): { hashA: number; hashB: number; count: number } {
    const known = this.#knownRangeHash(rangeStart);
    if (known !== null && known.rangeEnd === rangeEnd) return known;
    const hash = rangeHash(this.#table, rangeStart, rangeEnd);
    this.#rememberRangeHash(rangeStart, rangeEnd, hash.hashA, hash.hashB, hash.count);
    return hash;
  }

  /** The remembered hash of a range that starts at `rangeStart` (whatever its end), or null. */
  #knownRangeHash(rangeStart: number): KnownRangeHash | null {
    const cache = this.#rangeHashes;
    const at = (rangeStart >>> 26) * RANGE_HASH_FIELDS;
    if (cache[at] !== rangeStart || cache[at + 5] !== this.#membershipEpoch) return null;
    const known = this.#knownScratch;
    known.rangeEnd = cache[at + 1]!;
    known.hashA = cache[at + 2]!;
    known.hashB = cache[at + 3]!;
    known.count = cache[at + 4]!;
    return known;
  }

  #rememberRangeHash(
    rangeStart: number,
    rangeEnd: number,
    hashA: number,
    hashB: number,
    count: number,
  ): void {
    const cache = this.#rangeHashes;
    const at = (rangeStart >>> 26) * RANGE_HASH_FIELDS;
    cache[at] = rangeStart;
    cache[at + 1] = rangeEnd;
    cache[at + 2] = hashA;
    cache[at + 3] = hashB;
    cache[at + 4] = count;
    cache[at + 5] = this.#membershipEpoch;
  }

  /** Digest and deltas for a syn-ack, within one datagram: news first, then deltas and the page share the rest. */
  #composeReply(
    reply: { rangeStart: number; rangeEnd: number; explicit: boolean; startKey: number } | null,
    candidates: DeltaCandidate[],
    knowledge: PeerKnowledge,
  ): { digest: Digest; deltas: OwnerDelta[]; leftovers: DeltaCandidate[] } {
    // Message code and the deltas' count prefix (at most 3 bytes) come off the top; a missing page costs 1.
    const budget = this.#payloadBudget - 1 - 3;
    const sender = this.#ownEntry();
    const senderBytes = this.#lastOwnEntryBytes;
    const news = this.#selectNews(Math.floor(budget / 3) - senderBytes);
    let remaining = budget - senderBytes - varintLength(news.entries.length) - news.bytes - 1;
    let wanted = 0;
    for (const candidate of candidates) wanted += candidate.bytes;
    const packed = packDeltas(this.#deltaSource, candidates, Math.min(wanted, Math.floor(remaining / 2)));
    remaining -= packed.bytes;
    let page: Page | null = null;
    if (reply !== null) {
      // An explicit page may not fit the whole range: start it at the one member that explains the
      // mismatch if there is one, otherwise at random, so that repeated mismatches reconcile different parts
      // of the range instead of always the same prefix.
      page = reply.explicit
        ? buildExplicitPage(
            this.#table,
            reply.startKey >= 0
              ? reply.startKey
              : randomPageStart(
                  this.#table,
                  reply.rangeStart,
                  reply.rangeEnd,
                  remaining / EXPLICIT_ENTRY_BYTES_TYPICAL,
                  (bound) => this.#random.int(bound),
                ),
            reply.rangeEnd,
            remaining,
            (slot) => this.#memberEntry(slot),
          )
        : buildPositionalPage(
            this.#table,
            reply.rangeStart,
            reply.rangeEnd,
            remaining,
            this.options.pageEntriesMax,
            this.#knownRangeHash(reply.rangeStart),
          );
      if (page?.kind === 'explicit') this.counters.explicitPagesSent++;
      if (page !== null) remaining -= pageLength(page) - 1;
    }
    const deltas = packed.deltas;
    let leftovers = packed.leftovers;
    if (leftovers.length > 0 && remaining > 0) {
      // What did not fit in the first half may fit in what the page left over.
      const done = new Set(deltas.map((delta) => delta.member.name));
      const rest = leftovers.filter((candidate) => !done.has(this.#table.name(candidate.slot)));
      const more = packDeltas(this.#deltaSource, rest, remaining);
      deltas.push(...more.deltas);
      remaining -= more.bytes;
      leftovers = more.leftovers;
    }
    if (remaining > 0) deltas.push(...this.#speculativeDeltas(news.slots, knowledge, remaining));
    return { digest: { sender, news: news.entries, page }, deltas, leftovers };
  }

  /**
   * Deltas for our news the peer did not mention, starting where the news started: the peer may lack them,
   * and sending them now saves it a round of asking. Only used while budget is left.
   */
  #speculativeDeltas(slots: readonly number[], knowledge: PeerKnowledge, budget: number): OwnerDelta[] {
    const candidates: DeltaCandidate[] = [];
    for (const slot of slots) {
      if (knowledge.has(slot) || slot === this.#selfSlot) continue;
      const item = this.#news.get(slot);
      const state = this.#states[slot];
      const base = item?.baseVersion ?? this.#table.maxVersions[slot]!;
      if (state === undefined || base >= state.maxVersion || base < state.gcVersion) continue;
      const candidate = planDelta(this.#deltaSource, slot, this.#table.generations[slot]!, base);
      if (candidate !== null && !candidate.reset) candidates.push(candidate);
    }
    if (candidates.length === 0) return [];
    return packDeltas(this.#deltaSource, candidates, budget).deltas.filter(
      (delta) => delta.entries.length > 0,
    );
  }

  /** Up to `budget` bytes of news entries, the most urgent and least transmitted first. */
  #selectNews(budget: number): NewsSelection {
    if (!this.#newsAny || budget <= 0) return NO_NEWS;
    const entries: MemberEntry[] = [];
    const slots: number[] = [];
    let bytes = 0;
    const items = [...this.#news].sort(
      ([, a], [, b]) => Number(b.urgent) - Number(a.urgent) || b.transmitsLeft - a.transmitsLeft,
    );
    for (const [slot, item] of items) {
      const entry = this.#memberEntry(slot);
      const entryBytes = memberEntryLength(entry);
      if (bytes + entryBytes > budget) continue;
      entries.push(entry);
      slots.push(slot);
      bytes += entryBytes;
      item.transmitsLeft--;
      if (item.transmitsLeft <= 0) this.#news.delete(slot);
    }
    this.#newsAny = this.#news.size > 0;
    return { entries, slots, bytes };
  }

  /** Sends what did not fit in datagrams over a stream, at most once per cooldown per peer. */
  #catchUp(peerSlot: number, leftovers: DeltaCandidate[]): void {
    if (peerSlot < 0 || leftovers.length === 0) return;
    let bytes = 0;
    let reset = false;
    for (const candidate of leftovers) {
      bytes += candidate.bytes;
      reset ||= candidate.reset;
    }
    if (!reset && bytes < this.options.catchUpBytesMin) return;
    const address = this.#table.address(peerSlot);
    const last = this.#catchUpAtMs.get(address);
    if (last !== undefined && this.#now - last < 5 * this.options.gossipIntervalMs) return;
    if (this.#catchUpAtMs.size > 1024) this.#catchUpAtMs.clear();
    this.#catchUpAtMs.set(address, this.#now);
    this.counters.catchUpsSent++;
    const deltas = leftovers.map((candidate) =>
      buildDelta(this.#deltaSource, candidate, Number.POSITIVE_INFINITY),
    );
    this.#send(address, 'stream', {
      type: 'sync',
      sender: this.#ownEntry(),
      replyWanted: false,
      members: [],
      deltas,
    });
  }

  #send(to: string, channel: 'datagram' | 'stream', message: Message): void {
    if (channel === 'stream') this.counters.syncSent++;
    this.#output({ kind: 'send', to, channel, message });
  }

  /** Adds to this step's outputs; the array is made by the first (most steps at rest have none). */
  #output(output: Output): void {
    if (this.#outputs === null) this.#outputs = [output];
    else this.#outputs.push(output);
  }

  /** Largest payload (message code and body) a datagram may carry; the runner checks every one against it. */
  get payloadBudgetBytes(): number {
    return this.#payloadBudget;
  }
}

function statusIndex(status: MemberEntry['status']): number {
  switch (status) {
    case 'alive':
      return STATUS_ALIVE;
    case 'suspect':
      return STATUS_SUSPECT;
    case 'down':
      return STATUS_DOWN;
    case 'left':
      return STATUS_LEFT;
  }
}

function newMemberOf(entry: MemberEntry): NewMember {
  return {
    name: entry.name,
    generation: entry.generation,
    address: entry.address,
    heartbeat: entry.heartbeat,
    status: statusIndex(entry.status),
  };
}
