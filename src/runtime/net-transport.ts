/**
 * The real network: UDP datagrams and TCP streams on one port number, over IPv4 or IPv6. It owns the two
 * sockets, every connection in flight and the counters, and keeps these invariants:
 *
 * - sending never throws: a failure (bad address, unreachable host, refused connection, full buffers) is
 *   counted in `stats` and the frame is dropped, as UDP would drop it;
 * - every buffer and set is bounded: datagrams by `datagramBytesMax`, inbound stream frames by
 *   `streamBytesMax` and `streamTimeoutMs`, inbound connections by `streamConnectionsMax`, outbound ones
 *   (streams and probes in flight) by `outboundConnectionsMax`;
 * - handlers run only on a later turn of the event loop than the call that caused them (never inside a
 *   runner step), and never after `close()`;
 * - addresses handed to handlers are `formatAddress` strings: IPv6 bracketed, IPv4-mapped IPv6 as IPv4.
 *
 * Streams carry one frame per connection: connect, write a 4-byte big-endian length and the frame, close.
 * The `from` of a stream is the connecting socket's address, whose port is ephemeral: it identifies the peer
 * host, not where to reply (the core replies to a member's advertised address).
 *
 * Probes are TCP connects: refused means nothing holds the port (the process is gone); connected means a
 * process holds it, which a SIGSTOPped process still does, since its kernel completes the handshake; no
 * answer within `probeTimeoutMs`, or any other error (EHOSTUNREACH, ENETUNREACH), is a timeout.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { lookup as lookupCallback } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { createConnection, createServer, isIP, isIPv4, type Server, type Socket } from 'node:net';
import type { ProbeOutcome } from '../core/index.js';
import { formatAddress, isWildcardHost, type ParsedAddress, parseAddress } from './address.js';
import type { Transport, TransportHandlers } from './transport.js';

export interface NetTransportOptions {
  /** Interface to bind: '127.0.0.1', '0.0.0.0', '::', '::1', or a hostname resolved once at start. */
  readonly bindHost: string;
  /** 0 picks an ephemeral port; UDP and TCP always use the same port number. */
  readonly bindPort: number;
  /** host:port peers should use; default bindHost:boundPort; required with a wildcard bindHost. */
  readonly advertiseAddress?: string;
  readonly datagramBytesMax: number;
  /** Largest stream frame sent or accepted; default 16 MiB. Larger inbound frames are dropped and counted. */
  readonly streamBytesMax?: number;
  /** How long a probe waits for a connection; default 1000 ms. */
  readonly probeTimeoutMs?: number;
  /** Bound on an outbound stream (connect and write) and on reading one inbound frame; default 10,000 ms. */
  readonly streamTimeoutMs?: number;
  /** Concurrent inbound stream connections; beyond it new ones are refused and counted. Default 128. */
  readonly streamConnectionsMax?: number;
  /** Concurrent outbound connections (streams and probes); beyond it they fail and are counted. Default 256. */
  readonly outboundConnectionsMax?: number;
}

export interface NetTransportStats {
  datagramsSent: number;
  datagramBytesSent: number;
  datagramsReceived: number;
  datagramBytesReceived: number;
  /** Datagrams the socket could not send (unreachable network, wrong address family, DNS failure). */
  datagramSendErrors: number;
  /** Datagrams not sent because they exceed `datagramBytesMax`. */
  datagramsOversizeDropped: number;
  /** Inbound datagrams dropped because they exceed `datagramBytesMax`. */
  datagramsOversizeReceived: number;
  /** Errors the UDP socket reported outside a send. */
  datagramSocketErrors: number;
  /** Outbound streams that connected. */
  streamsOpened: number;
  /** Outbound streams that failed: refused, timed out, reset, unparseable address, too many in flight. */
  streamsFailed: number;
  /** Outbound streams not sent because they exceed `streamBytesMax`. */
  streamsOversizeDropped: number;
  /** Frame bytes written by outbound streams that completed. */
  streamBytesSent: number;
  /** Inbound connections accepted (before reading their frame). */
  streamsAccepted: number;
  /** Inbound frames delivered, and their bytes. */
  streamsReceived: number;
  streamBytesReceived: number;
  /** Inbound frames refused: a length above `streamBytesMax`. */
  inboundTooLarge: number;
  /** Inbound connections refused: `streamConnectionsMax` already open. */
  inboundTooMany: number;
  /** Inbound frames not complete within `streamTimeoutMs`. */
  inboundTimeout: number;
  /** Inbound connections that ended or failed before a whole frame arrived. */
  inboundIncomplete: number;
  /** Errors the TCP listener reported (failed accepts). */
  acceptErrors: number;
  probesReachable: number;
  probesRefused: number;
  probesTimeout: number;
  /** Sends and probes to text that is not a host:port address. */
  addressesInvalid: number;
  /** Inbound datagrams and frames that arrived before `attach()`, dropped. */
  inboundBeforeAttach: number;
}

export type NetTransportErrorCode =
  | 'OPTIONS_INVALID'
  | 'ADVERTISE_REQUIRED'
  | 'ADVERTISE_INVALID'
  | 'BIND_FAILED';

/** Why a NetTransport could not start; `cause` holds the system error (EADDRINUSE, EADDRNOTAVAIL, ...). */
export class NetTransportError extends Error {
  override readonly name = 'NetTransportError';
  readonly code: NetTransportErrorCode;
  constructor(code: NetTransportErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
  }
}

const DEFAULTS = {
  streamBytesMax: 16 * 1024 * 1024,
  probeTimeoutMs: 1000,
  streamTimeoutMs: 10_000,
  streamConnectionsMax: 128,
  outboundConnectionsMax: 256,
} as const;
/** Largest UDP payload over IPv4; IPv6 allows 20 bytes more, which nothing here needs. */
const UDP_PAYLOAD_BYTES_MAX = 65_507;
/** The length prefix is 4 bytes; nothing larger than this can be framed. */
const FRAME_BYTES_MAX = 0xffff_ffff;
const LENGTH_PREFIX_BYTES = 4;
/** Attempts at finding an ephemeral port free for both TCP and UDP. */
const EPHEMERAL_BIND_ATTEMPTS = 10;
/** Parsed destination addresses kept; the cache is cleared when it fills (peers number in the thousands). */
const ADDRESS_CACHE_MAX = 4096;

type ResolvedOptions = Required<Omit<NetTransportOptions, 'advertiseAddress'>> &
  Pick<NetTransportOptions, 'advertiseAddress'>;

export function newNetTransportStats(): NetTransportStats {
  return {
    datagramsSent: 0,
    datagramBytesSent: 0,
    datagramsReceived: 0,
    datagramBytesReceived: 0,
    datagramSendErrors: 0,
    datagramsOversizeDropped: 0,
    datagramsOversizeReceived: 0,
    datagramSocketErrors: 0,
    streamsOpened: 0,
    streamsFailed: 0,
    streamsOversizeDropped: 0,
    streamBytesSent: 0,
    streamsAccepted: 0,
    streamsReceived: 0,
    streamBytesReceived: 0,
    inboundTooLarge: 0,
    inboundTooMany: 0,
    inboundTimeout: 0,
    inboundIncomplete: 0,
    acceptErrors: 0,
    probesReachable: 0,
    probesRefused: 0,
    probesTimeout: 0,
    addressesInvalid: 0,
    inboundBeforeAttach: 0,
  };
}

export class NetTransport implements Transport {
  readonly localAddress: string;
  readonly boundPort: number;
  readonly stats: NetTransportStats = newNetTransportStats();
  readonly #options: ResolvedOptions;
  readonly #udp: UdpSocket;
  readonly #server: Server;
  #handlers: TransportHandlers | null = null;
  #closing: Promise<void> | null = null;
  readonly #inbound = new Set<Socket>();
  readonly #outbound = new Set<Socket>();
  readonly #addresses = new Map<string, ParsedAddress | null>();

  /** Binds TCP and UDP on one port (retrying ephemeral ports taken by one protocol only), or rejects. */
  static async create(options: NetTransportOptions): Promise<NetTransport> {
    const resolved = resolveOptions(options);
    const bindHost = await resolveBindHost(resolved.bindHost);
    if (isWildcardHost(bindHost) && resolved.advertiseAddress === undefined) {
      throw new NetTransportError(
        'ADVERTISE_REQUIRED',
        `bindHost ${resolved.bindHost} listens on every interface, so peers cannot be told one address: ` +
          'set advertiseAddress to the host:port they should use',
      );
    }
    const { server, udp, port } = await bindBoth(bindHost, resolved.bindPort);
    try {
      const advertised = advertisedAddress(resolved.advertiseAddress, bindHost, port);
      return new NetTransport({ options: resolved, server, udp, port, localAddress: advertised });
    } catch (error) {
      await Promise.all([closeServer(server), closeUdp(udp)]);
      throw error;
    }
  }

  private constructor(init: {
    options: ResolvedOptions;
    server: Server;
    udp: UdpSocket;
    port: number;
    localAddress: string;
  }) {
    this.#options = init.options;
    this.#server = init.server;
    this.#udp = init.udp;
    this.boundPort = init.port;
    this.localAddress = init.localAddress;
    this.#udp.on('message', (message, remote) => this.#receiveDatagram(message, remote));
    this.#udp.on('error', () => this.stats.datagramSocketErrors++);
    this.#server.on('connection', (socket) => this.#accept(socket));
    this.#server.on('error', () => this.stats.acceptErrors++);
  }

  get closed(): boolean {
    return this.#closing !== null;
  }

  attach(handlers: TransportHandlers): void {
    this.#handlers = handlers;
  }

  sendDatagram(to: string, bytes: Uint8Array): void {
    if (this.closed) return;
    if (bytes.length > this.#options.datagramBytesMax) {
      this.stats.datagramsOversizeDropped++;
      return;
    }
    const target = this.#parse(to);
    if (target === null) {
      this.stats.datagramSendErrors++;
      return;
    }
    try {
      this.#udp.send(bytes, target.port, target.host, (error) => {
        if (error) {
          this.stats.datagramSendErrors++;
          return;
        }
        this.stats.datagramsSent++;
        this.stats.datagramBytesSent += bytes.length;
      });
    } catch {
      this.stats.datagramSendErrors++;
    }
  }

  sendStream(to: string, bytes: Uint8Array): void {
    if (this.closed) return;
    if (bytes.length > this.#options.streamBytesMax) {
      this.stats.streamsOversizeDropped++;
      return;
    }
    const target = this.#parse(to);
    const socket = target === null ? null : this.#connect(target, this.#options.streamTimeoutMs);
    if (socket === null) {
      this.stats.streamsFailed++;
      return;
    }
    let written = false;
    const prefix = new Uint8Array(LENGTH_PREFIX_BYTES);
    new DataView(prefix.buffer).setUint32(0, bytes.length);
    socket.once('connect', () => {
      this.stats.streamsOpened++;
      socket.write(prefix);
      socket.end(bytes);
    });
    socket.once('finish', () => {
      written = true;
      this.stats.streamBytesSent += bytes.length;
    });
    // 'close' comes exactly once, after an error, a timeout (destroy) or the peer closing its side.
    socket.once('close', () => {
      if (!written && !this.closed) this.stats.streamsFailed++;
    });
  }

  probe(to: string): void {
    if (this.closed) return;
    const target = this.#parse(to);
    const socket = target === null ? null : this.#connect(target, this.#options.probeTimeoutMs);
    if (socket === null) {
      // Not evidence either way; answered later, as every probe result is, never inside the caller's step.
      setImmediate(() => this.#probeSettled(to, 'timeout'));
      return;
    }
    let outcome: ProbeOutcome = 'timeout';
    socket.once('connect', () => {
      outcome = 'reachable';
      socket.destroy();
    });
    socket.on('error', (error) => {
      if (errorCode(error) === 'ECONNREFUSED') outcome = 'refused';
    });
    socket.once('close', () => this.#probeSettled(to, outcome));
  }

  /** Releases both sockets and every connection; no handler runs once this is called. Idempotent. */
  close(): Promise<void> {
    if (this.#closing === null) {
      this.#handlers = null;
      for (const socket of this.#inbound) socket.destroy();
      for (const socket of this.#outbound) socket.destroy();
      this.#closing = Promise.all([closeServer(this.#server), closeUdp(this.#udp)]).then(() => undefined);
    }
    return this.#closing;
  }

  // -------------------------------------------------------------------------------------------------------
  // Outbound

  /** A parsed destination, or null (counted) for text that is not an address. */
  #parse(to: string): ParsedAddress | null {
    let target = this.#addresses.get(to);
    if (target === undefined) {
      try {
        target = parseAddress(to);
      } catch {
        target = null;
      }
      if (this.#addresses.size >= ADDRESS_CACHE_MAX) this.#addresses.clear();
      this.#addresses.set(to, target);
    }
    if (target === null) this.stats.addressesInvalid++;
    return target;
  }

  /**
   * A connection attempt with a deadline, tracked so close() can destroy it; null when too many are in
   * flight. Its 'close' event always follows, whatever happens.
   */
  #connect(target: ParsedAddress, timeoutMs: number): Socket | null {
    if (this.#outbound.size >= this.#options.outboundConnectionsMax) return null;
    let socket: Socket;
    try {
      socket = createConnection({ host: target.host, port: target.port });
    } catch {
      return null;
    }
    this.#outbound.add(socket);
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('error', () => {
      // Counted by the caller's 'close' handler; a listener must exist or the error would be thrown.
    });
    socket.once('close', () => {
      clearTimeout(timer);
      this.#outbound.delete(socket);
    });
    return socket;
  }

  #probeSettled(address: string, outcome: ProbeOutcome): void {
    if (this.closed) return;
    if (outcome === 'reachable') this.stats.probesReachable++;
    else if (outcome === 'refused') this.stats.probesRefused++;
    else this.stats.probesTimeout++;
    this.#handlers?.onProbeResult(address, outcome);
  }

  // -------------------------------------------------------------------------------------------------------
  // Inbound

  #receiveDatagram(message: Buffer, remote: RemoteInfo): void {
    const handlers = this.#handlers;
    if (this.closed) return;
    if (message.length > this.#options.datagramBytesMax) {
      this.stats.datagramsOversizeReceived++;
      return;
    }
    if (handlers === null) {
      this.stats.inboundBeforeAttach++;
      return;
    }
    this.stats.datagramsReceived++;
    this.stats.datagramBytesReceived += message.length;
    // A plain Uint8Array view: handlers see the same type from every transport.
    const bytes = new Uint8Array(message.buffer, message.byteOffset, message.length);
    handlers.onDatagram(bytes, formatAddress(remote.address, remote.port));
  }

  #accept(socket: Socket): void {
    socket.on('error', () => {
      // Counted where it matters (an incomplete frame); a listener must exist or the error would be thrown.
    });
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.#inbound.size >= this.#options.streamConnectionsMax) {
      this.stats.inboundTooMany++;
      socket.destroy();
      return;
    }
    this.stats.streamsAccepted++;
    this.#inbound.add(socket);
    const from =
      socket.remoteAddress === undefined || socket.remotePort === undefined
        ? 'unknown'
        : formatAddress(socket.remoteAddress, socket.remotePort);
    const reader = new FrameReader(this.#options.streamBytesMax);
    let done = false;
    const finish = (counter: 'inboundTimeout' | 'inboundIncomplete' | 'inboundTooLarge' | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // Freed for the connection limit now, not at 'close', which comes a turn of the loop later.
      this.#inbound.delete(socket);
      if (counter !== null && !this.closed) this.stats[counter]++;
      socket.destroy();
    };
    const timer = setTimeout(() => finish('inboundTimeout'), this.#options.streamTimeoutMs);
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      const result = reader.push(chunk);
      if (result === 'too-large') finish('inboundTooLarge');
      else if (result !== null) {
        finish(null);
        this.#deliverStream(result, from);
      }
    });
    socket.once('close', () => finish('inboundIncomplete'));
  }

  #deliverStream(frame: Uint8Array, from: string): void {
    if (this.closed) return;
    if (this.#handlers === null) {
      this.stats.inboundBeforeAttach++;
      return;
    }
    this.stats.streamsReceived++;
    this.stats.streamBytesReceived += frame.length;
    this.#handlers.onStream(frame, from);
  }
}

/**
 * Reads one length-prefixed frame from a connection's chunks into a buffer allocated once, when the length
 * is known and within bounds.
 */
class FrameReader {
  readonly #bytesMax: number;
  readonly #prefix = new Uint8Array(LENGTH_PREFIX_BYTES);
  #prefixFilled = 0;
  #frame: Uint8Array | null = null;
  #frameFilled = 0;

  constructor(bytesMax: number) {
    this.#bytesMax = bytesMax;
  }

  /** The frame once complete, 'too-large' when its length is out of bounds, null while more is needed. */
  push(chunk: Uint8Array): Uint8Array | 'too-large' | null {
    let offset = 0;
    if (this.#frame === null) {
      const take = Math.min(LENGTH_PREFIX_BYTES - this.#prefixFilled, chunk.length);
      this.#prefix.set(chunk.subarray(0, take), this.#prefixFilled);
      this.#prefixFilled += take;
      offset = take;
      if (this.#prefixFilled < LENGTH_PREFIX_BYTES) return null;
      const length = new DataView(this.#prefix.buffer).getUint32(0);
      if (length > this.#bytesMax) return 'too-large';
      this.#frame = new Uint8Array(length);
    }
    const frame = this.#frame;
    // Bytes past the frame are ignored: a connection carries exactly one frame.
    const take = Math.min(frame.length - this.#frameFilled, chunk.length - offset);
    frame.set(chunk.subarray(offset, offset + take), this.#frameFilled);
    this.#frameFilled += take;
    return this.#frameFilled === frame.length ? frame : null;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Starting up

function resolveOptions(options: NetTransportOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    bindHost: options.bindHost,
    bindPort: options.bindPort,
    datagramBytesMax: options.datagramBytesMax,
    streamBytesMax: options.streamBytesMax ?? DEFAULTS.streamBytesMax,
    probeTimeoutMs: options.probeTimeoutMs ?? DEFAULTS.probeTimeoutMs,
    streamTimeoutMs: options.streamTimeoutMs ?? DEFAULTS.streamTimeoutMs,
    streamConnectionsMax: options.streamConnectionsMax ?? DEFAULTS.streamConnectionsMax,
    outboundConnectionsMax: options.outboundConnectionsMax ?? DEFAULTS.outboundConnectionsMax,
    ...(options.advertiseAddress === undefined ? {} : { advertiseAddress: options.advertiseAddress }),
  };
  const problems = [
    checkInteger('bindPort', resolved.bindPort, 0, 65_535),
    checkInteger('datagramBytesMax', resolved.datagramBytesMax, 1, UDP_PAYLOAD_BYTES_MAX),
    checkInteger('streamBytesMax', resolved.streamBytesMax, 1, FRAME_BYTES_MAX),
    checkInteger('probeTimeoutMs', resolved.probeTimeoutMs, 1, 2 ** 31 - 1),
    checkInteger('streamTimeoutMs', resolved.streamTimeoutMs, 1, 2 ** 31 - 1),
    checkInteger('streamConnectionsMax', resolved.streamConnectionsMax, 1, 1_000_000),
    checkInteger('outboundConnectionsMax', resolved.outboundConnectionsMax, 1, 1_000_000),
    resolved.bindHost.trim().length === 0 ? 'bindHost is empty' : null,
  ].filter((problem) => problem !== null);
  if (problems.length > 0) throw new NetTransportError('OPTIONS_INVALID', problems.join('; '));
  return resolved;
}

function checkInteger(name: string, value: number, min: number, max: number): string | null {
  return Number.isInteger(value) && value >= min && value <= max
    ? null
    : `${name} must be an integer from ${min} to ${max}, got ${value}`;
}

/** The bind host as an IP address: literals as given (without brackets), hostnames resolved once. */
async function resolveBindHost(host: string): Promise<string> {
  const bare = host.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) !== 0) return bare;
  try {
    return (await lookup(bare)).address;
  } catch (error) {
    throw new NetTransportError('BIND_FAILED', `cannot resolve bindHost ${host}: ${describe(error)}`, error);
  }
}

function advertisedAddress(advertise: string | undefined, bindHost: string, port: number): string {
  if (advertise === undefined) return formatAddress(bindHost, port);
  let parsed: ParsedAddress;
  try {
    parsed = parseAddress(advertise, { defaultPort: port });
  } catch (error) {
    throw new NetTransportError('ADVERTISE_INVALID', `advertiseAddress: ${describe(error)}`, error);
  }
  if (isWildcardHost(parsed.host)) {
    throw new NetTransportError(
      'ADVERTISE_INVALID',
      `advertiseAddress ${advertise} is a wildcard address; peers need one they can send to`,
    );
  }
  return formatAddress(parsed.host, parsed.port);
}

interface BoundSockets {
  readonly server: Server;
  readonly udp: UdpSocket;
  readonly port: number;
}

/**
 * Listens on TCP, then binds UDP on the port TCP got. With an ephemeral port, the UDP port may be taken by
 * someone else: then both are released and another ephemeral port is tried (memberlist does the same).
 */
async function bindBoth(host: string, port: number): Promise<BoundSockets> {
  for (let attempt = 1; ; attempt++) {
    const server = await listen(host, port);
    const boundPort = (server.address() as { port: number }).port;
    try {
      const udp = await bindUdp(host, boundPort);
      return { server, udp, port: boundPort };
    } catch (error) {
      await closeServer(server);
      const retry = port === 0 && errorCode(error) === 'EADDRINUSE' && attempt < EPHEMERAL_BIND_ATTEMPTS;
      if (!retry) throw bindError('UDP', host, boundPort, error);
    }
  }
}

function listen(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    const onError = (error: Error): void => reject(bindError('TCP', host, port, error));
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

function bindUdp(host: string, port: number): Promise<UdpSocket> {
  const family = isIP(host) === 6 ? 6 : 4;
  return new Promise((resolve, reject) => {
    const udp = createSocket({ type: family === 6 ? 'udp6' : 'udp4', lookup: lookupFor(family) });
    const onError = (error: Error): void => {
      udp.close();
      reject(error);
    };
    udp.once('error', onError);
    udp.bind({ address: host, port, exclusive: true }, () => {
      udp.off('error', onError);
      resolve(udp);
    });
  });
}

/**
 * Destination lookup for a UDP socket. An IPv6 socket (bound to '::', say) reaches IPv4 peers through
 * IPv4-mapped addresses, which the default lookup does not produce; an IPv4 socket asks for IPv4 only.
 */
function lookupFor(family: 4 | 6) {
  return (
    hostname: string,
    _options: unknown,
    callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void,
  ): void => {
    lookupCallback(hostname, { family: family === 4 ? 4 : 0 }, (error, address, found) => {
      if (error !== null) callback(error, '', 0);
      else if (family === 6 && isIPv4(address)) callback(null, `::ffff:${address}`, 6);
      else callback(null, address, found);
    });
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => resolve());
  });
}

function closeUdp(udp: UdpSocket): Promise<void> {
  return new Promise((resolve) => {
    try {
      udp.close(() => resolve());
    } catch {
      resolve(); // Already closed.
    }
  });
}

function bindError(protocol: string, host: string, port: number, error: unknown): NetTransportError {
  return new NetTransportError(
    'BIND_FAILED',
    `cannot bind ${protocol} ${formatAddress(host, port)}: ${describe(error)}`,
    error,
  );
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code } = error as { code?: unknown };
  if (typeof code === 'string') return code;
  if (error instanceof NetTransportError) return errorCode(error.cause);
  // A connect that tried several addresses (IPv6 and IPv4 of a hostname) fails with an AggregateError.
  if (error instanceof AggregateError && error.errors.length > 0) {
    const codes = new Set(error.errors.map(errorCode));
    return codes.size === 1 ? [...codes][0] : undefined;
  }
  return undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = errorCode(error);
    return code === undefined || error.message.includes(code) ? error.message : `${error.message} (${code})`;
  }
  return String(error);
}
