/**
 * Proves that every transport keeps the one Transport contract the runner relies on: one suite of
 * behaviours (datagram round trip with a usable sender address, oversize datagrams dropped and counted, a
 * 1 MiB stream, failed streams and probe outcomes, exclusive addresses released by close, no handler after
 * close, garbage datagrams delivered without harm) runs against MemoryTransport, the simulator's
 * SimTransport (its virtual clock driven at the pace of the wall clock here), NetTransport on 127.0.0.1 and
 * NetTransport on ::1. A second suite covers what only sockets can do wrong: hostile inbound streams,
 * wildcard binds and IPv4-mapped peers, and option validation.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createConnection, createServer, type Socket } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { ProbeOutcome } from '../../src/core/index.js';
import { SeededRandom } from '../../src/core/index.js';
import { parseAddress } from '../../src/runtime/address.js';
import {
  MemoryAddressInUseError,
  MemoryNetwork,
  type MemoryTransport,
} from '../../src/runtime/memory-transport.js';
import {
  NetTransport,
  NetTransportError,
  type NetTransportOptions,
} from '../../src/runtime/net-transport.js';
import type { Transport } from '../../src/runtime/transport.js';
import { EventQueue } from '../../src/sim/event-queue.js';
import { SimAddressInUseError, SimNetwork } from '../../src/sim/network.js';
import { SimTransport } from '../../src/sim/transport.js';

// ---------------------------------------------------------------------------------------------------------
// Harness: what differs between transports

/** The counters this suite reads; both transports name them the same. */
interface ContractStats {
  streamsOpened: number;
  datagramsOversizeDropped: number;
  datagramsOversizeReceived: number;
  streamsFailed: number;
}

type ContractTransport = Transport & { readonly stats: ContractStats };

interface OpenOptions {
  readonly datagramBytesMax?: number;
}

interface Harness {
  readonly name: string;
  open(options?: OpenOptions): Promise<ContractTransport>;
  /** Opens a transport at exactly this address; rejects if it is taken. */
  openAt(address: string): Promise<ContractTransport>;
  /** Asserts that `error` is this transport's "address already in use". */
  assertAddressInUse(error: unknown): void;
  /** Sends raw bytes to an address's datagram side without a transport of the suite's own. */
  sendRawDatagram(t: TestContext, to: string, bytes: Uint8Array): Promise<void>;
}

function memoryHarness(): Harness {
  const network = new MemoryNetwork();
  let next = 0;
  const open = (address: string, options: OpenOptions = {}): Promise<ContractTransport> =>
    new Promise((resolve) => resolve(network.transport(address, options)));
  let raw: ContractTransport | null = null;
  return {
    name: 'MemoryTransport',
    open: (options) => open(`memory-${++next}:7946`, options),
    openAt: (address) => open(address),
    assertAddressInUse(error) {
      assert.ok(error instanceof MemoryAddressInUseError, String(error));
      assert.equal(error.code, 'ADDRESS_IN_USE');
    },
    async sendRawDatagram(_t, to, bytes) {
      raw ??= await open('raw-sender:1');
      raw.sendDatagram(to, bytes);
    },
  };
}

/**
 * The simulator's transport over a SimNetwork whose virtual clock follows the wall clock (a timer advances
 * it every few milliseconds), so the suite's wall-clock polling sees its deliveries.
 */
function simHarness(): Harness {
  const queue = new EventQueue();
  const network = new SimNetwork(queue, new SeededRandom(7));
  const origin = performance.now();
  setInterval(() => queue.runUntil(performance.now() - origin), 2).unref();
  let next = 0;
  const open = (address: string, options: OpenOptions = {}): Promise<ContractTransport> =>
    new Promise((resolve) => resolve(new SimTransport(network, address, options)));
  let raw: ContractTransport | null = null;
  return {
    name: 'SimTransport (the simulator)',
    open: (options) => open(`sim-${++next}:7946`, options),
    openAt: (address) => open(address),
    assertAddressInUse(error) {
      assert.ok(error instanceof SimAddressInUseError, String(error));
      assert.equal(error.code, 'ADDRESS_IN_USE');
    },
    async sendRawDatagram(_t, to, bytes) {
      raw ??= await open('sim-raw-sender:1');
      raw.sendDatagram(to, bytes);
    },
  };
}

function netHarness(bindHost: string): Harness {
  const create = (bindPort: number, options: OpenOptions = {}): Promise<ContractTransport> =>
    NetTransport.create({
      bindHost,
      bindPort,
      datagramBytesMax: options.datagramBytesMax ?? 1400,
      probeTimeoutMs: 2000,
      streamTimeoutMs: 5000,
    });
  return {
    name: `NetTransport on ${bindHost}`,
    open: (options) => create(0, options),
    openAt: (address) => create(parseAddress(address).port),
    assertAddressInUse(error) {
      assert.ok(error instanceof NetTransportError, String(error));
      assert.equal(error.code, 'BIND_FAILED');
      assert.equal((error.cause as { code?: string }).code, 'EADDRINUSE');
      assert.match(error.message, /cannot bind/);
    },
    async sendRawDatagram(t, to, bytes) {
      const { host, port } = parseAddress(to);
      const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      t.after(() => socket.close());
      await new Promise<void>((resolve, reject) =>
        socket.send(bytes, port, host, (error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Recording endpoints and polling

interface Endpoint {
  readonly transport: ContractTransport;
  readonly address: string;
  readonly datagrams: { bytes: Uint8Array; from: string }[];
  readonly streams: { bytes: Uint8Array; from: string }[];
  readonly probes: { address: string; outcome: ProbeOutcome }[];
  /** Handler calls that came after close() was called: the contract says there are none. */
  readonly callsAfterClose: () => number;
  close(): Promise<void>;
}

function record(t: TestContext, transport: ContractTransport): Endpoint {
  let closed = false;
  let late = 0;
  const endpoint: Endpoint = {
    transport,
    address: transport.localAddress,
    datagrams: [],
    streams: [],
    probes: [],
    callsAfterClose: () => late,
    close: () => {
      closed = true;
      return transport.close();
    },
  };
  transport.attach({
    onDatagram: (bytes, from) => {
      if (closed) late++;
      endpoint.datagrams.push({ bytes, from });
    },
    onStream: (bytes, from) => {
      if (closed) late++;
      endpoint.streams.push({ bytes, from });
    },
    onProbeResult: (address, outcome) => {
      if (closed) late++;
      endpoint.probes.push({ address, outcome });
    },
  });
  // Close even when the test fails; close() is idempotent, so tests may close earlier themselves.
  t.after(() => endpoint.close());
  return endpoint;
}

async function open(t: TestContext, harness: Harness, options?: OpenOptions): Promise<Endpoint> {
  return record(t, await harness.open(options));
}

/** Polls `condition` every few milliseconds until it holds, or fails naming `what` after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(5);
  }
}

/** An address where nothing listens: a transport that was opened and closed again. */
async function closedAddress(harness: Harness): Promise<string> {
  const transport = await harness.open();
  await transport.close();
  return transport.localAddress;
}

/** Waits until a fresh datagram has made it from `from` to `to`: everything sent before has had its turn. */
async function roundTrip(from: Endpoint, to: Endpoint): Promise<void> {
  const marker = randomBytes(16);
  from.transport.sendDatagram(to.address, marker);
  await until(() => to.datagrams.some((item) => Buffer.from(item.bytes).equals(marker)), 'a marker datagram');
}

// ---------------------------------------------------------------------------------------------------------
// The contract

function contract(harness: Harness): void {
  describe(harness.name, () => {
    test('a datagram arrives with the sender address, and a reply to that address arrives back', async (t) => {
      const a = await open(t, harness);
      const b = await open(t, harness);
      a.transport.sendDatagram(b.address, Uint8Array.of(1, 2, 3));
      await until(() => b.datagrams.length === 1, 'the datagram');
      assert.deepEqual([...b.datagrams[0]!.bytes], [1, 2, 3]);
      assert.equal(b.datagrams[0]!.from, a.address);
      b.transport.sendDatagram(b.datagrams[0]!.from, Uint8Array.of(4));
      await until(() => a.datagrams.length === 1, 'the reply');
      assert.equal(a.datagrams[0]!.from, b.address);
    });

    test('a datagram above datagramBytesMax is not delivered and is counted, by sender and receiver', async (t) => {
      const a = await open(t, harness, { datagramBytesMax: 1400 });
      const b = await open(t, harness, { datagramBytesMax: 1400 });
      const small = await open(t, harness, { datagramBytesMax: 600 });
      a.transport.sendDatagram(b.address, new Uint8Array(1401));
      assert.equal(a.transport.stats.datagramsOversizeDropped, 1);
      a.transport.sendDatagram(small.address, new Uint8Array(1000));
      a.transport.sendDatagram(b.address, new Uint8Array(1400).fill(7));
      await until(() => b.datagrams.length >= 1, 'the datagram of exactly datagramBytesMax');
      await until(() => small.transport.stats.datagramsOversizeReceived === 1, 'the receiver to count');
      await roundTrip(a, b);
      assert.deepEqual(
        b.datagrams.map((item) => item.bytes.length),
        [1400, 16],
        'only the datagram within the limit, then the marker',
      );
      assert.equal(small.datagrams.length, 0);
    });

    test('a 1 MiB frame crosses a stream intact', async (t) => {
      const a = await open(t, harness);
      const b = await open(t, harness);
      const frame = new Uint8Array(randomBytes(1024 * 1024));
      a.transport.sendStream(b.address, frame);
      await until(() => b.streams.length === 1, 'the stream frame');
      const received = b.streams[0]!;
      assert.equal(received.bytes.length, frame.length);
      assert.ok(Buffer.from(received.bytes).equals(frame), 'the frame arrived altered');
      assert.equal(parseAddress(received.from).host, parseAddress(a.address).host);
    });

    test('a stream to a closed or invalid address fails without throwing and is counted', async (t) => {
      const a = await open(t, harness);
      const closed = await closedAddress(harness);
      assert.doesNotThrow(() => a.transport.sendStream(closed, Uint8Array.of(1)));
      assert.doesNotThrow(() => a.transport.sendStream('not an address', Uint8Array.of(1)));
      await until(() => a.transport.stats.streamsFailed === 2, 'both streams to be counted as failed');
    });

    test("probes say 'reachable' for an attached address and 'refused' for a closed one", async (t) => {
      const a = await open(t, harness);
      const b = await open(t, harness);
      const closed = await closedAddress(harness);
      a.transport.probe(b.address);
      a.transport.probe(closed);
      assert.equal(a.probes.length, 0, 'probe results must come later, not inside the call');
      await until(() => a.probes.length === 2, 'two probe results');
      const outcomes = new Map(a.probes.map((item) => [item.address, item.outcome]));
      assert.equal(outcomes.get(b.address), 'reachable');
      assert.equal(outcomes.get(closed), 'refused');
    });

    test('an address cannot be bound twice, and close() releases it for a new transport', async (t) => {
      const a = await open(t, harness);
      const b = await open(t, harness);
      await assert.rejects(harness.openAt(a.address), (error) => {
        harness.assertAddressInUse(error);
        return true;
      });
      await a.close();
      const again = record(t, await harness.openAt(a.address));
      assert.equal(again.address, a.address);
      b.transport.sendDatagram(again.address, Uint8Array.of(9));
      await until(() => again.datagrams.length === 1, 'a datagram to the rebound address');
    });

    test('no handler runs after close(), even for traffic and probes already in flight', async (t) => {
      const a = await open(t, harness);
      const b = await open(t, harness);
      const witness = await open(t, harness);
      const closed = await closedAddress(harness);
      b.transport.sendDatagram(a.address, Uint8Array.of(1));
      b.transport.sendStream(a.address, Uint8Array.of(2));
      a.transport.probe(b.address);
      a.transport.probe(closed);
      const closing = a.close();
      a.transport.sendDatagram(b.address, Uint8Array.of(3));
      a.transport.probe(b.address);
      await closing;
      // Let everything in flight play out: the stream settles at b, and later traffic has crossed.
      await until(
        () => b.transport.stats.streamsFailed + b.transport.stats.streamsOpened >= 1,
        'the stream to a to settle',
      );
      await roundTrip(b, witness);
      await roundTrip(witness, b);
      assert.equal(a.callsAfterClose(), 0, 'a handler ran after close()');
      // Exactly the one-byte datagram [3]: the markers of roundTrip are 16 random bytes that may begin with 3.
      assert.ok(
        !b.datagrams.some((item) => item.bytes.length === 1 && item.bytes[0] === 3),
        'a closed transport still sent',
      );
    });

    test('garbage datagrams reach onDatagram unchanged and the transport keeps working', async (t) => {
      const a = await open(t, harness);
      const b = await open(t, harness);
      const sizes = [1, 3, 64, 700, 1400];
      const garbage = sizes.map((size) => new Uint8Array(randomBytes(size)));
      for (const bytes of garbage) await harness.sendRawDatagram(t, a.address, bytes);
      await until(() => a.datagrams.length === garbage.length, 'every garbage datagram');
      const received = a.datagrams.map((item) => Buffer.from(item.bytes).toString('hex')).sort();
      const sent = garbage.map((bytes) => Buffer.from(bytes).toString('hex')).sort();
      assert.deepEqual(received, sent);
      await roundTrip(b, a);
      await roundTrip(a, b);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// What only sockets can do wrong

function netExtras(bindHost: string): void {
  const harness = netHarness(bindHost);
  const create = (options: Partial<NetTransportOptions>): Promise<NetTransport> =>
    NetTransport.create({ bindHost, bindPort: 0, datagramBytesMax: 1400, ...options });

  describe(`NetTransport on ${bindHost}: hostile and malformed input`, () => {
    test('inbound frames too large, cut short, too slow or too many are refused and counted', async (t) => {
      const transport = await create({ streamBytesMax: 1000, streamTimeoutMs: 300, streamConnectionsMax: 3 });
      const b = record(t, transport);
      const { host, port } = parseAddress(b.address);
      const sockets: Socket[] = [];
      t.after(() => {
        for (const socket of sockets) socket.destroy();
      });
      const connect = (): Socket => {
        const socket = createConnection({ host, port });
        socket.on('error', () => {});
        sockets.push(socket);
        return socket;
      };
      connect().end(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2, 3));
      await until(() => transport.stats.inboundTooLarge === 1, 'the oversize frame to be refused');
      connect().end(Uint8Array.of(0, 0, 0, 100, 1, 2, 3));
      await until(() => transport.stats.inboundIncomplete === 1, 'the truncated frame to be counted');
      const slow = [connect(), connect(), connect()];
      slow[0]!.write(Uint8Array.of(0, 0));
      await until(() => transport.stats.streamsAccepted === 5, 'three idle connections to be accepted');
      connect();
      await until(() => transport.stats.inboundTooMany >= 1, 'a fourth connection to be refused');
      await until(() => transport.stats.inboundTimeout === 3, 'the idle connections to time out', 3000);
      assert.equal(b.streams.length, 0, 'no malformed frame may reach onStream');
      const a = record(t, await create({}));
      a.transport.sendStream(b.address, Uint8Array.of(5, 6));
      await until(() => b.streams.length === 1, 'a good frame after the bad ones');
      assert.deepEqual([...b.streams[0]!.bytes], [5, 6]);
    });

    test('sends and probes to text that is no address are counted, never thrown', async (t) => {
      const a = record(t, await create({}));
      for (const text of ['', 'nonsense', '[::1', 'host:99999', '::1']) {
        assert.doesNotThrow(() => a.transport.sendDatagram(text, Uint8Array.of(1)));
        assert.doesNotThrow(() => a.transport.probe(text));
      }
      await until(() => a.probes.length === 5, 'five probe results');
      assert.ok(a.probes.every((item) => item.outcome === 'timeout'));
      const stats = (a.transport as NetTransport).stats;
      assert.equal(stats.addressesInvalid, 10);
      assert.equal(stats.datagramSendErrors, 5);
    });

    test('a stream larger than streamBytesMax is not sent and is counted', async (t) => {
      const transport = await create({ streamBytesMax: 100 });
      const a = record(t, transport);
      const b = await open(t, harness);
      a.transport.sendStream(b.address, new Uint8Array(101));
      assert.equal(transport.stats.streamsOversizeDropped, 1);
      a.transport.sendStream(b.address, new Uint8Array(100));
      await until(() => b.streams.length === 1, 'the frame of exactly streamBytesMax');
      assert.equal(b.streams[0]!.bytes.length, 100);
    });
  });
}

describe('MemoryNetwork: partitions and loss', () => {
  test('a partition drops datagrams, fails streams and times probes out, until heal()', async (t) => {
    const network = new MemoryNetwork();
    const a = record(t, network.transport('a:1'));
    const b = record(t, network.transport('b:1'));
    network.partition([['a:1']]);
    a.transport.sendDatagram(b.address, Uint8Array.of(1));
    a.transport.sendStream(b.address, Uint8Array.of(2));
    a.transport.probe(b.address);
    await until(() => a.probes.length === 1, 'the probe across the partition');
    assert.equal(a.probes[0]!.outcome, 'timeout');
    assert.equal(a.transport.stats.streamsFailed, 1);
    assert.equal((a.transport as MemoryTransport).stats.datagramsLost, 1);
    network.heal();
    await roundTrip(a, b);
    assert.equal(b.datagrams.length, 1, 'only the datagram sent after heal()');
  });

  test('a loss rate of 1 drops every datagram but no stream', async (t) => {
    const network = new MemoryNetwork({ lossRate: 1 });
    const a = record(t, network.transport('a:1'));
    const b = record(t, network.transport('b:1'));
    for (let i = 0; i < 10; i++) a.transport.sendDatagram(b.address, Uint8Array.of(i));
    a.transport.sendStream(b.address, Uint8Array.of(42));
    await until(() => b.streams.length === 1, 'the stream');
    assert.equal(b.datagrams.length, 0);
    assert.equal((a.transport as MemoryTransport).stats.datagramsLost, 10);
  });
});

describe('NetTransport: binding and addresses', () => {
  test('a wildcard bindHost needs advertiseAddress, and the error says so', async () => {
    for (const bindHost of ['0.0.0.0', '::']) {
      await assert.rejects(
        NetTransport.create({ bindHost, bindPort: 0, datagramBytesMax: 1400 }),
        (error) => {
          assert.ok(error instanceof NetTransportError);
          assert.equal(error.code, 'ADVERTISE_REQUIRED');
          assert.match(error.message, /advertiseAddress/);
          return true;
        },
      );
    }
  });

  test('options out of range are refused all at once with OPTIONS_INVALID', async () => {
    await assert.rejects(
      NetTransport.create({
        bindHost: '127.0.0.1',
        bindPort: 70000,
        datagramBytesMax: 0,
        probeTimeoutMs: -1,
      }),
      (error) => {
        assert.ok(error instanceof NetTransportError);
        assert.equal(error.code, 'OPTIONS_INVALID');
        assert.match(error.message, /bindPort.*datagramBytesMax.*probeTimeoutMs/);
        return true;
      },
    );
  });

  test('an advertise address without a port gets the bound port; a hostname bindHost is resolved', async (t) => {
    const a = record(
      t,
      await NetTransport.create({
        bindHost: '0.0.0.0',
        bindPort: 0,
        datagramBytesMax: 1400,
        advertiseAddress: '127.0.0.1',
      }),
    );
    const port = (a.transport as NetTransport).boundPort;
    assert.equal(a.address, `127.0.0.1:${port}`);
    const b = record(
      t,
      await NetTransport.create({ bindHost: 'localhost', bindPort: 0, datagramBytesMax: 1400 }),
    );
    assert.match(b.address, /^(127\.0\.0\.1|\[::1\]):\d+$/);
    // Each reaches itself at the address it advertises (the two may be of different address families).
    await roundTrip(a, a);
    await roundTrip(b, b);
  });
});

const ipv6Missing = await loopbackMissing('::1');

contract(memoryHarness());
contract(simHarness());
contract(netHarness('127.0.0.1'));
netExtras('127.0.0.1');
if (ipv6Missing === null) {
  contract(netHarness('::1'));
  netExtras('::1');
  describe('NetTransport on :: (dual stack)', () => {
    test('IPv4 peers appear as IPv4 addresses, and replies to them arrive', async (t) => {
      const dual = record(
        t,
        await NetTransport.create({
          bindHost: '::',
          bindPort: 0,
          datagramBytesMax: 1400,
          advertiseAddress: '[::1]',
        }),
      );
      const v4 = record(
        t,
        await NetTransport.create({ bindHost: '127.0.0.1', bindPort: 0, datagramBytesMax: 1400 }),
      );
      const port = (dual.transport as NetTransport).boundPort;
      v4.transport.sendDatagram(`127.0.0.1:${port}`, Uint8Array.of(1));
      await until(() => dual.datagrams.length === 1, 'the IPv4 datagram at the dual-stack socket');
      assert.equal(dual.datagrams[0]!.from, v4.address, 'an IPv4-mapped sender must read as plain IPv4');
      dual.transport.sendDatagram(dual.datagrams[0]!.from, Uint8Array.of(2));
      dual.transport.sendStream(v4.address, Uint8Array.of(3));
      await until(() => v4.datagrams.length === 1 && v4.streams.length === 1, 'the replies over IPv4');
      assert.match(v4.streams[0]!.from, /^127\.0\.0\.1:\d+$/);
    });
  });
} else {
  test(`NetTransport on ::1: not run, this machine has no IPv6 loopback (${ipv6Missing})`, (t) => {
    t.diagnostic(
      `binding ::1 failed with ${ipv6Missing}: the IPv6 contract cases did not run on this machine`,
    );
  });
}

/** null when a TCP listener can bind `host`, otherwise the error code that prevented it. */
async function loopbackMissing(host: string): Promise<string | null> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: 0 }, resolve);
    });
    return null;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    if (server.listening) server.close();
  }
}
