/**
 * The protocol's tunables: one spec per option (default, range and what it trades off). The agent's
 * configuration embeds this spec, and docs/configuration.md is generated from it.
 */
import { type OptionIssue, type OptionsOf, resolveOptions } from './spec.js';

export const GOSSIP_OPTION_SPECS = {
  gossipIntervalMs: {
    kind: 'number',
    default: 1000,
    min: 10,
    max: 60_000,
    integer: true,
    unit: 'ms',
    doc:
      'Length of one gossip round. Each round a node increments its heartbeat and starts exchanges with ' +
      'random live peers. Shorter rounds spread news and detect failures sooner and cost proportionally more ' +
      'bytes and CPU.',
  },
  fanout: {
    kind: 'number',
    default: 3,
    min: 1,
    max: 16,
    integer: true,
    doc:
      'Peers contacted per round while the node has news to spread (a state change, a verdict, a new member). ' +
      'News reaches every node in about log(N)/log(1 + 2 * fanout) rounds.',
  },
  idleFanout: {
    kind: 'number',
    default: 1,
    min: 1,
    max: 16,
    integer: true,
    doc:
      'Peers contacted per round when the node has no news: only heartbeats move then, and one push-pull ' +
      'exchange per round keeps every heartbeat flowing at a third of the bytes. Raise it towards `fanout` ' +
      'for fresher heartbeats (steadier failure detection) at a higher cost at rest.',
  },
  urgentFanout: {
    kind: 'number',
    default: 3,
    min: 0,
    max: 16,
    integer: true,
    doc:
      'Random peers a node contacts at once, without waiting for its next round, when it reaches or first ' +
      'hears a suspect, down or left verdict or a refutation; its watchers (ring successors) are contacted ' +
      'too, so the news also walks the ring and nobody is left to the rounds. Verdicts then cross the ' +
      'cluster in milliseconds instead of rounds. 0 disables immediate pushes.',
  },
  eagerFanout: {
    kind: 'number',
    default: 3,
    min: 0,
    max: 16,
    integer: true,
    doc:
      'Random peers a node starts an exchange with at once, without waiting for its next round, when it ' +
      "writes a key, first learns a newer version of anyone's state, or learns of a new member; its watchers " +
      '(ring successors) get one too. Each newly informed node does the same, so a change reaches the ' +
      'cluster in a few network round trips instead of a few rounds; regular rounds still carry it to ' +
      'whoever the eager pushes missed (a loss, a full rate budget). 0 spreads changes by rounds alone.',
  },
  eagerPushesPerSecondMax: {
    kind: 'number',
    default: 10,
    min: 0,
    max: 1000,
    integer: true,
    doc: 'Upper bound on eager pushes per second; beyond it, changes travel at the pace of rounds.',
  },
  urgentPushesPerSecondMax: {
    kind: 'number',
    default: 10,
    min: 0,
    max: 1000,
    integer: true,
    doc: 'Upper bound on immediate pushes per second, so a burst of verdicts degrades to normal rounds.',
  },
  datagramBytesMax: {
    kind: 'number',
    default: 1400,
    min: 512,
    max: 65_507,
    integer: true,
    unit: 'bytes',
    doc:
      'Largest datagram a node sends, frame header and encryption included. 1400 keeps every packet below ' +
      'a 1500-byte Ethernet MTU with room for IP, UDP and tunnel headers, so nothing relies on IP fragmentation.',
  },
  pageEntriesMax: {
    kind: 'number',
    default: 64,
    min: 8,
    max: 100_000,
    integer: true,
    doc:
      'Most members one positional digest page lists (3 to 5 bytes each). Below it, every digest covers the ' +
      'whole member list; above it, pages rotate through the member key space. Smaller pages cost fewer bytes ' +
      'and less CPU per round at large N; the price is staler relayed heartbeats at nodes that do not watch a ' +
      'member (failure detection rests on the watchers) and slower background reconciliation.',
  },
  newsTransmitMultiplier: {
    kind: 'number',
    default: 4,
    min: 1,
    max: 64,
    integer: true,
    doc:
      'A piece of news is carried in the next `newsTransmitMultiplier * ceil(log10(N + 1))` digests the node ' +
      'sends (memberlist uses the same rule for its retransmit limit). More transmissions make news reach the ' +
      'last nodes sooner under loss and cost more bytes while news is fresh.',
  },
  acceptablePauseMs: {
    kind: 'number',
    default: 1500,
    min: 0,
    max: 600_000,
    integer: true,
    unit: 'ms',
    doc:
      'Silence added to the expected heartbeat interval before phi starts to rise for the suspect and down ' +
      'verdicts (Akka calls it acceptable-heartbeat-pause). It absorbs a peer that stalls for a while (a GC ' +
      'pause, a SIGSTOP, a blocked event loop) without accusing it.',
  },
  minStdDeviationMs: {
    kind: 'number',
    default: 200,
    min: 1,
    max: 600_000,
    integer: true,
    unit: 'ms',
    doc:
      'Floor on the standard deviation of heartbeat inter-arrival times, so that very regular heartbeats do not ' +
      'make phi jump at the first late one.',
  },
  detectorWindowSamples: {
    kind: 'number',
    default: 32,
    min: 2,
    max: 10_000,
    integer: true,
    doc:
      'Effective window, in heartbeat intervals, of the exponentially weighted mean and variance behind phi: ' +
      "per member for the members a node watches; a node's pooled statistics of all the others span this " +
      'many intervals of each.',
  },
  watchers: {
    kind: 'number',
    default: 1,
    min: 0,
    max: 4,
    integer: true,
    doc:
      'Each round a node also sends a small heartbeat datagram straight to this many successors in key ' +
      'order, its watchers. A watcher hears its predecessor every round, so its failure detector is sharp, ' +
      'and only watchers run direct checks. Gossiped heartbeats alone reach most nodes with a jitter of half ' +
      'a round or more. 0 turns watching off: detection then rests on gossip alone.',
  },
  probePhi: {
    kind: 'number',
    default: 2,
    min: 0.1,
    max: 100,
    integer: false,
    doc:
      'Phi (computed without the acceptable pause) at which a watcher checks the member it watches directly: ' +
      'it starts an exchange with it and asks the runtime whether its address still accepts connections. A ' +
      'refused connection is hard evidence that the process is gone; a reply refutes the doubt. For this ' +
      'check the deviation is capped at a quarter of the mean, so a watcher that has only just started ' +
      'watching probes as early as one with a long history.',
  },
  suspectPhi: {
    kind: 'number',
    default: 3,
    min: 0.1,
    max: 100,
    integer: false,
    doc:
      'Phi at which a watcher marks the member it watches suspect and spreads the suspicion, so that nodes ' +
      'with fresher news of it refute it. Other nodes suspect only at downPhi.',
  },
  downPhi: {
    kind: 'number',
    default: 8,
    min: 0.1,
    max: 100,
    integer: false,
    doc:
      'Phi at which a suspect member is declared down, provided the suspicion has lasted `suspicionMinMs` ' +
      'without refutation.',
  },
  suspicionMinMs: {
    kind: 'number',
    default: 1000,
    min: 0,
    max: 600_000,
    integer: true,
    unit: 'ms',
    doc: 'Shortest time a suspicion stands, open to refutation, before it may become a down verdict.',
  },
  probeCooldownMs: {
    kind: 'number',
    default: 2000,
    min: 0,
    max: 600_000,
    integer: true,
    unit: 'ms',
    doc: 'Shortest time between two direct checks of the same member.',
  },
  probesPerRoundMax: {
    kind: 'number',
    default: 2,
    min: 0,
    max: 64,
    integer: true,
    doc: 'Direct checks a node may start per round; the quietest members go first.',
  },
  downRetentionMs: {
    kind: 'number',
    default: 3_600_000,
    min: 0,
    max: 30 * 86_400_000,
    integer: true,
    unit: 'ms',
    doc:
      'How long a down or left member stays in the member list (visible, and gossiped to now and then so a ' +
      'healed partition reconnects by itself) before it is reaped.',
  },
  reapedRetentionMs: {
    kind: 'number',
    default: 86_400_000,
    min: 0,
    max: 30 * 86_400_000,
    integer: true,
    unit: 'ms',
    doc:
      'How long a reaped identity is remembered, so that stale gossip about it is ignored instead of ' +
      'resurrecting it. A restart (a higher generation) is always accepted.',
  },
  tombstoneGraceMs: {
    kind: 'number',
    default: 3_600_000,
    min: 0,
    max: 30 * 86_400_000,
    integer: true,
    unit: 'ms',
    doc:
      'How long a deleted key is kept as a tombstone before it is collected. A peer that comes back after ' +
      'the collection point receives a full reset of that owner instead of a delta.',
  },
  joinRetryIntervalMs: {
    kind: 'number',
    default: 1000,
    min: 100,
    max: 600_000,
    integer: true,
    unit: 'ms',
    doc: 'While a node knows no live peer, how often it asks a seed for the full cluster state.',
  },
  membersMax: {
    kind: 'number',
    default: 100_000,
    min: 2,
    max: 10_000_000,
    integer: true,
    doc: 'Capacity of the member list; members beyond it are refused and counted.',
  },
  keysPerNodeMax: {
    kind: 'number',
    default: 4096,
    min: 1,
    max: 1_000_000,
    integer: true,
    doc: 'Keys one node may hold in its own state, tombstones included.',
  },
  keyBytesMax: {
    kind: 'number',
    default: 128,
    min: 1,
    max: 512,
    integer: true,
    unit: 'bytes',
    doc: 'Longest key, in UTF-8 bytes.',
  },
  valueBytesMax: {
    kind: 'number',
    default: 1000,
    min: 0,
    max: 60_000,
    integer: true,
    unit: 'bytes',
    doc:
      'Longest value, in UTF-8 bytes. A key, its value and about 250 bytes of headers must fit in one ' +
      'datagram, so that every change can travel by gossip; larger data belongs in several keys.',
  },
  catchUpBytesMin: {
    kind: 'number',
    default: 8192,
    min: 0,
    max: 1 << 30,
    integer: true,
    unit: 'bytes',
    doc:
      'When a peer lacks more state than this, or needs a reset that does not fit in a datagram, the missing ' +
      'state goes over a stream instead of datagrams.',
  },
  seeds: {
    kind: 'string-list',
    default: [],
    countMax: 64,
    doc:
      'Addresses (host:port) a node joins through and, like Cassandra, gossips with now and then so that ' +
      'partitions heal without anyone acting.',
  },
} as const;

export type GossipOptions = OptionsOf<typeof GOSSIP_OPTION_SPECS>;

export function resolveGossipOptions(
  input: Readonly<Record<string, unknown>>,
  prefix = '',
): { readonly options: GossipOptions; readonly issues: readonly OptionIssue[] } {
  const { options, issues } = resolveOptions(GOSSIP_OPTION_SPECS, input, prefix);
  const crossIssues: OptionIssue[] = [];
  // A cross-field rule is checked only between fields that are valid on their own (a bad fanout already
  // has its issue; comparing idleFanout with it would only add noise). Everything else is still reported.
  const invalid = new Set(issues.map((issue) => issue.path));
  const valid = (...names: string[]) => names.every((name) => !invalid.has(prefix + name));
  if (valid('idleFanout', 'fanout') && options.idleFanout > options.fanout) {
    crossIssues.push({ path: `${prefix}idleFanout`, message: `must not exceed fanout (${options.fanout})` });
  }
  if (valid('suspectPhi', 'downPhi') && options.suspectPhi >= options.downPhi) {
    crossIssues.push({ path: `${prefix}suspectPhi`, message: `must be below downPhi (${options.downPhi})` });
  }
  if (
    valid('keyBytesMax', 'valueBytesMax', 'datagramBytesMax') &&
    options.keyBytesMax + options.valueBytesMax + 250 > options.datagramBytesMax
  ) {
    crossIssues.push({
      path: `${prefix}valueBytesMax`,
      message: `keyBytesMax + valueBytesMax + 250 bytes of headers must fit in datagramBytesMax (${options.datagramBytesMax})`,
    });
  }
  return { options, issues: [...issues, ...crossIssues] };
}
