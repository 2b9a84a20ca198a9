/**
 * Network addresses as text: `host:port` with an IPv4 address, a hostname, or a bracketed IPv6 address
 * (`[::1]:7946`). Parsing owns one invariant: what it accepts, `formatAddress` writes back in one canonical
 * form, so two spellings of the same endpoint become the same member address string.
 *
 * A bare IPv6 literal (`::1`, `fe80::1`) cannot carry a port without brackets: `::1:7946` is itself a valid
 * IPv6 address. It is accepted only when the caller supplies a default port, and otherwise refused with a
 * message that shows the bracketed form (the mistake behind hashicorp/serf#286 and #684).
 */
import { isIPv4, isIPv6 } from 'node:net';

export type AddressErrorCode =
  | 'ADDRESS_EMPTY'
  | 'ADDRESS_PORT_MISSING'
  | 'ADDRESS_PORT_INVALID'
  | 'ADDRESS_HOST_INVALID'
  | 'ADDRESS_IPV6_UNBRACKETED';

/** Text that is not a usable address; `code` is stable, the message says how to fix it. */
export class AddressError extends Error {
  override readonly name = 'AddressError';
  readonly code: AddressErrorCode;
  readonly input: string;
  constructor(code: AddressErrorCode, input: string, message: string) {
    super(message);
    this.code = code;
    this.input = input;
  }
}

export interface ParsedAddress {
  /** IPv4 dotted quad, hostname (lower case) or IPv6 address without brackets. */
  readonly host: string;
  readonly port: number;
}

export interface ParseAddressOptions {
  /** Port to use when the text has none; without it a missing port is an error. */
  readonly defaultPort?: number;
  /** Accept port 0 (an ephemeral port, meaningful only for a bind address). Default false. */
  readonly allowPortZero?: boolean;
}

const HOSTNAME_BYTES_MAX = 253;
const LABEL_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4_MAPPED_PREFIX = '::ffff:';

export function parseAddress(text: string, options: ParseAddressOptions = {}): ParsedAddress {
  const input = text.trim();
  if (input.length === 0)
    throw new AddressError('ADDRESS_EMPTY', text, 'address is empty: expected host:port');
  if (input.startsWith('[')) return parseBracketed(input, options);
  const colons = countColons(input);
  if (colons >= 2) return parseBareIpv6(input, options);
  const separator = input.indexOf(':');
  const hostText = separator < 0 ? input : input.slice(0, separator);
  const port =
    separator < 0 ? missingPort(input, options) : parsePort(input, input.slice(separator + 1), options);
  return { host: parseHost(input, hostText), port };
}

/** `host:port`, with IPv6 hosts in brackets and IPv4-mapped IPv6 addresses shown as IPv4. */
export function formatAddress(host: string, port: number): string {
  const canonical = canonicalHost(host);
  return canonical.includes(':') ? `[${canonical}]:${port}` : `${canonical}:${port}`;
}

/**
 * The one spelling of a host: lower case, without brackets, and `::ffff:a.b.c.d` (how a dual-stack socket
 * reports an IPv4 peer) as the plain IPv4 address, so a peer has the same address whichever socket saw it.
 */
export function canonicalHost(host: string): string {
  let result = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  // Lower case for the address; an IPv6 zone (after %) is an interface name, which is case-sensitive.
  const zone = result.indexOf('%');
  result = zone < 0 ? result.toLowerCase() : result.slice(0, zone).toLowerCase() + result.slice(zone);
  if (result.startsWith(IPV4_MAPPED_PREFIX)) {
    const tail = result.slice(IPV4_MAPPED_PREFIX.length);
    if (isIPv4(tail)) return tail;
  }
  return result;
}

/** Whether a host is a wildcard (any-address) bind host, which peers cannot send to. */
export function isWildcardHost(host: string): boolean {
  const canonical = canonicalHost(host);
  return canonical === '0.0.0.0' || (isIPv6(canonical) && /^[0:]+$/.test(canonical));
}

function countColons(text: string): number {
  let count = 0;
  for (const character of text) if (character === ':') count++;
  return count;
}

function parseBracketed(input: string, options: ParseAddressOptions): ParsedAddress {
  const close = input.indexOf(']');
  if (close < 0) {
    throw new AddressError('ADDRESS_HOST_INVALID', input, `address "${input}" opens "[" but never closes it`);
  }
  const host = input.slice(1, close);
  if (!isIPv6(host)) {
    throw new AddressError(
      'ADDRESS_HOST_INVALID',
      input,
      `address "${input}": brackets are only for IPv6 addresses, and "${host}" is not one`,
    );
  }
  const rest = input.slice(close + 1);
  if (rest.length === 0) return { host: canonicalHost(host), port: missingPort(input, options) };
  if (!rest.startsWith(':')) {
    throw new AddressError('ADDRESS_PORT_INVALID', input, `address "${input}": expected ":port" after "]"`);
  }
  return { host: canonicalHost(host), port: parsePort(input, rest.slice(1), options) };
}

function parseBareIpv6(input: string, options: ParseAddressOptions): ParsedAddress {
  if (isIPv6(input)) {
    if (options.defaultPort !== undefined) {
      return { host: canonicalHost(input), port: checkPort(input, options.defaultPort, options) };
    }
    throw new AddressError(
      'ADDRESS_PORT_MISSING',
      input,
      `address "${input}" is an IPv6 address without a port; write it in brackets with a port, ` +
        `as [${input}]:7946`,
    );
  }
  const separator = input.lastIndexOf(':');
  const host = input.slice(0, separator);
  const hint = isIPv6(host) ? `; did you mean [${host}]:${input.slice(separator + 1)}?` : '';
  throw new AddressError(
    'ADDRESS_IPV6_UNBRACKETED',
    input,
    `address "${input}" has several colons: an IPv6 address with a port must be written [host]:port${hint}`,
  );
}

function parseHost(input: string, hostText: string): string {
  const host = hostText.toLowerCase();
  if (host.length === 0)
    throw new AddressError('ADDRESS_HOST_INVALID', input, `address "${input}" has no host`);
  if (isIPv4(host)) return host;
  // All digits and dots but not a valid IPv4 address (256.1.1.1, 10.1): a typo, not a hostname.
  if (/^[0-9.]+$/.test(host)) {
    throw new AddressError(
      'ADDRESS_HOST_INVALID',
      input,
      `address "${input}": "${host}" is not a valid IPv4 address`,
    );
  }
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length > HOSTNAME_BYTES_MAX || !name.split('.').every((label) => LABEL_PATTERN.test(label))) {
    throw new AddressError(
      'ADDRESS_HOST_INVALID',
      input,
      `address "${input}": "${hostText}" is neither an IPv4 address nor a valid hostname`,
    );
  }
  return name;
}

function missingPort(input: string, options: ParseAddressOptions): number {
  if (options.defaultPort !== undefined) return checkPort(input, options.defaultPort, options);
  throw new AddressError('ADDRESS_PORT_MISSING', input, `address "${input}" has no port: expected host:port`);
}

function parsePort(input: string, portText: string, options: ParseAddressOptions): number {
  if (!/^[0-9]{1,5}$/.test(portText)) {
    throw new AddressError(
      'ADDRESS_PORT_INVALID',
      input,
      `address "${input}": port "${portText}" is not a number from ${options.allowPortZero === true ? 0 : 1} to 65535`,
    );
  }
  return checkPort(input, Number(portText), options);
}

function checkPort(input: string, port: number, options: ParseAddressOptions): number {
  const lowest = options.allowPortZero === true ? 0 : 1;
  if (!Number.isInteger(port) || port < lowest || port > 65_535) {
    throw new AddressError(
      'ADDRESS_PORT_INVALID',
      input,
      `address "${input}": port ${port} is outside ${lowest} to 65535`,
    );
  }
  return port;
}
