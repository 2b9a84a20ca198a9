/**
 * grapevine as the benchmark's system under test: `grapevine agent` with its default configuration and no
 * key, its HTTP API on the namespace's own address. It owns the translation of the agent's JSON log into
 * observations, and the event streams that report key updates.
 *
 * Membership is read from the agent's log, which writes one line per member status change as it happens
 * (the same kind of evidence as Serf's `EventMember*` lines). Key updates are logged only at debug level,
 * so instead of raising the log level (which would cost CPU at rest) the benchmark subscribes to each
 * agent's `GET /v1/events?types=key-updated` stream for the duration of a propagation trial.
 */
import { fileURLToPath } from 'node:url';
import type { Agent, AgentSystem, BenchCluster, MemberStatus, Observation, StartOptions } from './cluster.js';

const GOSSIP_PORT = 7946;
const HTTP_PORT = 7947;
const CLUSTER_NAME = 'bench';
const REQUEST_TIMEOUT_MS = 20_000;
const JOINS_PARALLEL = 8;
const CLI = fileURLToPath(new URL('../../bin/grapevine.js', import.meta.url));

const STATUS_OF: Readonly<Record<string, MemberStatus | undefined>> = {
  alive: 'alive',
  suspect: 'suspect',
  down: 'failed',
  left: 'left',
};

export function httpBase(agent: Agent): string {
  return `http://${agent.node.address}:${HTTP_PORT}`;
}

/** The fields of one agent log line the benchmark reads. */
interface LogLine {
  readonly msg?: string;
  readonly event?: string;
  readonly member?: string;
  readonly status?: string;
  readonly accuser?: string;
  readonly reason?: string;
  readonly phi?: number;
  readonly silenceMs?: number;
}

function parseLogLine(line: string): Observation | undefined {
  if (!line.startsWith('{')) return undefined;
  let fields: LogLine;
  try {
    fields = JSON.parse(line) as LogLine;
  } catch {
    return undefined;
  }
  if (fields.msg === 'agent started') return { kind: 'ready' };
  if (typeof fields.event !== 'string' || !fields.event.startsWith('member-')) return undefined;
  if (typeof fields.member !== 'string') return undefined;
  if (fields.event === 'member-reaped') return { kind: 'member', member: fields.member, status: 'gone' };
  const status = STATUS_OF[fields.status ?? ''];
  if (status === undefined) return undefined;
  if (fields.accuser === undefined) return { kind: 'member', member: fields.member, status };
  const detail = `${fields.reason ?? '?'} by ${fields.accuser}, phi ${fields.phi ?? '?'}, silence ${fields.silenceMs ?? '?'} ms`;
  return { kind: 'member', member: fields.member, status, detail };
}

/** Reads one server-sent event line of a key-updated stream: `data: {"key": ...}`. */
function parseUpdateEvent(line: string): Observation | undefined {
  if (!line.startsWith('data:')) return undefined;
  try {
    const event = JSON.parse(line.slice(5)) as { type?: string; key?: string };
    if (event.type === 'key-updated' && typeof event.key === 'string')
      return { kind: 'update', name: event.key };
  } catch {
    // A malformed event is not an update.
  }
  return undefined;
}

export function createGrapevineSystem(): AgentSystem {
  return {
    name: 'grapevine',
    title: 'grapevine 0.1.0 (default configuration, no key)',
    gossipPort: GOSSIP_PORT,

    command(agent: Agent, options: StartOptions) {
      const address = `${agent.node.address}:${GOSSIP_PORT}`;
      const args = [
        CLI,
        'agent',
        '--name',
        agent.name,
        '--bind',
        address,
        '--advertise',
        address,
        '--http',
        `${agent.node.address}:${HTTP_PORT}`,
        '--cluster',
        CLUSTER_NAME,
        // The benchmark holds every agent's stdin: if it dies, the agents leave instead of lingering.
        '--exit-on-stdin-close',
      ];
      for (const seed of options.join) args.push('--join', seed);
      if (options.retryJoin) args.push('--retry-join', '--retry-join-interval-ms', '1000');
      return { command: process.execPath, args };
    },

    parseLine: parseLogLine,

    async join(cluster: BenchCluster, agents: readonly Agent[], seed: Agent) {
      const queue = agents.filter((agent) => agent !== seed);
      const body = JSON.stringify({ addresses: [cluster.gossipAddress(seed)] });
      const workers = Array.from({ length: JOINS_PARALLEL }, async () => {
        for (let agent = queue.shift(); agent !== undefined; agent = queue.shift()) {
          const response = await cluster.relay.request({
            url: `${httpBase(agent)}/v1/join`,
            method: 'POST',
            body,
            timeoutMs: REQUEST_TIMEOUT_MS,
          });
          if (response.status !== 200)
            throw new Error(`${agent.name} join: HTTP ${response.status} ${response.body}`);
        }
      });
      await Promise.all(workers);
    },

    async publish(cluster: BenchCluster, agent: Agent, name: string) {
      const response = await cluster.relay.request({
        url: `${httpBase(agent)}/v1/kv/${encodeURIComponent(name)}`,
        method: 'PUT',
        body: 'x',
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      if (response.status !== 200)
        throw new Error(`${agent.name} set: HTTP ${response.status} ${response.body}`);
    },

    async readMembers(cluster: BenchCluster, agent: Agent) {
      const members = await cluster.relay.getJson<{ name: string; status: string }[]>(
        `${httpBase(agent)}/v1/members`,
        REQUEST_TIMEOUT_MS,
      );
      return new Map(members.map((member) => [member.name, STATUS_OF[member.status] ?? 'failed']));
    },

    async watchUpdates(cluster: BenchCluster, agents: readonly Agent[]) {
      const streams = agents.map((agent) =>
        cluster.relay.stream(`${httpBase(agent)}/v1/events?types=key-updated`, (line) => {
          const observation = parseUpdateEvent(line);
          if (observation !== undefined) cluster.observe(agent, observation);
        }),
      );
      const statuses = await Promise.all(streams.map((stream) => stream.opened));
      const failed = statuses.filter((status) => status !== 200).length;
      if (failed > 0) {
        for (const stream of streams) stream.close();
        throw new Error(`${failed} of ${agents.length} event streams did not open`);
      }
      return () => {
        for (const stream of streams) stream.close();
      };
    },
  };
}
