// "Where kiln runs", for the temporary security group: SSH is opened to this one address, not to the
// world (Packer 1.6.6 opens 0.0.0.0/0 unless told otherwise). Against AWS's own endpoints that is the
// public address AWS sees (checkip.amazonaws.com, as Packer's later
// `temporary_security_group_source_public_ip` does); against an endpoint override (an emulator, a
// private endpoint) it is the local address of a connection to that endpoint.
import { connect } from 'node:net';
import { KilnError, errorMessage } from '../core/errors.js';
import type { AwsSettings } from './settings.js';

function cidrOf(ip: string): string {
  const bare = ip.replace(/^::ffff:/, '');
  return bare.includes(':') ? `${bare}/128` : `${bare}/32`;
}

function localAddressToward(url: URL, signal?: AbortSignal): Promise<string> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return new Promise((resolve, reject) => {
    const sock = connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port, ...(signal ? { signal } : {}) });
    sock.setTimeout(10_000, () => sock.destroy(new Error('no answer in 10 s')));
    sock.once('connect', () => {
      const addr = sock.localAddress ?? '';
      sock.destroy();
      resolve(addr);
    });
    sock.once('error', reject);
  });
}

async function publicAddress(signal?: AbortSignal): Promise<string> {
  const { get } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = get('https://checkip.amazonaws.com/', { ...(signal ? { signal } : {}), timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
    req.on('error', reject);
  });
}

/** The CIDR (one address) SSH is opened to when `temporary_security_group_source_cidrs` is unset. */
export async function whereKilnRuns(settings: AwsSettings, signal?: AbortSignal): Promise<string> {
  try {
    const ip = settings.endpoint ? await localAddressToward(new URL(settings.endpoint), signal) : await publicAddress(signal);
    if (!/^[0-9a-fA-F:.]+$/.test(ip)) throw new Error(`not an address: ${JSON.stringify(ip.slice(0, 40))}`);
    return cidrOf(ip);
  } catch (e) {
    throw new KilnError(
      'AWS_SOURCE_ADDRESS',
      `cannot tell the address kiln connects from (${errorMessage(e)}), to open SSH to it alone: set temporary_security_group_source_cidrs (or security_group_ids) in the builder`,
      'environment',
    );
  }
}
