/**
 * HashiCorp Serf as the benchmark's reference system: `serf agent` with its default LAN profile, no
 * encryption, and its RPC listener on the namespace's own address (so the controller namespace can reach
 * it). It owns the translation of Serf's log lines into observations.
 *
 * Serf's log says at once what its membership layer decided (`serf: EventMemberJoin|Failed|Leave|Reap`,
 * written before the agent's event coalescing), and `agent: Received event: user-event: NAME` when a user
 * event reaches the agent; the benchmark reads those lines as they are written, so a Serf agent is observed
 * without polling. Commands (join, event, members) go through the serf CLI run inside the controller
 * namespace, as an operator would.
 */
import { execFileSync } from 'node:child_process';
import type { Agent, AgentSystem, BenchCluster, MemberStatus, Observation, StartOptions } from './cluster.js';

const SERF_PORT = 7946;
const RPC_PORT = 7373;
const MEMBER_LINE = /\bserf: EventMember(Join|Failed|Leave|Reap|Update): (\S+)/;
const USER_EVENT_LINE = /\bagent: Received event: user-event: (\S+)/;
const READY_LINE = /Serf agent running!/;
/** Bound on one serf CLI command. */
const CLI_TIMEOUT_MS = 20_000;
/** Join commands run this many at a time, like operators scripting a join across hosts. */
const JOINS_PARALLEL = 8;

const STATUS_OF_EVENT: Readonly<Record<string, MemberStatus | 'gone' | undefined>> = {
  Join: 'alive',
  Failed: 'failed',
  Leave: 'left',
  Reap: 'gone',
  Update: undefined,
};

/** The installed Serf's version line (Debian's package reports its upstream version in `dpkg -s`). */
export function serfVersion(): string {
  try {
    // dpkg-query -W prints the package name, a tab and the installed version.
    const text = execFileSync('dpkg-query', ['-W', 'serf'], { timeout: 5000, encoding: 'utf8' });
    return text.trim().split('\t')[1] ?? 'unknown';
  } catch {
    return execFileSync('serf', ['version'], { timeout: 5000, encoding: 'utf8' }).split('\n')[0] ?? 'unknown';
  }
}

function rpcAddress(agent: Agent): string {
  return `${agent.node.address}:${RPC_PORT}`;
}

export function createSerfSystem(): AgentSystem {
  return {
    name: 'serf',
    title: `Serf ${serfVersion()} (LAN profile, no encryption)`,
    gossipPort: SERF_PORT,

    command(agent: Agent, options: StartOptions) {
      const args = [
        'agent',
        '-node',
        agent.name,
        '-bind',
        `${agent.node.address}:${SERF_PORT}`,
        '-rpc-addr',
        rpcAddress(agent),
        '-log-level',
        'info',
      ];
      for (const address of options.join) args.push(options.retryJoin ? '-retry-join' : '-join', address);
      if (options.retryJoin) args.push('-retry-interval', '1s');
      return { command: 'serf', args };
    },

    parseLine(line: string): Observation | undefined {
      const member = MEMBER_LINE.exec(line);
      if (member !== null) {
        const status = STATUS_OF_EVENT[member[1] ?? ''];
        return status === undefined ? undefined : { kind: 'member', member: member[2] ?? '', status };
      }
      const userEvent = USER_EVENT_LINE.exec(line);
      if (userEvent !== null) return { kind: 'update', name: userEvent[1] ?? '' };
      if (READY_LINE.test(line)) return { kind: 'ready' };
      return undefined;
    },

    async join(cluster: BenchCluster, agents: readonly Agent[], seed: Agent) {
      const queue = agents.filter((agent) => agent !== seed);
      const workers = Array.from({ length: JOINS_PARALLEL }, async () => {
        for (let agent = queue.shift(); agent !== undefined; agent = queue.shift()) {
          await cluster.network.exec(
            cluster.network.controller,
            'serf',
            ['join', '-rpc-addr', rpcAddress(agent), cluster.gossipAddress(seed)],
            { timeoutMs: CLI_TIMEOUT_MS },
          );
        }
      });
      await Promise.all(workers);
    },

    async publish(cluster: BenchCluster, agent: Agent, name: string) {
      // Coalescing would hold the event back in the agent for up to a second; a benchmark wants it now.
      await cluster.network.exec(
        cluster.network.controller,
        'serf',
        ['event', '-rpc-addr', rpcAddress(agent), '-coalesce=false', name, 'x'],
        { timeoutMs: CLI_TIMEOUT_MS },
      );
    },

    async readMembers(cluster: BenchCluster, agent: Agent) {
      const { stdout } = await cluster.network.exec(
        cluster.network.controller,
        'serf',
        ['members', '-rpc-addr', rpcAddress(agent), '-format', 'json'],
        { timeoutMs: CLI_TIMEOUT_MS },
      );
      const parsed = JSON.parse(stdout) as { members: { name: string; status: string }[] };
      const members = new Map<string, MemberStatus>();
      for (const member of parsed.members) members.set(member.name, normalizeSerfStatus(member.status));
      return members;
    },
  };
}

function normalizeSerfStatus(status: string): MemberStatus {
  if (status === 'alive') return 'alive';
  if (status === 'left' || status === 'leaving') return 'left';
  return 'failed';
}
