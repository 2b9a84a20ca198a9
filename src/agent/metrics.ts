/**
 * Prometheus metrics for one node, in the text exposition format, every name prefixed `grapevine_`.
 *
 * It owns a private registry whose metrics read the node's counters when scraped (nothing is counted twice:
 * the runner, the core and the transport stay the single source of each number). Invariant: no label has a
 * value per member, so a 10,000-member cluster exports as many series as a 3-member one; phi is exported as
 * a histogram over members and as its maximum.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CORE_COUNTER_NAMES } from '../core/index.js';
import type { GrapevineNode } from '../runtime/node-api.js';
import { MEMBER_STATUSES, MESSAGE_TYPES } from '../wire/index.js';

/** Phi buckets around the thresholds that matter (probe 2, suspect 3, down 8 by default). */
const PHI_BUCKETS = [0.5, 1, 2, 3, 5, 8, 13, 21];

export interface NodeMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  render(): Promise<string>;
}

type Setter = (labels: Record<string, string>, value: number) => void;

/** A counter whose value is read from the node at scrape time. */
function mirroredCounter(
  registry: Registry,
  spec: { name: string; help: string; labelNames?: string[] },
  read: (set: Setter) => void,
): void {
  new Counter({
    ...spec,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    collect() {
      this.reset();
      read((labels, value) => {
        if (value > 0) this.inc(labels, value);
      });
    },
  });
}

function mirroredGauge(
  registry: Registry,
  spec: { name: string; help: string; labelNames?: string[] },
  read: (set: Setter) => void,
): void {
  new Gauge({
    ...spec,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    collect() {
      this.reset();
      read((labels, value) => this.set(labels, value));
    },
  });
}

function trafficMetrics(registry: Registry, node: GrapevineNode): void {
  mirroredCounter(
    registry,
    { name: 'grapevine_gossip_rounds_total', help: 'Gossip rounds this node started.' },
    (set) => set({}, node.stats().core.rounds),
  );
  mirroredCounter(
    registry,
    {
      name: 'grapevine_messages_total',
      help: 'Protocol messages sent (out) and received intact (in), by message type.',
      labelNames: ['type', 'direction'],
    },
    (set) => {
      const stats = node.stats();
      for (const type of MESSAGE_TYPES) {
        set({ type, direction: 'out' }, stats.runner.messagesSentByType[type]);
        set({ type, direction: 'in' }, stats.received.messagesByType[type]);
      }
    },
  );
  mirroredCounter(
    registry,
    {
      name: 'grapevine_message_bytes_total',
      help: 'Bytes of protocol frames sent (out) and received intact (in), by message type, framing included.',
      labelNames: ['type', 'direction'],
    },
    (set) => {
      const stats = node.stats();
      for (const type of MESSAGE_TYPES) {
        set({ type, direction: 'out' }, stats.runner.bytesSentByType[type]);
        set({ type, direction: 'in' }, stats.received.bytesByType[type]);
      }
    },
  );
  mirroredCounter(
    registry,
    {
      name: 'grapevine_frames_dropped_total',
      help: 'Inbound frames dropped, by reason (authentication, wrong-cluster, bad-magic, truncated, ...).',
      labelNames: ['reason'],
    },
    (set) => {
      for (const [reason, count] of Object.entries(node.stats().runner.drops)) set({ reason }, count);
    },
  );
  mirroredCounter(
    registry,
    {
      name: 'grapevine_transport_total',
      help: "The transport's own counters (datagrams, streams, oversize frames, probes), by counter.",
      labelNames: ['counter'],
    },
    (set) => {
      for (const [counter, value] of Object.entries(node.stats().transport)) set({ counter }, value);
    },
  );
}

function membershipMetrics(registry: Registry, node: GrapevineNode): void {
  mirroredGauge(
    registry,
    { name: 'grapevine_members', help: 'Members this node knows, by status.', labelNames: ['status'] },
    (set) => {
      const counts = new Map<string, number>(MEMBER_STATUSES.map((status) => [status, 0]));
      for (const member of node.members()) counts.set(member.status, (counts.get(member.status) ?? 0) + 1);
      for (const [status, count] of counts) set({ status }, count);
    },
  );
  new Histogram({
    name: 'grapevine_phi',
    help: 'Phi of every other live member, as seen by this node (one observation per member per scrape).',
    buckets: PHI_BUCKETS,
    registers: [registry],
    collect() {
      this.reset();
      for (const value of node.phiValues()) this.observe(value);
    },
  });
  mirroredGauge(
    registry,
    { name: 'grapevine_phi_max', help: 'Highest phi among the other live members.' },
    // A loop, not Math.max(...values): spreading 100,000 arguments overflows the stack.
    (set) =>
      set(
        {},
        node.phiValues().reduce((highest, value) => Math.max(highest, value), 0),
      ),
  );
  mirroredCounter(
    registry,
    {
      name: 'grapevine_protocol_total',
      help: 'Protocol counters of the core (suspicions, downVerdicts, refutations, probes, ...), by counter.',
      labelNames: ['counter'],
    },
    (set) => {
      const core = node.stats().core;
      for (const counter of CORE_COUNTER_NAMES) if (counter !== 'rounds') set({ counter }, core[counter]);
    },
  );
  mirroredCounter(
    registry,
    {
      name: 'grapevine_status_changes_total',
      help: 'Member status changes this node observed (its verdict history), by the status entered.',
      labelNames: ['to'],
    },
    (set) => {
      for (const [to, count] of Object.entries(node.stats().statusChanges)) set({ to }, count);
    },
  );
  mirroredGauge(
    registry,
    {
      name: 'grapevine_keyring_keys',
      help: 'Encryption keys installed on this node (0: frames are not encrypted). Above 1 during a rotation.',
    },
    (set) => set({}, node.stats().keyringKeys),
  );
  mirroredGauge(
    registry,
    {
      name: 'grapevine_generation',
      help: 'Generation of this node (milliseconds since the epoch at start).',
    },
    (set) => set({}, node.generation),
  );
}

function healthMetrics(registry: Registry, node: GrapevineNode): void {
  mirroredGauge(
    registry,
    {
      name: 'grapevine_event_loop_lag_seconds',
      help: 'Event-loop delay since start, by quantile (p99, max).',
      labelNames: ['quantile'],
    },
    (set) => {
      const loop = node.stats().loop;
      if (loop === null) return;
      set({ quantile: '0.99' }, loop.lagMsP99 / 1000);
      set({ quantile: '1' }, loop.lagMsMax / 1000);
    },
  );
  mirroredCounter(
    registry,
    {
      name: 'grapevine_stalls_total',
      help: 'Times this process was found not running (late timers, blocked event loop) and told the detector.',
    },
    (set) => set({}, node.stats().runner.stallsDetected),
  );
  mirroredCounter(
    registry,
    { name: 'grapevine_events_dropped_total', help: 'Events dropped from full subscriber buffers.' },
    (set) => set({}, node.stats().iteratorEventsDropped),
  );
  mirroredCounter(
    registry,
    { name: 'grapevine_listener_errors_total', help: 'Event listeners that threw.' },
    (set) => set({}, node.stats().listenerErrors),
  );
}

/**
 * The process's own CPU, memory and start time, read when scraped. Not prom-client's default set: it
 * samples event-loop delay every 10 ms (100 wake-ups a second, most of an idle agent's CPU), and the node's
 * loop monitor already exports the lag.
 */
function processMetrics(registry: Registry): void {
  new Counter({
    name: 'grapevine_process_cpu_seconds_total',
    help: 'User and system CPU time of this process.',
    registers: [registry],
    collect() {
      const usage = process.cpuUsage();
      this.reset();
      this.inc((usage.user + usage.system) / 1e6);
    },
  });
  new Gauge({
    name: 'grapevine_process_resident_memory_bytes',
    help: 'Resident set size of this process.',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: 'grapevine_process_heap_used_bytes',
    help: 'V8 heap in use.',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  const startedAtSeconds = Date.now() / 1000 - process.uptime();
  new Gauge({
    name: 'grapevine_process_start_time_seconds',
    help: 'When this process started, in seconds since the epoch.',
    registers: [registry],
    collect() {
      this.set(startedAtSeconds);
    },
  });
}

/** The registry for one node; `processMetrics` adds the process's own CPU and memory. */
export function createNodeMetrics(
  node: GrapevineNode,
  options: { processMetrics?: boolean } = {},
): NodeMetrics {
  const registry = new Registry();
  trafficMetrics(registry, node);
  membershipMetrics(registry, node);
  healthMetrics(registry, node);
  if (options.processMetrics ?? true) processMetrics(registry);
  return { registry, contentType: registry.contentType, render: () => registry.metrics() };
}
