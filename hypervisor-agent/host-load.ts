/**
 * The host's load average. libvirt has no call for it, so the agent reads its own machine's
 * (os.loadavg) and only when that machine is the hypervisor: a local qemu:///system or
 * qemu:///session URI. A remote URI, or the test driver (a simulated host), has no load the agent
 * can see: null, never this box's figure passed off as another host's.
 */
import { loadavg } from 'node:os';

export function isLocalHypervisor(uri: string): boolean {
  return /^qemu(\+unix)?:\/\/\/(system|session)(\?|$)/i.test(uri);
}

export function loadAverageFor(uri: string): () => number | null {
  if (!isLocalHypervisor(uri)) return () => null;
  return () => Math.round((loadavg()[0] ?? 0) * 100) / 100;
}
