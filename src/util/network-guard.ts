import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses no registry or chart repository lives at, and where a cloud's metadata service
 * answers with the runner's credentials: a pull request that points a source at one of them
 * (a HelmRepository URL, an OCIRepository, a redirect) must not make us fetch from it. Link-local
 * (169.254.0.0/16, fe80::/10: AWS, GCP and Azure answer at 169.254.169.254), AWS's IPv6 metadata
 * address and Alibaba Cloud's. Checked where the connection is made, on every address a name
 * resolves to, so a name that resolves elsewhere the second time cannot get past it.
 */
const METADATA = new BlockList();
METADATA.addSubnet('169.254.0.0', 16, 'ipv4');
METADATA.addAddress('100.100.100.200', 'ipv4');
METADATA.addSubnet('fe80::', 10, 'ipv6');
METADATA.addAddress('fd00:ec2::254', 'ipv6');

/** Why a connection to `address` is refused, or undefined when it is not. */
export function refusedAddress(address: string): string | undefined {
  let ip = address.replace(/^\[|\]$/g, '');
  // An IPv4 address written as IPv6 (::ffff:a.b.c.d) is that IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) ip = mapped[1]!;
  const family = isIP(ip);
  if (family === 0) return undefined;
  if (!METADATA.check(ip, family === 4 ? 'ipv4' : 'ipv6')) return undefined;
  return `${ip} is a link-local or cloud metadata address, where no registry lives`;
}

export class RefusedAddressError extends Error {
  readonly code = 'EFLUXGATEREFUSED';

  constructor(host: string, why: string) {
    super(`refused to connect to ${host}: ${why}`);
    this.name = 'RefusedAddressError';
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** dns.lookup for net.connect that fails when any address of the name is refused. */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    for (const { address } of addresses) {
      const why = refusedAddress(address);
      if (why) return callback(new RefusedAddressError(hostname, why), []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first)
      return callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), []);
    callback(null, first.address, first.family);
  });
}

/** The refusal of a URL whose host is itself a refused address literal (no lookup happens then). */
export function refusedUrl(url: URL): RefusedAddressError | undefined {
  const why = refusedAddress(url.hostname);
  return why ? new RefusedAddressError(url.host, why) : undefined;
}
