/**
 * The agent: one node run as a daemon, with its HTTP API, metrics, structured logs, join (and retry-join)
 * and a graceful shutdown. The `grapevine agent` command wraps it with the process's signals; tests and
 * embedders can run it in-process.
 *
 * Invariants: it shuts down once, whatever asks first (a signal, POST /v1/leave, stdin closing, a failed
 * join), and a graceful shutdown announces the leave before the sockets close; `done` resolves with the
 * process exit code (0 after a clean leave, 1 after a failure).
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { createAdaptorServer } from '@hono/node-server';
import { formatAddress, parseAddress } from '../runtime/address.js';
import { createNode, GrapevineError, type GrapevineNode } from '../runtime/node-api.js';
import { type AgentConfig, describeConfig } from './config.js';
import { createHttpApi } from './http-api.js';
import { type AgentLogger, logClusterEvent, startDropSummary } from './logger.js';
import { createNodeMetrics } from './metrics.js';

export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string })
  .version;

/** How long open HTTP connections (event streams) may take to finish after the node stops. */
const HTTP_CLOSE_GRACE_MS = 500;

export interface AgentInit {
  readonly config: AgentConfig;
  readonly logger: AgentLogger;
  /** Watched when `config.exitOnStdinClose` is set (the process's standard input by default). */
  readonly stdin?: Readable;
}

type HttpServer = ReturnType<typeof createAdaptorServer>;

export class Agent {
  readonly node: GrapevineNode;
  /** host:port the HTTP API listens on. */
  readonly httpAddress: string;
  /** Resolves with the exit code once the agent has stopped. */
  readonly done: Promise<number>;
  readonly #config: AgentConfig;
  readonly #logger: AgentLogger;
  readonly #server: HttpServer;
  readonly #startedAt = Date.now();
  #finish: (code: number) => void = () => {};
  #shuttingDown = false;
  #stopDropSummary: () => void = () => {};
  #retryTimer: NodeJS.Timeout | null = null;

  private constructor(init: {
    config: AgentConfig;
    logger: AgentLogger;
    node: GrapevineNode;
    server: HttpServer;
  }) {
    this.#config = init.config;
    this.#logger = init.logger;
    this.node = init.node;
    this.#server = init.server;
    const address = init.server.address() as AddressInfo;
    this.httpAddress = formatAddress(address.address, address.port);
    this.done = new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  /**
   * Creates the node, serves the HTTP API, starts gossiping and begins joining. Rejects (with a
   * GrapevineError or the listen error) when the node or the HTTP server cannot start.
   */
  static async start(init: AgentInit): Promise<Agent> {
    const { config, logger } = init;
    logger.info({ config: describeConfig(config), version: VERSION }, 'configuration loaded');
    const node = await createNode({
      name: config.name,
      bind: config.bind,
      ...(config.advertise === '' ? {} : { advertise: config.advertise }),
      join: config.join,
      clusterName: config.cluster,
      keys: config.keys,
      gossip: config.gossip,
      ...(config.dataDir === '' ? {} : { dataDir: config.dataDir }),
      logger: logger.child({ component: 'node' }),
      verdictHistorySize: config.verdictHistorySize,
    });
    let agent: Agent | null = null;
    const metrics = createNodeMetrics(node);
    const app = createHttpApi({
      node,
      metrics,
      eventBufferSize: config.eventBufferSize,
      onLeave: () => void agent?.shutdown({ graceful: true, reason: 'leave requested over HTTP' }),
      info: () => (agent === null ? {} : agent.#info()),
      onError: (error) => logger.error({ error: String(error) }, 'HTTP handler failed'),
    });
    const server = createAdaptorServer({ fetch: app.fetch });
    try {
      await listen(server, config.http);
    } catch (error) {
      await node.stop();
      throw new GrapevineError('BIND_FAILED', `cannot serve HTTP on ${config.http}: ${error}`);
    }
    agent = new Agent({ config, logger, node, server });
    agent.#run(init.stdin ?? process.stdin);
    return agent;
  }

  #run(stdin: Readable): void {
    const config = this.#config;
    this.node.on('*', (event) => logClusterEvent(this.#logger, event, this.node.verdictRecordOf(event)));
    void this.node.start();
    this.#stopDropSummary = startDropSummary(this.#logger, this.node, config.dropLogIntervalMs);
    this.#logger.info(
      {
        name: this.node.name,
        generation: this.node.generation,
        gossipAddress: this.node.address,
        httpAddress: this.httpAddress,
        cluster: this.node.clusterName,
        encrypted: config.keys.length > 0,
      },
      'agent started',
    );
    if (config.exitOnStdinClose) this.#watchStdin(stdin);
    if (config.join.length > 0) void this.#join(1);
  }

  #info(): Record<string, unknown> {
    return {
      version: VERSION,
      http: this.httpAddress,
      startedAt: new Date(this.#startedAt).toISOString(),
      uptimeMs: Date.now() - this.#startedAt,
      config: describeConfig(this.#config),
    };
  }

  /** One join attempt; on failure, another after `retryJoinIntervalMs` when retry-join is on, else exit 1. */
  async #join(attempt: number): Promise<void> {
    const config = this.#config;
    try {
      await this.node.join(config.join, { timeoutMs: config.joinTimeoutMs });
      const alive = this.node.members({ status: 'alive' }).length;
      this.#logger.info({ via: config.join, attempt, alive }, 'joined the cluster');
    } catch (error) {
      if (this.#shuttingDown) return;
      const message = error instanceof Error ? error.message : String(error);
      const exhausted = !config.retryJoin || (config.retryJoinMax > 0 && attempt >= config.retryJoinMax);
      if (exhausted) {
        this.#logger.error({ via: config.join, attempt, error: message }, 'could not join the cluster');
        await this.shutdown({ graceful: false, reason: 'join failed', code: 1 });
        return;
      }
      this.#logger.warn(
        { via: config.join, attempt, error: message, retryInMs: config.retryJoinIntervalMs },
        'join failed; retrying',
      );
      this.#retryTimer = setTimeout(() => void this.#join(attempt + 1), config.retryJoinIntervalMs);
    }
  }

  /** Leaves when standard input closes: the supervisor that holds the other end is gone. */
  #watchStdin(stdin: Readable): void {
    const onClose = () => void this.shutdown({ graceful: true, reason: 'standard input closed' });
    stdin.on('end', onClose);
    stdin.on('close', onClose);
    stdin.on('error', onClose);
    stdin.on('data', () => {});
    stdin.resume();
    this.done.then(() => {
      stdin.off('end', onClose);
      stdin.off('close', onClose);
      stdin.pause();
      (stdin as { unref?: () => void }).unref?.();
    });
  }

  /**
   * Stops the agent once: a graceful shutdown leaves the cluster first (announced, then `leaveTimeoutMs`
   * at most), otherwise the node just stops. Resolves when everything is closed.
   */
  async shutdown(options: { graceful: boolean; reason: string; code?: number }): Promise<void> {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    this.#logger.info({ reason: options.reason, graceful: options.graceful }, 'agent stopping');
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#stopDropSummary();
    if (options.graceful) await this.node.leave({ timeoutMs: this.#config.leaveTimeoutMs });
    else await this.node.stop();
    await closeServer(this.#server);
    const code = options.code ?? 0;
    this.#logger.info({ code }, 'agent stopped');
    this.#finish(code);
  }
}

function listen(server: HttpServer, address: string): Promise<void> {
  const { host, port } = parseAddress(address, { allowPortZero: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting, lets open requests finish for a moment, then cuts what remains (idle keep-alives). */
function closeServer(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    }, HTTP_CLOSE_GRACE_MS);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });
}
