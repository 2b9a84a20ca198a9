/**
 * The agent's HTTP API (hono): members and their state, this node's keys, join and leave, a server-sent
 * event stream, the verdict history, live rotation of the encryption keyring, /metrics and a health check.
 * Routes are thin: they validate the request, call the node's public API, and turn the answer into JSON.
 *
 * Invariants: the server never crashes on input (malformed JSON, unknown parameters, oversize bodies and
 * refused commands all become a 4xx with `{ "error": { "code", "message" } }`); every event-stream client has
 * a bounded buffer, and one that falls behind receives an `events-dropped` event instead of growing memory;
 * no answer, error or log line contains key material (keys are shown by fingerprint).
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { CLUSTER_EVENT_TYPES, type ClusterEventType, type MemberView } from '../core/index.js';
import { AddressError, parseAddress } from '../runtime/address.js';
import {
  GrapevineError,
  type GrapevineNode,
  type MemberDetails,
  type MemberFilter,
  type NodeEvent,
  VERDICT_HISTORY_SIZE_MAX,
} from '../runtime/node-api.js';
import { MEMBER_STATUSES, type MemberStatus } from '../wire/index.js';
import type { NodeMetrics } from './metrics.js';

export interface HttpApiOptions {
  readonly node: GrapevineNode;
  readonly metrics?: NodeMetrics;
  /** What POST /v1/leave does; by default the node leaves (an agent also exits). */
  readonly onLeave?: () => void;
  /** Extra fields for GET /v1/info (the agent's configuration, addresses, version). */
  readonly info?: () => Record<string, unknown>;
  /** Events buffered per event-stream client. */
  readonly eventBufferSize?: number;
  /** Milliseconds between keep-alive comments on idle event streams. */
  readonly keepAliveMs?: number;
  /** Called with unexpected errors (they become a 500). */
  readonly onError?: (error: unknown) => void;
}

const REQUEST_BYTES_MAX = 256 * 1024;
const JOIN_ADDRESSES_MAX = 64;
const JOIN_TIMEOUT_MS_MAX = 120_000;

class RequestProblem extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  constructor(status: ContentfulStatusCode, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** HTTP status for each error code the node can raise. */
const STATUS_OF_CODE: Readonly<Record<string, ContentfulStatusCode>> = {
  KEY_INVALID: 400,
  VALUE_TOO_LARGE: 413,
  KEYS_FULL: 507,
  OPTIONS_INVALID: 400,
  JOIN_TIMEOUT: 504,
  NOT_RUNNING: 409,
  NOT_STARTED: 409,
  STOPPED: 409,
  KEYRING_DISABLED: 409,
  KEYRING_EMPTY: 400,
  KEYRING_FULL: 409,
  KEY_NOT_BASE64: 400,
  KEY_WRONG_LENGTH: 400,
  KEY_DUPLICATE: 409,
  KEY_NOT_INSTALLED: 404,
  KEY_IS_PRIMARY: 409,
};

const KEYRING_OPERATIONS = ['install', 'use', 'remove'] as const;
/** Records shown with one member in GET /v1/members/:name (the full history is GET /v1/verdicts). */
const MEMBER_VERDICTS_SHOWN = 10;

// ---------------------------------------------------------------------------------------------------------
// JSON shapes

export interface MemberJson {
  readonly name: string;
  readonly address: string;
  readonly status: MemberStatus;
  readonly generation: number;
  readonly heartbeat: number;
  readonly version: number;
  readonly self: boolean;
  /** Wall-clock time of the last status change, ISO 8601. */
  readonly statusChangedAt: string;
  readonly verdict: { accuser: string; reason: string; phi: number; silenceMs: number } | null;
}

export function memberJson(node: GrapevineNode, member: MemberView): MemberJson {
  return {
    name: member.name,
    address: member.address,
    status: member.status,
    generation: member.generation,
    heartbeat: member.heartbeat,
    version: member.maxVersion,
    self: member.isSelf,
    statusChangedAt: new Date(node.wallClockOf(member.statusChangedAtMs)).toISOString(),
    verdict:
      member.verdict === null
        ? null
        : {
            accuser: member.verdict.accuser,
            reason: member.verdict.reason,
            phi: member.verdict.phiHundredths / 100,
            silenceMs: member.verdict.silenceMs,
          },
  };
}

/** One member for operators: its view, its detector's numbers with the thresholds, its keys and verdicts. */
export function memberDetailsJson(node: GrapevineNode, details: MemberDetails): Record<string, unknown> {
  const { probePhi, suspectPhi, downPhi } = node.options;
  return {
    ...memberJson(node, details.member),
    // The thresholds give phi its meaning: a watcher probes, then suspects; anyone convicts at downPhi.
    detector:
      details.detector === null
        ? null
        : { ...details.detector, thresholds: { probePhi, suspectPhi, downPhi } },
    keys: details.keys,
    verdicts: node.verdicts({ member: details.member.name, limit: MEMBER_VERDICTS_SHOWN }),
  };
}

/**
 * An event as JSON; a member event carries `change`, the verdict history's record of it (from which status,
 * at what heartbeat, why), or null for events that are not status changes (a healthy join, a reap).
 */
export function eventJson(node: GrapevineNode, event: NodeEvent): Record<string, unknown> {
  const at = new Date(node.wallClockOf(event.atMs)).toISOString();
  if (event.type === 'events-dropped' || event.type === 'key-updated') {
    const { atMs: _atMs, ...rest } = event;
    return { ...rest, at };
  }
  const { atMs: _atMs, member, ...rest } = event;
  return { ...rest, at, member: memberJson(node, member), change: node.verdictRecordOf(event) ?? null };
}

// ---------------------------------------------------------------------------------------------------------
// Request parsing

function parseStatuses(text: string | undefined): MemberStatus[] | undefined {
  if (text === undefined || text === '') return undefined;
  const statuses = text.split(',').map((item) => item.trim());
  for (const status of statuses) {
    if (!MEMBER_STATUSES.includes(status as MemberStatus)) {
      throw new RequestProblem(
        400,
        'BAD_REQUEST',
        `status must be one of ${MEMBER_STATUSES.join(', ')}, got "${status}"`,
      );
    }
  }
  return statuses as MemberStatus[];
}

/** `key=k` (members holding k) or `key=k=v` (holding k with value v). */
function parseKeyFilter(text: string | undefined): Pick<MemberFilter, 'key' | 'value'> {
  if (text === undefined || text === '') return {};
  const separator = text.indexOf('=');
  if (separator < 0) return { key: text };
  if (separator === 0) throw new RequestProblem(400, 'BAD_REQUEST', 'key filter must be key or key=value');
  return { key: text.slice(0, separator), value: text.slice(separator + 1) };
}

function parseTypes(text: string | undefined): ClusterEventType[] | undefined {
  if (text === undefined || text === '') return undefined;
  const types = text.split(',').map((item) => item.trim());
  for (const type of types) {
    if (!CLUSTER_EVENT_TYPES.includes(type as ClusterEventType)) {
      throw new RequestProblem(
        400,
        'BAD_REQUEST',
        `types must be among ${CLUSTER_EVENT_TYPES.join(', ')}, got "${type}"`,
      );
    }
  }
  return types as ClusterEventType[];
}

function parseJoinBody(body: unknown): { addresses: string[]; timeoutMs: number | undefined } {
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const { addresses, timeoutMs } = record;
  if (
    !Array.isArray(addresses) ||
    addresses.length === 0 ||
    addresses.length > JOIN_ADDRESSES_MAX ||
    addresses.some((address) => typeof address !== 'string')
  ) {
    throw new RequestProblem(
      400,
      'BAD_REQUEST',
      `body must be {"addresses": [1 to ${JOIN_ADDRESSES_MAX} "host:port"]}`,
    );
  }
  for (const address of addresses as string[]) {
    try {
      parseAddress(address);
    } catch (error) {
      throw new RequestProblem(
        400,
        'BAD_REQUEST',
        error instanceof AddressError ? error.message : String(error),
      );
    }
  }
  if (
    timeoutMs !== undefined &&
    !(
      Number.isInteger(timeoutMs) &&
      (timeoutMs as number) >= 0 &&
      (timeoutMs as number) <= JOIN_TIMEOUT_MS_MAX
    )
  ) {
    throw new RequestProblem(
      400,
      'BAD_REQUEST',
      `timeoutMs must be an integer from 0 to ${JOIN_TIMEOUT_MS_MAX}`,
    );
  }
  return { addresses: addresses as string[], timeoutMs: timeoutMs as number | undefined };
}

/** `{"key": "<base64>"}`; the key's text is never echoed back, even when it is malformed. */
function parseKeyBody(body: unknown): string {
  const key = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).key : undefined;
  if (typeof key !== 'string') {
    throw new RequestProblem(400, 'BAD_REQUEST', 'body must be {"key": "<base64 key>"}');
  }
  return key;
}

function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const limit = Number(text);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > VERDICT_HISTORY_SIZE_MAX) {
    throw new RequestProblem(
      400,
      'BAD_REQUEST',
      `limit must be an integer from 1 to ${VERDICT_HISTORY_SIZE_MAX}, got "${text}"`,
    );
  }
  return limit;
}

async function jsonBody(request: { json(): Promise<unknown> }, shape: string): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    throw new RequestProblem(400, 'BAD_REQUEST', `body must be JSON: ${shape}`);
  }
}

function memberCounts(node: GrapevineNode): Record<MemberStatus, number> {
  const counts = Object.fromEntries(MEMBER_STATUSES.map((status) => [status, 0])) as Record<
    MemberStatus,
    number
  >;
  for (const member of node.members()) counts[member.status]++;
  return counts;
}

// ---------------------------------------------------------------------------------------------------------
// The app

export function createHttpApi(options: HttpApiOptions): Hono {
  const { node } = options;
  const app = new Hono();
  const leave = options.onLeave ?? (() => void node.leave());

  app.onError((error, c) => {
    if (error instanceof RequestProblem) {
      return c.json({ error: { code: error.code, message: error.message } }, error.status);
    }
    if (error instanceof GrapevineError) {
      return c.json(
        { error: { code: error.code, message: error.message } },
        STATUS_OF_CODE[error.code] ?? 400,
      );
    }
    options.onError?.(error);
    return c.json({ error: { code: 'INTERNAL', message: 'internal error' } }, 500);
  });
  app.notFound((c) =>
    c.json({ error: { code: 'NOT_FOUND', message: `no route for ${c.req.method} ${c.req.path}` } }, 404),
  );
  app.use(
    '*',
    bodyLimit({
      maxSize: REQUEST_BYTES_MAX,
      onError: (c) =>
        c.json(
          { error: { code: 'BODY_TOO_LARGE', message: `bodies are at most ${REQUEST_BYTES_MAX} bytes` } },
          413,
        ),
    }),
  );

  app.get('/v1/members', (c) => {
    const status = parseStatuses(c.req.query('status'));
    const filter: MemberFilter = {
      ...parseKeyFilter(c.req.query('key')),
      ...(status === undefined ? {} : { status }),
    };
    return c.json(node.members(filter).map((member) => memberJson(node, member)));
  });

  app.get('/v1/members/:name', (c) => {
    const details = node.inspect(c.req.param('name'));
    if (details === undefined)
      throw new RequestProblem(404, 'MEMBER_UNKNOWN', `no member named "${c.req.param('name')}"`);
    return c.json(memberDetailsJson(node, details));
  });

  app.get('/v1/verdicts', (c) => {
    const member = c.req.query('member');
    const limit = parseLimit(c.req.query('limit'));
    return c.json(
      node.verdicts({
        ...(member === undefined || member === '' ? {} : { member }),
        ...(limit === undefined ? {} : { limit }),
      }),
    );
  });

  app.get('/v1/keys', (c) => {
    const keys = node.keyring.list();
    return c.json({ primary: keys[0]?.fingerprint ?? null, keys });
  });

  app.post('/v1/keys/:operation', async (c) => {
    const operation = c.req.param('operation') as (typeof KEYRING_OPERATIONS)[number];
    if (!KEYRING_OPERATIONS.includes(operation)) {
      throw new RequestProblem(404, 'NOT_FOUND', `no route for POST ${c.req.path}`);
    }
    const key = parseKeyBody(await jsonBody(c.req, '{"key": "<base64 key>"}'));
    const answer = node.keyring[operation](key);
    return c.json({
      operation,
      changed: answer.changed,
      primary: answer.keys[0]?.fingerprint,
      keys: answer.keys,
    });
  });

  app.get('/v1/kv/:member/:key{.+}', (c) => {
    const owner = c.req.param('member');
    const key = c.req.param('key');
    const keys = node.keys(owner);
    if (keys === undefined) throw new RequestProblem(404, 'MEMBER_UNKNOWN', `no member named "${owner}"`);
    const entry = keys.get(key);
    if (entry === undefined) throw new RequestProblem(404, 'KEY_NOT_FOUND', `${owner} has no key "${key}"`);
    return c.json({ owner, key, value: entry.value, version: entry.version });
  });

  app.put('/v1/kv/:key{.+}', async (c) => {
    const key = c.req.param('key');
    const value = await c.req.text();
    node.set(key, value);
    const entry = node.keys(node.name)?.get(key);
    return c.json({ owner: node.name, key, value, version: entry?.version ?? 0 });
  });

  app.delete('/v1/kv/:key{.+}', (c) => {
    const key = c.req.param('key');
    const existed = node.get(node.name, key) !== undefined;
    node.delete(key);
    return c.json({ owner: node.name, key, deleted: existed });
  });

  app.post('/v1/join', async (c) => {
    const body = await jsonBody(c.req, '{"addresses": ["host:port"]}');
    const { addresses, timeoutMs } = parseJoinBody(body);
    await node.join(addresses, timeoutMs === undefined ? {} : { timeoutMs });
    return c.json({ joined: true, members: memberCounts(node) });
  });

  app.post('/v1/leave', (c) => {
    if (node.phase !== 'running') throw new RequestProblem(409, 'NOT_RUNNING', `node is ${node.phase}`);
    // Answer first: the leave stops the node (and an agent exits) a moment later.
    setImmediate(leave);
    return c.json({ leaving: true }, 202);
  });

  app.get('/v1/events', (c) => {
    const types = parseTypes(c.req.query('types'));
    // Subscribe before answering, so a client that has the response headers misses nothing after them.
    const events = node.events({
      bufferSize: options.eventBufferSize ?? 1024,
      ...(types === undefined ? {} : { types }),
    });
    return streamSSE(c, async (stream) => {
      const keepAlive = setInterval(
        () => void stream.write(': keep-alive\n\n'),
        options.keepAliveMs ?? 15_000,
      );
      stream.onAbort(() => {
        void events.return?.();
      });
      try {
        await stream.write(': subscribed\n\n');
        let sequence = 0;
        for await (const event of events) {
          if (stream.aborted) break;
          await stream.writeSSE({
            event: event.type,
            id: String(++sequence),
            data: JSON.stringify(eventJson(node, event)),
          });
        }
      } finally {
        clearInterval(keepAlive);
        void events.return?.();
      }
    });
  });

  app.get('/v1/info', (c) => {
    const stats = node.stats();
    return c.json({
      name: node.name,
      address: node.address,
      generation: node.generation,
      cluster: node.clusterName,
      phase: node.phase,
      self: memberJson(node, node.self),
      members: memberCounts(node),
      drops: stats.runner.drops,
      counters: stats.core,
      runner: stats.runner,
      received: stats.received,
      transport: stats.transport,
      loop: stats.loop,
      keyring: node.encrypted
        ? { keys: stats.keyringKeys, primary: node.keyring.list()[0]?.fingerprint ?? null }
        : null,
      statusChanges: stats.statusChanges,
      ...options.info?.(),
    });
  });

  app.get('/v1/health', (c) => {
    const healthy = node.phase === 'running';
    return c.json(
      { status: healthy ? 'ok' : 'unavailable', phase: node.phase, members: memberCounts(node) },
      healthy ? 200 : 503,
    );
  });

  app.get('/metrics', async (c) => {
    if (options.metrics === undefined) throw new RequestProblem(404, 'NOT_FOUND', 'metrics are not enabled');
    const text = await options.metrics.render();
    return c.body(text, 200, { 'Content-Type': options.metrics.contentType });
  });

  return app;
}
