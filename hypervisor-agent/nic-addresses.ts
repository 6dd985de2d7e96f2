/**
 * IP addresses of machines' interfaces, from libvirt's DHCP leases. @unraid/libvirt has no call for
 * them (no virNetworkGetDHCPLeases, no virDomainInterfaceAddresses), so this runs
 * `virsh -c <uri> net-dhcp-leases <network>` as a child process: on qemu hosts only (the test driver
 * hands out no leases), at most once per network every `cacheMs`, with a timeout. Where virsh is
 * missing or fails, addresses stay unknown (and virsh is not tried again for `retryMs`): a machine's
 * status then simply carries no addresses. Networks without libvirt DHCP (bridges to an outside DHCP
 * server) never have leases here; docs/networks.md says so.
 */
import { execFile } from 'node:child_process';

export interface Lease { macAddress: string; ip: string }

/** The lease table virsh prints: "expiry-date expiry-time  mac  protocol  ip/prefix  hostname  client-id". */
export function parseLeases(out: string): Lease[] {
  const leases: Lease[] = [];
  for (const line of out.split('\n')) {
    const mac = /\b([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b/i.exec(line);
    if (!mac) continue;
    const rest = line.slice(mac.index + mac[0].length);
    const ip = /\s(ipv[46])\s+([0-9A-Fa-f.:]+)\/\d+/i.exec(rest);
    if (ip) leases.push({ macAddress: mac[1]!.toLowerCase(), ip: ip[2]! });
  }
  return leases;
}

type Run = (uri: string, network: string) => Promise<string>;

const runVirsh: Run = (uri, network) => new Promise((resolve, reject) => {
  execFile('virsh', ['-q', '-c', uri, 'net-dhcp-leases', network], { timeout: 5000, maxBuffer: 1 << 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
});

export class LeaseReader {
  private readonly cache = new Map<string, { at: number; leases: Lease[] }>();
  private failedAt: number | null = null;

  constructor(
    private readonly uri: string,
    private readonly enabled: boolean,
    private readonly now: () => number = Date.now,
    private readonly run: Run = runVirsh,
    private readonly cacheMs = 30_000,
    private readonly retryMs = 300_000,
  ) {}

  /** The addresses libvirt leased to this MAC on this libvirt network ([] when unknown). */
  async addresses(network: string, macAddress: string): Promise<string[]> {
    if (!this.enabled) return [];
    const now = this.now();
    if (this.failedAt !== null && now - this.failedAt < this.retryMs) return [];
    let hit = this.cache.get(network);
    if (!hit || now - hit.at >= this.cacheMs) {
      try {
        hit = { at: now, leases: parseLeases(await this.run(this.uri, network)) };
        this.failedAt = null;
      } catch {
        this.failedAt = now;
        hit = { at: now, leases: [] };
      }
      this.cache.set(network, hit);
    }
    const mac = macAddress.toLowerCase();
    return [...new Set(hit.leases.filter((l) => l.macAddress === mac).map((l) => l.ip))];
  }
}
