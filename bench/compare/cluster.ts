/**
 * A cluster of real agents of one system (Serf or grapevine) for the side-by-side benchmark: one agent per
 * namespace of a `NetnsNetwork`, each a real process. It owns the agents' processes and, for each agent, a
 * view of the membership built from what that agent reports as it happens (its log lines or its event
 * stream), so that "every survivor marked it failed" is a timestamp, not the result of a slow poll.
 *
 * Invariants it keeps: every wait has a deadline and rejects when it passes; every buffer (recent lines,
 * recorded verdicts, pending waits) has a bound; stopping the cluster kills every process it started.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { HttpRelay, NetnsNetwork, NetnsNode } from '../../test/support/netns.js';

/** Membership status, normalized across systems: Serf's "failed" and grapevine's "down" are both `failed`. */
export type MemberStatus = 'alive' | 'suspect' | 'failed' | 'left';

/** What one line (or one streamed event) of an agent says. */
export type Observation =
  | {
      readonly kind: 'member';
      readonly member: string;
      readonly status: MemberStatus | 'gone';
      /** Why, when the system says (grapevine: who accused it, and on what evidence). */
      readonly detail?: string;
    }
  | { readonly kind: 'update'; readonly name: string }
  | { readonly kind: 'ready' };

/** Bound on lines kept per agent for diagnostics. */
const RECENT_LINES_MAX = 40;
/** Bound on recorded verdicts (a flapping cluster must not exhaust memory). */
const VERDICTS_MAX = 200_000;
const WAITERS_MAX = 64;
/** Predicates are also checked on this period, for conditions that change without an observation. */
const WAIT_CHECK_INTERVAL_MS = 100;

export interface Agent {
  readonly name: string;
  readonly node: NetnsNode;
  /** The running process, or undefined while the agent is down. */
  child: ChildProcess | undefined;
  /** Increases on every start, so lines of a dead process are never applied to its successor's view. */
  incarnation: number;
  readyAtMs: number | undefined;
  /** The agent's own view: member name to status, as its reports said. */
  readonly view: Map<string, MemberStatus>;
  /** Update name to the time this agent first reported it. */
  readonly updates: Map<string, number>;
  readonly recentLines: string[];
}

/** One verdict an agent reached or heard: `observer` now holds `member` suspect or failed. */
export interface RecordedVerdict {
  readonly atMs: number;
  readonly observer: string;
  readonly member: string;
  readonly status: 'suspect' | 'failed';
  readonly detail?: string;
}

export interface StartOptions {
  /** Gossip addresses to join at start (empty: start alone). */
  readonly join: readonly string[];
  /** Keep retrying the join until a seed answers (for a mass restart, where the seed may not be up yet). */
  readonly retryJoin: boolean;
}

/** What differs between Serf and grapevine: how to start an agent, read it, and act through it. */
export interface AgentSystem {
  readonly name: 'serf' | 'grapevine';
  /** How the report names it, with its version and configuration. */
  readonly title: string;
  readonly gossipPort: number;
  command(agent: Agent, options: StartOptions): { readonly command: string; readonly args: string[] };
  /** Parses one line of the agent's standard output or error. */
  parseLine(line: string): Observation | undefined;
  /**
   * Starts reporting updates (a system whose updates are not in its log opens event streams here); returns
   * the function that stops it. Called only around propagation trials, so the streams cost nothing at rest.
   */
  watchUpdates?(cluster: BenchCluster, agents: readonly Agent[]): Promise<() => void>;
  /** Tells `agents` to join `seed`, all at once; resolves when every join command returned. */
  join(cluster: BenchCluster, agents: readonly Agent[], seed: Agent): Promise<void>;
  /** Publishes an update (a Serf user event, a grapevine key) named `name` through `agent`. */
  publish(cluster: BenchCluster, agent: Agent, name: string): Promise<void>;
  /** Reads an agent's member list through its API (to check that the reported views are right). */
  readMembers(cluster: BenchCluster, agent: Agent): Promise<Map<string, MemberStatus>>;
}

interface Waiter {
  readonly check: () => boolean;
  readonly resolve: (atMs: number) => void;
}

export class DeadlineError extends Error {}

export class BenchCluster {
  readonly system: AgentSystem;
  readonly network: NetnsNetwork;
  readonly relay: HttpRelay;
  readonly agents: readonly Agent[];
  readonly verdicts: RecordedVerdict[] = [];
  verdictsDropped = 0;
  readonly #waiters = new Set<Waiter>();
  readonly #timer: NodeJS.Timeout;

  constructor(options: { system: AgentSystem; network: NetnsNetwork; relay: HttpRelay; namePrefix: string }) {
    this.system = options.system;
    this.network = options.network;
    this.relay = options.relay;
    this.agents = options.network.nodes.map((node) => ({
      name: `${options.namePrefix}${node.index}`,
      node,
      child: undefined,
      incarnation: 0,
      readyAtMs: undefined,
      view: new Map(),
      updates: new Map(),
      recentLines: [],
    }));
    this.#timer = setInterval(() => this.#checkWaiters(), WAIT_CHECK_INTERVAL_MS);
  }

  gossipAddress(agent: Agent): string {
    return `${agent.node.address}:${this.system.gossipPort}`;
  }

  /** Starts an agent process; its view starts empty. */
  start(agent: Agent, options: StartOptions): void {
    if (agent.child !== undefined) throw new Error(`${agent.name} is already running`);
    const { command, args } = this.system.command(agent, options);
    agent.incarnation += 1;
    const incarnation = agent.incarnation;
    agent.view.clear();
    agent.updates.clear();
    agent.readyAtMs = undefined;
    const child = this.network.spawn(agent.node, command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    agent.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => this.#onLine(agent, incarnation, line));
    }
    child.on('exit', () => {
      if (agent.child === child) agent.child = undefined;
    });
  }

  #onLine(agent: Agent, incarnation: number, line: string): void {
    if (agent.incarnation !== incarnation) return;
    agent.recentLines.push(line);
    if (agent.recentLines.length > RECENT_LINES_MAX) agent.recentLines.shift();
    const observation = this.system.parseLine(line);
    if (observation !== undefined) this.observe(agent, observation);
  }

  /** Applies what an agent reported to its view (also used by systems that stream events). */
  observe(agent: Agent, observation: Observation): void {
    const now = performance.now();
    if (observation.kind === 'ready') {
      if (agent.readyAtMs === undefined) agent.readyAtMs = now;
    } else if (observation.kind === 'update') {
      if (!agent.updates.has(observation.name)) agent.updates.set(observation.name, now);
    } else if (observation.status === 'gone') {
      agent.view.delete(observation.member);
    } else {
      const previous = agent.view.get(observation.member);
      agent.view.set(observation.member, observation.status);
      const status = observation.status;
      if ((status === 'failed' || status === 'suspect') && previous !== status) {
        const detail = observation.detail === undefined ? {} : { detail: observation.detail };
        this.#recordVerdict({
          atMs: now,
          observer: agent.name,
          member: observation.member,
          status,
          ...detail,
        });
      }
    }
    this.#checkWaiters();
  }

  #recordVerdict(verdict: RecordedVerdict): void {
    if (this.verdicts.length >= VERDICTS_MAX) {
      this.verdictsDropped += 1;
      return;
    }
    this.verdicts.push(verdict);
  }

  #checkWaiters(): void {
    for (const waiter of [...this.#waiters]) {
      if (waiter.check()) {
        this.#waiters.delete(waiter);
        waiter.resolve(performance.now());
      }
    }
  }

  /**
   * Resolves with the time `check` first held, checked after every observation and every 100 ms; rejects
   * with a DeadlineError (saying what it waited for) after `timeoutMs`.
   */
  waitUntil(label: string, check: () => boolean, timeoutMs: number): Promise<number> {
    if (check()) return Promise.resolve(performance.now());
    if (this.#waiters.size >= WAITERS_MAX) return Promise.reject(new Error('too many concurrent waits'));
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new DeadlineError(`${this.system.name}: timed out after ${timeoutMs} ms waiting for ${label}`),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        check,
        resolve: (atMs) => {
          clearTimeout(timer);
          resolve(atMs);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  running(): Agent[] {
    return this.agents.filter((agent) => agent.child !== undefined);
  }

  /** True when every running agent in `observers` holds every agent of `members` (but itself) alive. */
  allSeeAlive(observers: readonly Agent[] = this.agents, members: readonly Agent[] = this.agents): boolean {
    return observers.every((observer) =>
      members.every((member) => member === observer || observer.view.get(member.name) === 'alive'),
    );
  }

  /** True when every agent in `observers` holds `member` failed (or, if it left, left). */
  allSeeFailed(observers: readonly Agent[], member: Agent): boolean {
    return observers.every((observer) => {
      const status = observer.view.get(member.name);
      return status === 'failed' || status === 'left';
    });
  }

  /** Starts every agent alone, then waits until each has reported it is ready. */
  async startAll(options: StartOptions, timeoutMs: number): Promise<void> {
    for (const agent of this.agents) this.start(agent, options);
    await this.waitUntil(
      'every agent to report ready',
      () => this.agents.every((agent) => agent.readyAtMs !== undefined),
      timeoutMs,
    );
  }

  /** Sends `signal` to an agent's process (SIGKILL, SIGSTOP, SIGCONT). */
  signal(agent: Agent, signal: NodeJS.Signals): void {
    const pid = agent.child?.pid;
    if (pid === undefined) throw new Error(`${agent.name} is not running`);
    process.kill(pid, signal);
  }

  /** SIGKILLs an agent and waits (bounded) until its process is gone. */
  async kill(agent: Agent, timeoutMs = 10_000): Promise<void> {
    const child = agent.child;
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // SIGKILL ends a stopped process too, without a SIGCONT first.
    child.kill('SIGKILL');
    await Promise.race([exited, sleep(timeoutMs)]);
  }

  /** Kills every agent; the network stays. */
  async stopAll(): Promise<void> {
    await Promise.all(this.agents.map((agent) => this.kill(agent)));
  }

  close(): void {
    clearInterval(this.#timer);
    for (const waiter of this.#waiters) waiter.resolve(Number.NaN);
    this.#waiters.clear();
  }

  /** Verdicts recorded since `sinceMs` with the given status. */
  verdictsSince(sinceMs: number, status: RecordedVerdict['status']): RecordedVerdict[] {
    return this.verdicts.filter((verdict) => verdict.atMs >= sinceMs && verdict.status === status);
  }

  /** A short description of who does not see what, for error messages. */
  describeViews(agents: readonly Agent[] = this.agents, limit = 5): string {
    const lines: string[] = [];
    for (const observer of agents) {
      const wrong = this.agents
        .filter((member) => member !== observer && observer.view.get(member.name) !== 'alive')
        .map((member) => `${member.name}=${observer.view.get(member.name) ?? 'unknown'}`);
      if (wrong.length > 0) lines.push(`${observer.name} sees ${wrong.slice(0, 8).join(' ')}`);
      if (lines.length >= limit) break;
    }
    return lines.join('; ');
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
