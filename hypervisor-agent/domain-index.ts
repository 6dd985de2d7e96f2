/** This cycle's libvirt domains that carry the Skybus prefix, by UUID and by name. */
import type { DomainSnapshot } from './libvirt-host.js';

export interface DomainIndex {
  byUuid: Map<string, DomainSnapshot>;
  byName: Map<string, DomainSnapshot>;
}

/** Domains without the prefix are not ours: they are left out and never touched. */
export function indexDomains(domains: DomainSnapshot[], prefix: string): DomainIndex {
  const byUuid = new Map<string, DomainSnapshot>();
  const byName = new Map<string, DomainSnapshot>();
  for (const d of domains) {
    if (!d.name.startsWith(prefix)) continue;
    byUuid.set(d.uuid, d);
    byName.set(d.name, d);
  }
  return { byUuid, byName };
}
