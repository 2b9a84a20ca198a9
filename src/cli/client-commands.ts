/**
 * The client commands: `members`, `join`, `leave`, `kv get|set|delete|watch`, `monitor`, `info`, `verdicts`
 * and `keys list|install|use|remove` talk to a running agent over its HTTP API (--http HOST:PORT, default
 * $GRAPEVINE_HTTP or 127.0.0.1:7947).
 *
 * Invariant: every failure is one clear line on stderr and a nonzero exit code, never a stack trace: an
 * unreachable agent says where it looked and how to point elsewhere; an error the agent returns is shown
 * with its code. Streaming commands (`kv watch`, `monitor`) run until Ctrl-C, which exits 0. Encryption keys
 * are sent to the agent, never printed: output shows fingerprints.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseAddress } from '../runtime/address.js';
import type { KeyFingerprint, VerdictRecord } from '../runtime/node-api.js';
import { keyFingerprint } from '../runtime/node-api.js';

const DEFAULT_HTTP = '127.0.0.1:7947';

export class ClientError extends Error {
  override readonly name = 'ClientError';
}

interface HttpFlags {
  http: string;
}

function httpOption(): Option {
  return new Option('--http <host:port>', 'HTTP address of the agent [$GRAPEVINE_HTTP]')
    .default(process.env.GRAPEVINE_HTTP ?? DEFAULT_HTTP)
    .argParser((value) => {
      try {
        parseAddress(value);
      } catch (error) {
        throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
      }
      return value;
    });
}

function baseUrl(http: string): string {
  return `http://${http}`;
}

/** One request to the agent; returns the parsed JSON body or throws a ClientError that says what to do. */
export async function callAgent(
  http: string,
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  path: string,
  body?: string,
): Promise<unknown> {
  const response = await reach(http, `${baseUrl(http)}${path}`, {
    method,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (metrics text, a proxy's error page): keep the text.
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } }).error;
    const detail = error === undefined ? text.slice(0, 200) : `${error.message} (${error.code})`;
    throw new ClientError(`the agent answered ${response.status}: ${detail}`);
  }
  return parsed;
}

async function reach(http: string, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? String(error);
    throw new ClientError(
      `cannot reach the agent at ${http} (${reason}): is \`grapevine agent\` running? ` +
        'Point --http or GRAPEVINE_HTTP at its HTTP address.',
    );
  }
}

/** Runs a command body, turning a ClientError into a message and exit code 1. */
function run(body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      process.stderr.write(`grapevine: ${error.message}\n`);
      process.exitCode = 1;
    }
  };
}

// ---------------------------------------------------------------------------------------------------------
// Output helpers

/** Columns padded to their widest cell. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

interface MemberJson {
  name: string;
  address: string;
  status: string;
  generation: number;
  self: boolean;
  verdict: { accuser: string; reason: string; phi: number; silenceMs: number } | null;
}

export function describeVerdict(verdict: MemberJson['verdict']): string {
  if (verdict === null) return '';
  if (verdict.reason === 'left') return 'left gracefully';
  const why = verdict.reason === 'refused' ? 'connection refused' : `phi ${verdict.phi.toFixed(1)}`;
  return `by ${verdict.accuser}: ${why} after ${(verdict.silenceMs / 1000).toFixed(1)} s of silence`;
}

const REFUTED_NAMES: Readonly<Record<string, string>> = {
  suspect: 'the suspicion',
  down: 'the down verdict',
  left: 'the leave',
};

/** Why a status change happened, in words: the verdict's provenance, the refutation, or the restart. */
export function describeChange(record: VerdictRecord): string {
  if (record.previousGeneration !== null) {
    return `restarted: generation ${record.generation} replaces ${record.previousGeneration}`;
  }
  if (record.refuted !== null) {
    const refuted = record.refuted;
    const what = REFUTED_NAMES[refuted.status] ?? refuted.status;
    const at = refuted.verdictHeartbeat === null ? '' : ` at heartbeat ${refuted.verdictHeartbeat}`;
    const by = refuted.verdict === null ? '' : ` (${describeVerdict(refuted.verdict)})`;
    return `heartbeat ${refuted.heartbeat} refuted ${what}${at}${by}`;
  }
  if (record.to === 'alive') return '';
  if (record.verdict === null) return 'no provenance received';
  const first = record.from === null ? `already ${record.to} when first heard of: ` : '';
  return `${first}${describeVerdict(record.verdict)}`;
}

/** The verdict history as a table: time (UTC), member, from -> to, and why. */
export function formatVerdicts(records: readonly VerdictRecord[]): string {
  const rows = records.map((record) => [
    record.at.slice(11, 23),
    record.member,
    `${record.from ?? '(new)'} -> ${record.to}`,
    describeChange(record),
  ]);
  return formatTable(['TIME', 'MEMBER', 'CHANGE', 'WHY'], rows);
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

// ---------------------------------------------------------------------------------------------------------
// Server-sent events

export interface StreamedEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
}

/** Reads the agent's event stream until Ctrl-C (exit 0) or until the agent goes away (exit 1). */
async function streamEvents(
  http: string,
  types: string | undefined,
  onEvent: (event: StreamedEvent) => void,
) {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const query = types === undefined ? '' : `?types=${encodeURIComponent(types)}`;
    const response = await reach(http, `${baseUrl(http)}/v1/events${query}`, { signal: controller.signal });
    if (!response.ok || response.body === null) {
      throw new ClientError(`the agent answered ${response.status}: ${await response.text()}`);
    }
    await readEvents(response.body, onEvent);
    if (!controller.signal.aborted) throw new ClientError('the agent closed the event stream (it stopped)');
  } catch (error) {
    if (controller.signal.aborted) return;
    throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** Parses a text/event-stream body: blocks separated by a blank line, `event:` and `data:` fields. */
export async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: StreamedEvent) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
    let boundary = pending.indexOf('\n\n');
    while (boundary >= 0) {
      const block = pending.slice(0, boundary);
      pending = pending.slice(boundary + 2);
      const event = parseBlock(block);
      if (event !== null) onEvent(event);
      boundary = pending.indexOf('\n\n');
    }
  }
}

function parseBlock(block: string): StreamedEvent | null {
  let type = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) type = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return null;
  try {
    return { type, data: JSON.parse(data.join('\n')) as Record<string, unknown> };
  } catch {
    return null;
  }
}

function eventLine(event: StreamedEvent): string {
  const data = event.data;
  const at = typeof data.at === 'string' ? data.at.slice(11, 23) : '';
  if (event.type === 'key-updated') {
    const value = data.value === null ? '(deleted)' : JSON.stringify(data.value);
    return `${at}  ${event.type.padEnd(16)} ${data.owner} ${data.key} = ${value} (v${data.version})`;
  }
  if (event.type === 'events-dropped')
    return `${at}  ${event.type.padEnd(16)} ${data.count} events dropped (too slow)`;
  const member = data.member as MemberJson | undefined;
  if (member === undefined) return `${at}  ${event.type}`;
  const change = data.change as VerdictRecord | null | undefined;
  const verdict =
    change !== null && change !== undefined && change.refuted !== null
      ? describeChange(change)
      : describeVerdict(member.verdict);
  return `${at}  ${event.type.padEnd(16)} ${member.name} ${member.address} gen ${member.generation}${verdict === '' ? '' : `  ${verdict}`}`;
}

// ---------------------------------------------------------------------------------------------------------
// Commands

interface MembersFlags extends HttpFlags {
  json: boolean;
  status?: string;
  key?: string;
}

function registerMembers(program: Command): void {
  program
    .command('members')
    .description('List the members the agent knows, with their status')
    .addOption(httpOption())
    .option('--status <statuses>', 'only these statuses, comma-separated (alive, suspect, down, left)')
    .option('--key <key[=value]>', 'only members holding this key (with this value)')
    .option('--json', 'print a JSON array', false)
    .action((flags: MembersFlags) =>
      run(async () => {
        const query = new URLSearchParams();
        if (flags.status !== undefined) query.set('status', flags.status);
        if (flags.key !== undefined) query.set('key', flags.key);
        const suffix = query.size > 0 ? `?${query}` : '';
        const members = (await callAgent(flags.http, 'GET', `/v1/members${suffix}`)) as MemberJson[];
        if (flags.json) {
          print(JSON.stringify(members, null, 2));
          return;
        }
        const rows = members.map((member) => [
          member.self ? `${member.name} (self)` : member.name,
          member.address,
          member.status,
          String(member.generation),
          describeVerdict(member.verdict),
        ]);
        print(formatTable(['NAME', 'ADDRESS', 'STATUS', 'GENERATION', 'VERDICT'], rows));
      })(),
    );
}

function registerJoinAndLeave(program: Command): void {
  program
    .command('join')
    .description('Ask the agent to join a cluster through one or more of its members')
    .argument('<addresses...>', 'host:port of members')
    .addOption(httpOption())
    .option('--timeout-ms <ms>', 'how long to wait for a member to answer', '10000')
    .action((addresses: string[], flags: HttpFlags & { timeoutMs: string }) =>
      run(async () => {
        const body = JSON.stringify({ addresses, timeoutMs: Number(flags.timeoutMs) });
        const answer = (await callAgent(flags.http, 'POST', '/v1/join', body)) as {
          members: Record<string, number>;
        };
        print(`joined: ${answer.members.alive ?? 0} members alive`);
      })(),
    );
  program
    .command('leave')
    .description('Ask the agent to leave the cluster gracefully and exit')
    .addOption(httpOption())
    .action((flags: HttpFlags) =>
      run(async () => {
        await callAgent(flags.http, 'POST', '/v1/leave');
        print('leaving: the agent announces its departure and exits');
      })(),
    );
}

function keyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

function registerKv(program: Command): void {
  const kv = program.command('kv').description("Read any member's keys; set, delete and watch keys");
  kv.command('get')
    .description("Print the value of a member's key")
    .argument('<node>', 'member name')
    .argument('<key>', 'key')
    .addOption(httpOption())
    .option('--json', 'print owner, key, value and version as JSON', false)
    .action((node: string, key: string, flags: HttpFlags & { json: boolean }) =>
      run(async () => {
        const path = `/v1/kv/${encodeURIComponent(node)}/${keyPath(key)}`;
        const entry = (await callAgent(flags.http, 'GET', path)) as { value: string };
        print(flags.json ? JSON.stringify(entry) : entry.value);
      })(),
    );
  kv.command('set')
    .description("Set a key of the agent's own state (it spreads to every member)")
    .argument('<key>', 'key')
    .argument('<value>', 'value')
    .addOption(httpOption())
    .action((key: string, value: string, flags: HttpFlags) =>
      run(async () => {
        const entry = (await callAgent(flags.http, 'PUT', `/v1/kv/${keyPath(key)}`, value)) as {
          version: number;
        };
        print(`set ${key} (version ${entry.version})`);
      })(),
    );
  kv.command('delete')
    .description("Delete a key of the agent's own state")
    .argument('<key>', 'key')
    .addOption(httpOption())
    .action((key: string, flags: HttpFlags) =>
      run(async () => {
        const answer = (await callAgent(flags.http, 'DELETE', `/v1/kv/${keyPath(key)}`)) as {
          deleted: boolean;
        };
        print(answer.deleted ? `deleted ${key}` : `${key} did not exist`);
      })(),
    );
  kv.command('watch')
    .description('Print every change of keys starting with PREFIX, on any member, until Ctrl-C')
    .argument('[prefix]', 'key prefix', '')
    .addOption(httpOption())
    .option('--json', 'print one JSON object per change', false)
    .action((prefix: string, flags: HttpFlags & { json: boolean }) =>
      run(() =>
        streamEvents(flags.http, 'key-updated', (event) => {
          const key = event.data.key;
          if (event.type === 'key-updated' && typeof key === 'string' && !key.startsWith(prefix)) return;
          print(flags.json ? JSON.stringify({ type: event.type, ...event.data }) : eventLine(event));
        }),
      )(),
    );
}

function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description('Print cluster events as they happen, until Ctrl-C')
    .addOption(httpOption())
    .option('--types <types>', 'only these event types, comma-separated (member-down,key-updated,...)')
    .option('--json', 'print one JSON object per event', false)
    .action((flags: HttpFlags & { types?: string; json: boolean }) =>
      run(() =>
        streamEvents(flags.http, flags.types, (event) => {
          print(flags.json ? JSON.stringify({ type: event.type, ...event.data }) : eventLine(event));
        }),
      )(),
    );
}

interface InfoJson {
  name: string;
  address: string;
  generation: number;
  cluster: string;
  phase: string;
  version?: string;
  http?: string;
  uptimeMs?: number;
  members: Record<string, number>;
  drops: Record<string, number>;
  counters: Record<string, number>;
  loop: { lagMsP99: number; lagMsMax: number; stalls: number } | null;
  keyring?: { keys: number; primary: string | null } | null;
}

function registerInfo(program: Command): void {
  program
    .command('info')
    .description('Show the agent: identity, members by status, counters, drops')
    .addOption(httpOption())
    .option('--json', 'print the full JSON answer', false)
    .action((flags: HttpFlags & { json: boolean }) =>
      run(async () => {
        const info = (await callAgent(flags.http, 'GET', '/v1/info')) as InfoJson;
        if (flags.json) {
          print(JSON.stringify(info, null, 2));
          return;
        }
        const drops = Object.entries(info.drops).map(([reason, count]) => `${reason} ${count}`);
        const rows: [string, string][] = [
          ['name', info.name],
          ['address', info.address],
          ['generation', String(info.generation)],
          ['cluster', info.cluster],
          ['phase', info.phase],
          ['version', info.version ?? ''],
          ['uptime', info.uptimeMs === undefined ? '' : `${Math.round(info.uptimeMs / 1000)} s`],
          [
            'members',
            Object.entries(info.members)
              .map(([status, count]) => `${status} ${count}`)
              .join(', '),
          ],
          ['gossip rounds', String(info.counters.rounds ?? 0)],
          ['dropped frames', drops.length === 0 ? 'none' : drops.join(', ')],
          [
            'keyring',
            info.keyring === null || info.keyring === undefined
              ? 'not encrypted'
              : `${info.keyring.keys} key(s), primary ${info.keyring.primary}`,
          ],
          [
            'event-loop lag',
            info.loop === null
              ? ''
              : `p99 ${info.loop.lagMsP99.toFixed(1)} ms, max ${info.loop.lagMsMax.toFixed(1)} ms, ${info.loop.stalls} stalls`,
          ],
        ];
        print(rows.map(([label, value]) => `${label.padEnd(16)}${value}`).join('\n'));
      })(),
    );
}

interface VerdictsFlags extends HttpFlags {
  member?: string;
  limit?: string;
  json: boolean;
}

function registerVerdicts(program: Command): void {
  program
    .command('verdicts')
    .description('Show the status changes the agent observed, and why: who suspected whom, phi, refutations')
    .addOption(httpOption())
    .option('--member <name>', 'only this member')
    .option('--limit <n>', 'only the most recent n changes')
    .option('--json', 'print a JSON array of records', false)
    .action((flags: VerdictsFlags) =>
      run(async () => {
        const query = new URLSearchParams();
        if (flags.member !== undefined) query.set('member', flags.member);
        if (flags.limit !== undefined) query.set('limit', flags.limit);
        const suffix = query.size > 0 ? `?${query}` : '';
        const records = (await callAgent(flags.http, 'GET', `/v1/verdicts${suffix}`)) as VerdictRecord[];
        if (flags.json) print(JSON.stringify(records, null, 2));
        else if (records.length === 0) print('no status changes recorded');
        else print(formatVerdicts(records));
      })(),
    );
}

interface KeysAnswer {
  changed: boolean;
  primary: string | null;
  keys: KeyFingerprint[];
}

/** The key argument; "-" reads it from standard input, which keeps it out of `ps` and the shell history. */
async function readKeyArgument(key: string): Promise<string> {
  if (key !== '-') return key;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

const KEY_OPERATIONS = {
  install: {
    description: 'Install a key on the agent: it decrypts with it from now on (step 1 of a rotation)',
    done: (fingerprint: string, answer: KeysAnswer) =>
      answer.changed ? `installed ${fingerprint}` : `${fingerprint} was already installed`,
  },
  use: {
    description: 'Make an installed key the primary: the agent encrypts with it from now on (step 2)',
    done: (fingerprint: string, answer: KeysAnswer) =>
      answer.changed ? `primary is now ${fingerprint}` : `${fingerprint} was already the primary`,
  },
  remove: {
    description: 'Remove a key that is not the primary: frames sealed with it are refused (step 3)',
    done: (fingerprint: string) => `removed ${fingerprint}`,
  },
} as const;

function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description("Rotate the agent's encryption keys live: list, install, use, remove (one agent at a time)");
  keys
    .command('list')
    .description('List the installed keys by fingerprint, the primary first (never the keys themselves)')
    .addOption(httpOption())
    .option('--json', 'print the JSON answer', false)
    .action((flags: HttpFlags & { json: boolean }) =>
      run(async () => {
        const answer = (await callAgent(flags.http, 'GET', '/v1/keys')) as KeysAnswer;
        if (flags.json) {
          print(JSON.stringify(answer, null, 2));
          return;
        }
        const rows = answer.keys.map((key) => [key.fingerprint, key.primary ? 'primary' : '']);
        print(formatTable(['FINGERPRINT', 'ROLE'], rows));
      })(),
    );
  for (const [operation, text] of Object.entries(KEY_OPERATIONS)) {
    keys
      .command(operation)
      .description(text.description)
      .argument('<key>', 'the key in base64, or - to read it from standard input')
      .addOption(httpOption())
      .action((key: string, flags: HttpFlags) =>
        run(async () => {
          const value = await readKeyArgument(key);
          const body = JSON.stringify({ key: value });
          const answer = (await callAgent(flags.http, 'POST', `/v1/keys/${operation}`, body)) as KeysAnswer;
          const count = `${answer.keys.length} key(s) installed, primary ${answer.primary}`;
          print(`${text.done(keyFingerprint(value), answer)} (${count})`);
        })(),
      );
  }
}

export function registerClientCommands(program: Command): void {
  registerMembers(program);
  registerJoinAndLeave(program);
  registerKv(program);
  registerMonitor(program);
  registerInfo(program);
  registerVerdicts(program);
  registerKeys(program);
}
