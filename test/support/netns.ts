/**
 * A test network of Linux network namespaces (root only): one bridge, one namespace per node joined to it
 * by a veth pair, and a controller namespace from which tests reach the nodes' HTTP and RPC ports. It owns
 * everything it creates (bridge, namespaces, veths, the nftables table inside each namespace, the processes
 * it spawns) and names all of it with one prefix, so that teardown, and a later cleanup after a crash, can
 * find and remove it by name.
 *
 * Invariants it keeps:
 * - only namespaces it created receive traffic: the bridge carries no address and nothing routes the test
 *   subnet anywhere, so the host itself never sends or receives on it;
 * - every external command runs with a timeout (`commandTimeoutMs`), and every queue has a bound;
 * - teardown is idempotent and also runs on SIGINT, SIGTERM, SIGHUP and process exit (which an uncaught
 *   error also reaches);
 * - fault rules (loss, cuts) apply only to IPv4 on the node's eth0 (at the device, so senders see no
 *   error) and never to traffic with the controller, so measuring a fault does not disturb it.
 *
 * Byte counters are read on the host side of each veth and reported from the node's point of view: what
 * the node sent is what the host side received.
 */
import { type ChildProcess, type StdioOptions, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** Default bound on any single external command (ip, nft, sh). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 15_000;
/** Bound on the output kept from a command, so a runaway command cannot exhaust memory. */
const COMMAND_OUTPUT_BYTES_MAX = 4 * 1024 * 1024;
/** Name of the nftables table the harness owns inside each namespace. */
const NFT_TABLE = 'gv_harness';
/** Commands that change namespaces run this many at a time. */
const PARALLEL_COMMANDS_MAX = 8;
/** Addresses are `${subnet}.${index + 1}`; the controller takes .254. */
const NODES_MAX = 250;
const CONTROLLER_HOST = 254;

export interface NetworkOptions {
  /** 2 to 6 characters, [a-z][a-z0-9]*: every name the harness creates starts with `${prefix}-`. */
  readonly prefix: string;
  readonly nodeCount: number;
  /** The first three octets of a private /24 used only on this bridge, e.g. '10.77.1'. */
  readonly subnet: string;
  readonly commandTimeoutMs?: number;
}

export interface NetnsNode {
  readonly index: number;
  readonly namespace: string;
  /** The host side of the veth pair (inside the namespace the other end is `eth0`). */
  readonly hostInterface: string;
  readonly address: string;
  /** MAC of its eth0, derived from the address (02:67:76 and the last three octets), so it is known in advance. */
  readonly mac: string;
}

/** Traffic of one node, seen from the node: `sent` left its eth0, `received` arrived on it. */
export interface InterfaceCounters {
  readonly sentBytes: number;
  readonly receivedBytes: number;
  readonly sentPackets: number;
  readonly receivedPackets: number;
}

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandOptions {
  readonly timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  readonly input?: string;
}

/** Runs a command to completion with a timeout; rejects on a non-zero exit, a signal or the timeout. */
export function runCommand(command: string, args: readonly string[], options: CommandOptions = {}) {
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  return new Promise<CommandResult>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let keptBytes = 0;
    const keep = (into: Buffer[]) => (chunk: Buffer) => {
      if (keptBytes + chunk.length > COMMAND_OUTPUT_BYTES_MAX) return;
      keptBytes += chunk.length;
      into.push(chunk);
    };
    child.stdout.on('data', keep(stdout));
    child.stderr.on('data', keep(stderr));
    const describe = () => `${command} ${args.join(' ')}`;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${describe()}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = {
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      };
      if (code === 0) resolve(result);
      else reject(new Error(`${describe()} exited with ${code ?? signal}: ${result.stderr.trim()}`));
    });
    child.stdin.on('error', () => {
      // The command may exit before reading its input; the exit status reports what went wrong.
    });
    child.stdin.end(options.input ?? '');
  });
}

/** The synchronous variant, for teardown from signal and exit handlers; never throws. */
function runCommandSync(command: string, args: readonly string[], timeoutMs: number): number | null {
  const result = spawnSync(command, args, { timeout: timeoutMs, stdio: 'ignore', killSignal: 'SIGKILL' });
  return result.status;
}

/** Runs `task` over `items`, at most `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  });
  await Promise.all(workers);
}

/**
 * Fails with a clear message unless this process can build namespaces: root, iproute2 with `ip netns`, and
 * nft. Tests call it instead of skipping, because CI runs as root and a skipped partition test proves nothing.
 */
export async function assertNetnsAvailable(): Promise<void> {
  const problems: string[] = [];
  if (process.platform !== 'linux')
    problems.push(`network namespaces need Linux, this is ${process.platform}`);
  if (process.getuid?.() !== 0)
    problems.push(`network namespaces need root, this process runs as uid ${process.getuid?.()}`);
  await runCommand('ip', ['netns', 'list'], { timeoutMs: 5000 }).catch((error: Error) =>
    problems.push(`'ip netns list' failed (install iproute2): ${error.message}`),
  );
  await runCommand('nft', ['--version'], { timeoutMs: 5000 }).catch((error: Error) =>
    problems.push(`'nft --version' failed (apt-get install -y nftables): ${error.message}`),
  );
  if (problems.length > 0) {
    throw new Error(`this test needs root, iproute2 and nftables (as CI has): ${problems.join('; ')}`);
  }
}

/** Fault rules of one node, rendered as its whole nftables table on every change. */
interface FaultState {
  lossPercent: number;
  readonly blockedOutput: Set<string>;
  readonly blockedInput: Set<string>;
}

function validateOptions(options: NetworkOptions): void {
  if (!/^[a-z][a-z0-9]{1,5}$/.test(options.prefix)) {
    throw new Error(`prefix must be 2-6 characters [a-z][a-z0-9]*, got '${options.prefix}'`);
  }
  if (!/^10\.\d{1,3}\.\d{1,3}$/.test(options.subnet)) {
    throw new Error(`subnet must be the first three octets of a 10.x.y.0/24, got '${options.subnet}'`);
  }
  if (!Number.isInteger(options.nodeCount) || options.nodeCount < 1 || options.nodeCount > NODES_MAX) {
    throw new Error(`nodeCount must be an integer from 1 to ${NODES_MAX}, got ${options.nodeCount}`);
  }
}

function lockFile(prefix: string): string {
  return join(os.tmpdir(), `grapevine-netns-${prefix}.pid`);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Refuses to touch a prefix that another live process holds, so two runs never destroy each other. */
function assertPrefixFree(prefix: string): void {
  const file = lockFile(prefix);
  if (!existsSync(file)) return;
  const owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
  if (Number.isInteger(owner) && owner !== process.pid && processIsAlive(owner)) {
    throw new Error(`prefix '${prefix}' is in use by process ${owner} (lock ${file})`);
  }
}

const liveNetworks = new Set<NetnsNetwork>();
let handlersInstalled = false;

/** Tears every live network down synchronously; used by the process-wide handlers. */
function teardownAllSync(): void {
  for (const network of [...liveNetworks]) network.teardownSync();
}

/**
 * Tears down on exit and on the usual termination signals. Node emits 'exit' after an uncaught exception or
 * an unhandled rejection too, so no error handler is needed (and none is installed: the test runner keeps
 * its own, which attribute a crash to the test that caused it).
 */
function installProcessHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', teardownAllSync);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: removing test namespaces`);
      teardownAllSync();
      process.exit(code);
    });
  }
}

/**
 * Removes every namespace, veth and bridge named `${prefix}-*` and kills the processes inside those
 * namespaces (by pid). Safe to call when nothing is left. Used before creating a network and by `--cleanup`.
 */
export async function cleanupByPrefix(
  prefix: string,
  timeoutMs = DEFAULT_COMMAND_TIMEOUT_MS,
): Promise<string[]> {
  assertPrefixFree(prefix);
  const removed: string[] = [];
  const namespaces = (await runCommand('ip', ['netns', 'list'], { timeoutMs })).stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`${prefix}-`));
  for (const namespace of namespaces) {
    await killNamespaceProcesses(namespace, timeoutMs);
    await runCommand('ip', ['netns', 'delete', namespace], { timeoutMs }).catch(() => undefined);
    removed.push(`namespace ${namespace}`);
  }
  const links = (await runCommand('ip', ['-o', 'link', 'show'], { timeoutMs })).stdout
    .split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(`${prefix}-`));
  // Veths first: a bridge is deleted last so no port is left dangling on it.
  links.sort((a, b) => Number(a.endsWith('-br0')) - Number(b.endsWith('-br0')));
  for (const link of links) {
    await runCommand('ip', ['link', 'delete', link], { timeoutMs }).catch(() => undefined);
    removed.push(`link ${link}`);
  }
  rmSync(lockFile(prefix), { force: true });
  return removed;
}

async function namespacePids(namespace: string, timeoutMs: number): Promise<number[]> {
  const { stdout } = await runCommand('ip', ['netns', 'pids', namespace], { timeoutMs }).catch(() => ({
    stdout: '',
  }));
  return stdout
    .split('\n')
    .map((line) => Number.parseInt(line, 10))
    .filter((pid) => Number.isInteger(pid) && pid > 0 && pid !== process.pid);
}

/** SIGKILLs every process in the namespace, by pid, and waits (bounded) until none is left. */
async function killNamespaceProcesses(namespace: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const pids = await namespacePids(namespace, timeoutMs);
    if (pids.length === 0 || performance.now() > deadline) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export class NetnsNetwork {
  readonly prefix: string;
  readonly bridge: string;
  readonly nodes: readonly NetnsNode[];
  /** A namespace on the bridge for the test's own requests; fault rules never apply to it. */
  readonly controller: NetnsNode;
  readonly #commandTimeoutMs: number;
  readonly #faults = new Map<string, FaultState>();
  readonly #children = new Set<ChildProcess>();
  #tornDown = false;

  private constructor(options: NetworkOptions) {
    this.prefix = options.prefix;
    this.bridge = `${options.prefix}-br0`;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.nodes = Array.from({ length: options.nodeCount }, (_, index) => ({
      index,
      namespace: `${options.prefix}-ns${index}`,
      hostInterface: `${options.prefix}-v${index}`,
      address: `${options.subnet}.${index + 1}`,
      mac: macOf(`${options.subnet}.${index + 1}`),
    }));
    const controllerAddress = `${options.subnet}.${CONTROLLER_HOST}`;
    this.controller = {
      index: -1,
      namespace: `${options.prefix}-ctl`,
      hostInterface: `${options.prefix}-vctl`,
      address: controllerAddress,
      mac: macOf(controllerAddress),
    };
    for (const node of this.nodes) {
      this.#faults.set(node.namespace, { lossPercent: 0, blockedOutput: new Set(), blockedInput: new Set() });
    }
  }

  /**
   * Builds the network: removes leftovers with the same prefix, then creates the bridge, the namespaces and
   * their veths, with IPv6 off (so router solicitations and DAD do not show up in the byte counters). On any
   * failure it tears down what it built before rethrowing.
   */
  static async create(options: NetworkOptions): Promise<NetnsNetwork> {
    validateOptions(options);
    await assertNetnsAvailable();
    await cleanupByPrefix(options.prefix, options.commandTimeoutMs);
    const network = new NetnsNetwork(options);
    writeFileSync(lockFile(options.prefix), String(process.pid));
    installProcessHandlers();
    liveNetworks.add(network);
    try {
      await network.#build();
    } catch (error) {
      await network.teardown();
      throw error;
    }
    return network;
  }

  async #ip(args: readonly string[]): Promise<void> {
    await runCommand('ip', args, { timeoutMs: this.#commandTimeoutMs });
  }

  async #build(): Promise<void> {
    await this.#ip(['link', 'add', this.bridge, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
    disableIpv6OnHost(this.bridge);
    await this.#ip(['link', 'set', this.bridge, 'up']);
    const all = [...this.nodes, this.controller];
    await forEachLimited(all, PARALLEL_COMMANDS_MAX, (node) => this.#addNode(node));
    await forEachLimited(all, PARALLEL_COMMANDS_MAX, (node) => this.#addNeighbours(node, all));
  }

  /**
   * Fills the node's ARP table with permanent entries for every other node. The kernel's neighbour table
   * limit (gc_thresh3, 1024 by default) counts dynamic entries of all namespaces together, so 60 namespaces
   * that each learn 60 neighbours overflow it and drop packets ("neighbor table overflow"); permanent
   * entries are not counted. It also keeps ARP chatter out of the byte counters.
   */
  async #addNeighbours(node: NetnsNode, all: readonly NetnsNode[]): Promise<void> {
    const lines = all
      .filter((other) => other !== node)
      .map((other) => `neigh replace ${other.address} lladdr ${other.mac} dev eth0 nud permanent`);
    await runCommand('ip', ['-n', node.namespace, '-batch', '-'], {
      timeoutMs: this.#commandTimeoutMs,
      input: `${lines.join('\n')}\n`,
    });
  }

  async #addNode(node: NetnsNode): Promise<void> {
    await this.#ip(['netns', 'add', node.namespace]);
    await this.exec(node, 'sh', [
      '-c',
      'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6',
    ]);
    await this.#ip([
      'link',
      'add',
      node.hostInterface,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'address',
      node.mac,
      'netns',
      node.namespace,
    ]);
    disableIpv6OnHost(node.hostInterface);
    await this.#ip(['link', 'set', node.hostInterface, 'master', this.bridge, 'up']);
    await this.#ip(['-n', node.namespace, 'addr', 'add', `${node.address}/24`, 'dev', 'eth0']);
    await this.#ip(['-n', node.namespace, 'link', 'set', 'eth0', 'up']);
    await this.#ip(['-n', node.namespace, 'link', 'set', 'lo', 'up']);
  }

  /** Runs a command inside a node's namespace to completion (bounded by the command timeout). */
  exec(node: NetnsNode, command: string, args: readonly string[], options: CommandOptions = {}) {
    return runCommand('ip', ['netns', 'exec', node.namespace, command, ...args], {
      timeoutMs: this.#commandTimeoutMs,
      ...options,
    });
  }

  /**
   * Starts a long-running process inside a node's namespace. `ip netns exec` replaces itself with the
   * command, so the child's pid is the command's own pid (signals such as SIGKILL and SIGSTOP reach it
   * directly). The process is killed at teardown if it is still running.
   */
  spawn(
    node: NetnsNode,
    command: string,
    args: readonly string[],
    options: { readonly env?: NodeJS.ProcessEnv; readonly stdio?: StdioOptions; readonly cwd?: string } = {},
  ): ChildProcess {
    if (this.#tornDown) throw new Error('the network has been torn down');
    const child = spawn('ip', ['netns', 'exec', node.namespace, command, ...args], {
      stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    this.#children.add(child);
    child.on('exit', () => this.#children.delete(child));
    return child;
  }

  /** Byte and packet counters of one node's veth. */
  counters(node: NetnsNode): InterfaceCounters {
    const read = (name: string) =>
      Number(readFileSync(`/sys/class/net/${node.hostInterface}/statistics/${name}`, 'utf8').trim());
    // The host side receives what the node sends, and the reverse.
    return {
      sentBytes: read('rx_bytes'),
      receivedBytes: read('tx_bytes'),
      sentPackets: read('rx_packets'),
      receivedPackets: read('tx_packets'),
    };
  }

  /** Drops `percent` of the packets each given node sends and of those it receives (on eth0, not the controller's). */
  async setLoss(percent: number, nodes: readonly NetnsNode[] = this.nodes): Promise<void> {
    if (!(percent >= 0 && percent <= 100)) throw new Error(`loss must be 0-100 percent, got ${percent}`);
    for (const node of nodes) this.#fault(node).lossPercent = Math.round(percent);
    await this.#applyFaults(nodes);
  }

  /** Cuts every link between the two sides, in both directions (packets are dropped, not refused). */
  async cut(sideA: readonly NetnsNode[], sideB: readonly NetnsNode[]): Promise<void> {
    this.#block(sideA, sideB);
    this.#block(sideB, sideA);
    await this.#applyFaults([...sideA, ...sideB]);
  }

  /** Cuts one direction only: `from` nodes can no longer reach `to` nodes, while `to` still reaches `from`. */
  async cutOneWay(options: { readonly from: readonly NetnsNode[]; readonly to: readonly NetnsNode[] }) {
    this.#block(options.from, options.to);
    await this.#applyFaults([...options.from, ...options.to]);
  }

  /** Removes every cut (loss stays as it is). */
  async heal(nodes: readonly NetnsNode[] = this.nodes): Promise<void> {
    for (const node of nodes) {
      this.#fault(node).blockedInput.clear();
      this.#fault(node).blockedOutput.clear();
    }
    await this.#applyFaults(nodes);
  }

  #fault(node: NetnsNode): FaultState {
    const fault = this.#faults.get(node.namespace);
    if (fault === undefined) throw new Error(`${node.namespace} is not a node of this network`);
    return fault;
  }

  /** Drops what `senders` send to `receivers`: at the sender's output and at the receiver's input. */
  #block(senders: readonly NetnsNode[], receivers: readonly NetnsNode[]): void {
    for (const sender of senders) {
      for (const receiver of receivers) {
        if (sender === receiver) continue;
        this.#fault(sender).blockedOutput.add(receiver.address);
        this.#fault(receiver).blockedInput.add(sender.address);
      }
    }
  }

  async #applyFaults(nodes: readonly NetnsNode[]): Promise<void> {
    const unique = [...new Set(nodes)];
    await forEachLimited(unique, PARALLEL_COMMANDS_MAX, async (node) => {
      await this.exec(node, 'nft', ['-f', '-'], { input: this.#ruleset(this.#fault(node)) });
    });
  }

  /**
   * The node's whole table, replaced atomically: the first two lines make sure the table exists so that
   * deleting it cannot fail, and the rest recreates it, all in one nft transaction.
   *
   * The rules sit on the device (netdev ingress and egress hooks of eth0), not on the inet input and output
   * hooks: a packet dropped at the inet output hook makes the sender's sendto() or connect() fail at once
   * with EPERM, which both Serf and grapevine read as a local error rather than a lost packet (memberlist
   * skips the probe; a refused-looking connect looks like a dead process). Dropped at the device, a packet
   * has left the socket without error and simply never arrives, as on a real network.
   */
  #ruleset(fault: FaultState): string {
    const lines = [`table netdev ${NFT_TABLE}`, `delete table netdev ${NFT_TABLE}`];
    const hasCuts = fault.blockedInput.size > 0 || fault.blockedOutput.size > 0;
    if (fault.lossPercent === 0 && !hasCuts) return `${lines.join('\n')}\n`;
    const controller = this.controller.address;
    const chain = (hook: 'ingress' | 'egress') => {
      const peer = hook === 'ingress' ? 'saddr' : 'daddr';
      const blocked = hook === 'ingress' ? fault.blockedInput : fault.blockedOutput;
      const rules = [`    type filter hook ${hook} device "eth0" priority 0; policy accept;`];
      if (blocked.size > 0) rules.push(`    ip ${peer} { ${[...blocked].join(', ')} } drop`);
      if (fault.lossPercent > 0) {
        rules.push(`    ip ${peer} != ${controller} numgen random mod 100 < ${fault.lossPercent} drop`);
      }
      return [`  chain ${hook} {`, ...rules, '  }'];
    };
    lines.push(`table netdev ${NFT_TABLE} {`, ...chain('ingress'), ...chain('egress'), '}');
    return `${lines.join('\n')}\n`;
  }

  /** The node's current nftables table, for diagnostics. */
  async rules(node: NetnsNode): Promise<string> {
    const { stdout } = await this.exec(node, 'nft', ['list', 'ruleset']);
    return stdout;
  }

  /** Kills the spawned processes, then removes namespaces, veths and the bridge. Idempotent. */
  async teardown(): Promise<void> {
    if (this.#tornDown) return;
    this.#tornDown = true;
    this.#killChildren();
    try {
      await cleanupByPrefix(this.prefix, this.#commandTimeoutMs);
    } finally {
      liveNetworks.delete(this);
    }
  }

  #killChildren(): void {
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  }

  /** Synchronous teardown for signal, exit and crash handlers; best effort and bounded. */
  teardownSync(): void {
    if (this.#tornDown && !liveNetworks.has(this)) return;
    this.#tornDown = true;
    this.#killChildren();
    const timeoutMs = Math.min(this.#commandTimeoutMs, 5000);
    for (const node of [...this.nodes, this.controller]) {
      const pids = spawnSync('ip', ['netns', 'pids', node.namespace], {
        timeout: timeoutMs,
        encoding: 'utf8',
      });
      for (const pid of (pids.stdout ?? '').split('\n').map(Number)) {
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      }
      runCommandSync('ip', ['netns', 'delete', node.namespace], timeoutMs);
      runCommandSync('ip', ['link', 'delete', node.hostInterface], timeoutMs);
    }
    runCommandSync('ip', ['link', 'delete', this.bridge], timeoutMs);
    rmSync(lockFile(this.prefix), { force: true });
    liveNetworks.delete(this);
  }

  /** Starts a request relay inside the controller namespace (see `HttpRelay`). */
  startHttpRelay(): HttpRelay {
    return new HttpRelay(
      this.spawn(this.controller, process.execPath, ['--input-type=module', '-e', RELAY_SOURCE], {
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
  }
}

function macOf(address: string): string {
  const octets = address
    .split('.')
    .slice(1)
    .map((octet) => Number(octet).toString(16).padStart(2, '0'));
  return ['02', '67', '76', ...octets].join(':');
}

function disableIpv6OnHost(interfaceName: string): void {
  const file = `/proc/sys/net/ipv6/conf/${interfaceName}/disable_ipv6`;
  if (existsSync(file)) writeFileSync(file, '1');
}

/**
 * The relay's program: it reads one JSON request per line on stdin, performs it with fetch from inside the
 * controller namespace, and writes one JSON response per line. Plain JavaScript so it starts in a few ms.
 */
const RELAY_SOURCE = `
import { createInterface } from 'node:readline';
const lines = createInterface({ input: process.stdin });
const write = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
const streams = new Map();
async function request(message) {
  try {
    const response = await fetch(message.url, {
      method: message.method,
      body: message.body ?? undefined,
      signal: AbortSignal.timeout(message.timeoutMs),
    });
    write({ id: message.id, status: response.status, body: await response.text() });
  } catch (error) {
    write({ id: message.id, error: String(error && error.message || error) });
  }
}
async function stream(message) {
  const controller = new AbortController();
  streams.set(message.id, controller);
  try {
    const response = await fetch(message.url, { signal: controller.signal });
    write({ id: message.id, status: response.status });
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of response.body) {
      pending += decoder.decode(chunk, { stream: true });
      const parts = pending.split('\\n');
      pending = parts.pop();
      for (const line of parts) write({ id: message.id, line });
    }
    write({ id: message.id, end: true });
  } catch (error) {
    write({ id: message.id, end: true, error: String(error && error.message || error) });
  } finally {
    streams.delete(message.id);
  }
}
lines.on('line', (line) => {
  let message;
  try { message = JSON.parse(line); } catch { return; }
  if (message.op === 'stream') void stream(message);
  else if (message.op === 'cancel') streams.get(message.id)?.abort();
  else void request(message);
});
lines.on('close', () => process.exit(0));
`;

export interface RelayRequest {
  readonly url: string;
  readonly method?: 'GET' | 'PUT' | 'POST' | 'DELETE';
  readonly body?: string;
  readonly timeoutMs?: number;
}

export interface RelayResponse {
  readonly status: number;
  readonly body: string;
}

/** An open streaming GET (server-sent events, say): its lines arrive through `onLine` until `close`. */
export interface RelayStream {
  /** Resolves with the HTTP status once the response headers arrived. */
  readonly opened: Promise<number>;
  /** Resolves when the stream ended, for whatever reason. */
  readonly ended: Promise<void>;
  close(): void;
}

/** Bound on requests waiting for an answer, and on open streams; beyond it new ones are refused. */
const RELAY_PENDING_MAX = 2048;
const RELAY_STREAMS_MAX = 512;

interface RelayMessage {
  readonly id: number;
  readonly status?: number;
  readonly body?: string;
  readonly error?: string;
  readonly line?: string;
  readonly end?: boolean;
}

interface StreamHandlers {
  readonly onLine: (line: string) => void;
  readonly onOpen: (status: number) => void;
  readonly onEnd: () => void;
}

/**
 * HTTP requests to the nodes, made from the controller namespace (the host has no route to the test
 * subnet, on purpose). One long-lived process carries every request and stream, so polling costs no
 * process spawns.
 */
export class HttpRelay {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (r: RelayResponse) => void; reject: (e: Error) => void }>();
  readonly #streams = new Map<number, StreamHandlers>();
  #nextId = 1;
  #buffer = '';

  constructor(child: ChildProcess) {
    this.#child = child;
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.#onData(chunk));
    child.on('exit', () => this.#failAll(new Error('the HTTP relay exited')));
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    for (let newline = this.#buffer.indexOf('\n'); newline >= 0; newline = this.#buffer.indexOf('\n')) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      let message: RelayMessage;
      try {
        message = JSON.parse(line) as RelayMessage;
      } catch {
        continue;
      }
      const stream = this.#streams.get(message.id);
      if (stream !== undefined) this.#onStreamMessage(message, stream);
      else this.#onResponse(message);
    }
  }

  #onStreamMessage(message: RelayMessage, stream: StreamHandlers): void {
    if (message.line !== undefined) stream.onLine(message.line);
    else if (message.end === true) {
      this.#streams.delete(message.id);
      stream.onEnd();
    } else if (message.status !== undefined) stream.onOpen(message.status);
  }

  #onResponse(message: RelayMessage): void {
    const waiter = this.#pending.get(message.id);
    if (waiter === undefined) return;
    this.#pending.delete(message.id);
    if (message.error !== undefined) waiter.reject(new Error(message.error));
    else waiter.resolve({ status: message.status ?? 0, body: message.body ?? '' });
  }

  #failAll(error: Error): void {
    for (const waiter of this.#pending.values()) waiter.reject(error);
    this.#pending.clear();
    for (const stream of this.#streams.values()) stream.onEnd();
    this.#streams.clear();
  }

  #send(message: Record<string, unknown>): boolean {
    const stdin = this.#child.stdin;
    if (stdin === null || !stdin.writable) return false;
    stdin.write(`${JSON.stringify(message)}\n`);
    return true;
  }

  request(request: RelayRequest): Promise<RelayResponse> {
    if (this.#pending.size >= RELAY_PENDING_MAX) {
      return Promise.reject(new Error(`more than ${RELAY_PENDING_MAX} relay requests pending`));
    }
    const id = this.#nextId++;
    const timeoutMs = request.timeoutMs ?? 5000;
    return new Promise<RelayResponse>((resolve, reject) => {
      // The relay aborts at timeoutMs; this timer only guards against a relay that stopped answering.
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`relay request ${request.url} got no answer within ${timeoutMs + 2000} ms`));
      }, timeoutMs + 2000);
      this.#pending.set(id, {
        resolve: (response) => {
          clearTimeout(timer);
          resolve(response);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      const message = {
        id,
        method: request.method ?? 'GET',
        url: request.url,
        body: request.body,
        timeoutMs,
      };
      if (!this.#send(message)) this.#pending.get(id)?.reject(new Error('the HTTP relay is closed'));
    });
  }

  /** GET that parses a JSON body and rejects on a non-2xx status. */
  async getJson<T>(url: string, timeoutMs?: number): Promise<T> {
    const response = await this.request({ url, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    if (response.status < 200 || response.status > 299) {
      throw new Error(`GET ${url}: HTTP ${response.status} ${response.body.slice(0, 200)}`);
    }
    return JSON.parse(response.body) as T;
  }

  /** Opens a streaming GET; every line of the body is handed to `onLine` as it arrives. */
  stream(url: string, onLine: (line: string) => void): RelayStream {
    if (this.#streams.size >= RELAY_STREAMS_MAX)
      throw new Error(`more than ${RELAY_STREAMS_MAX} relay streams`);
    const id = this.#nextId++;
    let onOpen: (status: number) => void = () => {};
    let onEnd: () => void = () => {};
    const opened = new Promise<number>((resolve) => {
      onOpen = resolve;
    });
    const ended = new Promise<void>((resolve) => {
      onEnd = () => {
        onOpen(0);
        resolve();
      };
    });
    this.#streams.set(id, { onLine, onOpen, onEnd });
    if (!this.#send({ id, op: 'stream', url })) {
      this.#streams.delete(id);
      onEnd();
    }
    return { opened, ended, close: () => void this.#send({ id, op: 'cancel' }) };
  }

  close(): void {
    this.#child.stdin?.end();
    this.#failAll(new Error('the HTTP relay was closed'));
  }
}
