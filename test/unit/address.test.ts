/**
 * Proves that addresses parse the way users write them (IPv4, hostnames, bracketed IPv6, default ports),
 * that every malformed form is refused with a typed AddressError whose code and message name the problem
 * (notably a bare IPv6 literal without a port), and that formatAddress writes the one canonical spelling.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AddressError,
  type AddressErrorCode,
  canonicalHost,
  formatAddress,
  isWildcardHost,
  type ParseAddressOptions,
  parseAddress,
} from '../../src/runtime/address.js';

const ACCEPTED: readonly [string, ParseAddressOptions, string, number][] = [
  ['127.0.0.1:7946', {}, '127.0.0.1', 7946],
  ['  10.0.0.1:1  ', {}, '10.0.0.1', 1],
  ['10.0.0.1', { defaultPort: 7946 }, '10.0.0.1', 7946],
  ['node-1.example.com:65535', {}, 'node-1.example.com', 65535],
  ['Node-1.Example.COM.:80', {}, 'node-1.example.com', 80],
  ['localhost', { defaultPort: 7946 }, 'localhost', 7946],
  ['[::1]:7946', {}, '::1', 7946],
  ['[2001:DB8::1]:8000', {}, '2001:db8::1', 8000],
  ['[::1]', { defaultPort: 7946 }, '::1', 7946],
  ['::1', { defaultPort: 7946 }, '::1', 7946],
  ['fe80::1%eth0', { defaultPort: 9 }, 'fe80::1%eth0', 9],
  ['[::ffff:127.0.0.1]:7946', {}, '127.0.0.1', 7946],
  ['0.0.0.0:0', { allowPortZero: true }, '0.0.0.0', 0],
];

for (const [text, options, host, port] of ACCEPTED) {
  test(`parses ${JSON.stringify(text)} ${JSON.stringify(options)}`, () => {
    assert.deepEqual(parseAddress(text, options), { host, port });
  });
}

const REFUSED: readonly [string, ParseAddressOptions, AddressErrorCode, RegExp][] = [
  ['', {}, 'ADDRESS_EMPTY', /empty/],
  ['   ', { defaultPort: 1 }, 'ADDRESS_EMPTY', /empty/],
  ['127.0.0.1', {}, 'ADDRESS_PORT_MISSING', /no port/],
  ['::1', {}, 'ADDRESS_PORT_MISSING', /\[::1\]:7946/],
  ['fe80::1', {}, 'ADDRESS_PORT_MISSING', /brackets/],
  ['[::1]', {}, 'ADDRESS_PORT_MISSING', /no port/],
  ['2001:db8::1:99999', {}, 'ADDRESS_IPV6_UNBRACKETED', /\[2001:db8::1\]:99999/],
  ['a:b:c', {}, 'ADDRESS_IPV6_UNBRACKETED', /\[host\]:port/],
  ['[::1', {}, 'ADDRESS_HOST_INVALID', /never closes/],
  ['[127.0.0.1]:80', {}, 'ADDRESS_HOST_INVALID', /only for IPv6/],
  ['[::1]80', {}, 'ADDRESS_PORT_INVALID', /after "\]"/],
  ['host:0', {}, 'ADDRESS_PORT_INVALID', /outside 1 to 65535/],
  ['host:65536', {}, 'ADDRESS_PORT_INVALID', /outside/],
  ['host:12ab', {}, 'ADDRESS_PORT_INVALID', /not a number/],
  ['host:', {}, 'ADDRESS_PORT_INVALID', /not a number/],
  ['host:-1', {}, 'ADDRESS_PORT_INVALID', /not a number/],
  ['host', { defaultPort: 70000 }, 'ADDRESS_PORT_INVALID', /70000/],
  [':7946', {}, 'ADDRESS_HOST_INVALID', /no host/],
  ['256.1.1.1:80', {}, 'ADDRESS_HOST_INVALID', /not a valid IPv4/],
  ['10.1:80', {}, 'ADDRESS_HOST_INVALID', /not a valid IPv4/],
  ['bad_name:80', {}, 'ADDRESS_HOST_INVALID', /hostname/],
  ['-leading.example:80', {}, 'ADDRESS_HOST_INVALID', /hostname/],
  [`${'a'.repeat(64)}.example:80`, {}, 'ADDRESS_HOST_INVALID', /hostname/],
  ['two words:80', {}, 'ADDRESS_HOST_INVALID', /hostname/],
];

for (const [text, options, code, message] of REFUSED) {
  test(`refuses ${JSON.stringify(text)} ${JSON.stringify(options)} with ${code}`, () => {
    assert.throws(
      () => parseAddress(text, options),
      (error: unknown) => {
        assert.ok(error instanceof AddressError, `expected an AddressError, got ${String(error)}`);
        assert.equal(error.code, code);
        assert.match(error.message, message);
        assert.equal(error.input, text);
        return true;
      },
    );
  });
}

test('formatAddress brackets IPv6, shows IPv4-mapped addresses as IPv4 and lower-cases hosts', () => {
  assert.equal(formatAddress('127.0.0.1', 7946), '127.0.0.1:7946');
  assert.equal(formatAddress('::1', 7946), '[::1]:7946');
  assert.equal(formatAddress('[::1]', 7946), '[::1]:7946');
  assert.equal(formatAddress('::FFFF:10.0.0.2', 80), '10.0.0.2:80');
  assert.equal(formatAddress('Example.COM', 80), 'example.com:80');
  assert.equal(formatAddress('FE80::1%Eth0', 1), '[fe80::1%Eth0]:1');
});

test('parse then format is the identity on canonical addresses and canonicalises the rest', () => {
  for (const text of ['127.0.0.1:7946', '[::1]:7946', 'example.com:80', '[fe80::1%eth0]:5']) {
    const { host, port } = parseAddress(text);
    assert.equal(formatAddress(host, port), text);
  }
  const { host, port } = parseAddress('[::ffff:192.168.0.1]:9');
  assert.equal(formatAddress(host, port), '192.168.0.1:9');
});

test('canonicalHost and isWildcardHost', () => {
  assert.equal(canonicalHost('::ffff:1.2.3.4'), '1.2.3.4');
  assert.equal(canonicalHost('::ffff:abcd'), '::ffff:abcd');
  for (const host of ['0.0.0.0', '::', '::0', '0:0:0:0:0:0:0:0', '[::]'])
    assert.ok(isWildcardHost(host), host);
  for (const host of ['127.0.0.1', '::1', 'localhost', '10.0.0.0']) assert.ok(!isWildcardHost(host), host);
});
