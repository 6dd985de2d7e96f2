/**
 * `skybus host remove`: an admin says a host will not come back (docs/lifecycle.md, "Host loss,
 * fencing and HA restart"). Refused while its agent holds the lease. Then: the host is REMOVED (its
 * agent, should it return, takes no lease and acts on nothing); machines being deleted are purged
 * and their claims released; highly available machines are left to placement, which restarts them
 * elsewhere once the host's fencing window has passed (at once if it already has); every other
 * machine shows ERROR with the reason, and its claim is released (exactly once: keyed by machine).
 */
import { ConflictError, NotFoundError } from '../errors/registry.js';
import type { BusStore } from '../schema/bus-store.js';
import { describeCondition, hostCondition, type HostLivenessPolicy } from '../schema/host-health.js';

export interface RemovalReport {
  hostId: string;
  purged: string[];
  /** HA machines placement restarts elsewhere, with when it may. */
  highlyAvailable: { machineId: string; restartAt: number | null }[];
  errored: string[];
}

export async function removeHost(store: BusStore, hostId: string, liveness: HostLivenessPolicy, now = Date.now()): Promise<RemovalReport> {
  const host = await store.hosts.get(hostId);
  if (!host) throw new NotFoundError(`no host '${hostId}'`);
  const [lease, hb] = await Promise.all([store.hosts.leaseOf(hostId, { serial: true }), store.hosts.heartbeatOf(hostId)]);
  const cond = hostCondition(host, lease, hb, now, liveness);
  if (cond.health === 'up') throw new ConflictError(`host ${hostId} is up (its agent holds the lease): stop its agent first, or leave it be`);
  await store.hosts.setState(hostId, 'REMOVED');
  const report: RemovalReport = { hostId, purged: [], highlyAvailable: [], errored: [] };
  const when = new Date(now).toISOString();
  for (const hm of await store.machines.listOnHost(hostId)) {
    const m = await store.machines.get(hm.machineId);
    if (!m || m.hostId !== hostId) { await store.machines.removeFromHost(hostId, hm.machineId); continue; }
    if (m.desiredState === 'DELETED') {
      await store.hosts.release(hostId, m.id);
      await store.machines.purge(m);
      report.purged.push(m.id);
      continue;
    }
    if (m.spec.highlyAvailable) { report.highlyAvailable.push({ machineId: m.id, restartAt: cond.haRestartAt }); continue; }
    const error = `host ${hostId} was removed by an admin at ${when} (${describeCondition(cond, now)}); the machine was not highly available and its disks were on that host: delete it`;
    await store.machines.setStatus(m.id, { ...m.status, state: 'ERROR', error, observedGeneration: m.generation, converged: false, updatedAt: now });
    await store.hosts.release(hostId, m.id);
    await store.telemetry.appendEvent({
      tenant: m.tenant, ts: now, type: 'alarm', severity: 'high', outcome: 'Failure', resource: m.id, content: { action: 'host-remove', hostId, reason: error },
    }).catch(() => undefined);
    report.errored.push(m.id);
  }
  return report;
}
