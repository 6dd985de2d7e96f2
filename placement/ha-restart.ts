/**
 * HA restart (docs/lifecycle.md, "Host loss, fencing and HA restart"): the highly available machines
 * of a host that is down (or removed) start again on another host, with the same machine id, once
 * the host's fencing window has certainly passed (schema/host-health.ts: haRestartAt). Level-
 * triggered, part of the placement loop; no new process.
 *
 * Per down host, one placer (by hash of the host id over the live placers) takes the HOST'S OWN LEASE
 * under an evacuation holder first: while it holds it the host's agent, should it come back, cannot
 * act, and once it is released the agent finds the moved machines gone from its partition and removes
 * their domains (orphans.ts) instead of starting them. Then per machine: claim on the new host
 * (compare-and-set on its generation), move the binding (a lightweight transaction on host_id = the
 * old host), release the old host's claim (exactly once: keyed by machine), write an event. Disks
 * are local to a host: the new host builds the machine's disks afresh from its image, and the event
 * says so. A machine with volumes attached stays (the volume files live on the lost host).
 */
import type { Logger } from '../observability/logger.js';
import type { SkybusMetrics } from '../observability/metrics.js';
import type { BusStore } from '../schema/bus-store.js';
import { EVACUATION_HOLDER, hostCondition, isAgentLease } from '../schema/host-health.js';
import type { Host, Machine } from '../schema/types.js';
import { ownerOf, placeOn } from './choose-host.js';
import type { CompiledPolicy } from './policy.js';
import type { PlacementConfig } from './config.js';

const EVACUATION_LEASE_S = 30;

export interface HaReport { hostsEvacuated: number; moved: number; waiting: number }

/** Which machines of a down host move (pure): highly available, not being deleted, still bound there. */
export function movable(m: Machine | null, downHost: string): m is Machine {
  return !!m && m.hostId === downHost && m.desiredState !== 'DELETED' && m.spec.highlyAvailable === true;
}

export class HaRestart {
  private lastCheck = 0;
  /** machine id -> the reason last recorded for not moving it (an event only when it changes). */
  private readonly told = new Map<string, string>();
  private readonly log: Logger;

  constructor(private readonly deps: { store: BusStore; config: PlacementConfig; log: Logger; metrics: SkybusMetrics; policy: () => CompiledPolicy }) {
    this.log = deps.log.child({ module: 'ha-restart' });
  }

  /** Every haCheckMs: find down hosts past their HA restart time, evacuate the ones this placer owns. */
  async runIfDue(now: number, placers: string[]): Promise<HaReport> {
    const report: HaReport = { hostsEvacuated: 0, moved: 0, waiting: 0 };
    if (now - this.lastCheck < this.deps.config.haCheckMs) return report;
    this.lastCheck = now;
    const { store, config } = this.deps;
    const [hosts, leases, beats] = await Promise.all([store.hosts.list(), store.hosts.leases(), store.hosts.heartbeats()]);
    const leaseOf = new Map(leases.map((l) => [l.hostId, l]));
    const alive = new Set(leases.filter(isAgentLease).map((l) => l.hostId));
    for (const h of hosts) {
      if (Object.keys(h.allocations).length === 0) continue;
      const c = hostCondition(h, leaseOf.get(h.id) ?? null, beats.get(h.id) ?? null, now, config.liveness);
      if ((c.health !== 'down' && c.health !== 'removed') || c.haRestartAt === null || now < c.haRestartAt) continue;
      if (ownerOf(h.id, placers) !== config.instanceId) continue;
      try {
        await this.evacuate(h, hosts.filter((x) => x.id !== h.id), alive, now, report);
      } catch (e) {
        this.log.warn({ err: e, hostId: h.id }, 'HA evacuation failed; retrying next check');
      }
    }
    return report;
  }

  private async evacuate(down: Host, others: Host[], alive: ReadonlySet<string>, now: number, report: HaReport): Promise<void> {
    const { store, config } = this.deps;
    const onHost = await store.machines.listOnHost(down.id);
    const candidates = onHost.filter((m) => m.spec.highlyAvailable && m.desiredState !== 'DELETED');
    if (candidates.length === 0) return;
    const holder = `${EVACUATION_HOLDER}${config.instanceId}`;
    if (!(await store.hosts.acquireLease(down.id, holder, EVACUATION_LEASE_S))) return; // its agent is back, or another placer
    report.hostsEvacuated++;
    const log = this.log.child({ fromHost: down.id });
    log.warn({ machines: candidates.length }, 'host down past its fencing window: restarting its highly available machines elsewhere');
    const pool = new Map(others.map((h) => [h.id, h]));
    try {
      for (const hm of candidates) {
        if (!(await store.hosts.acquireLease(down.id, holder, EVACUATION_LEASE_S))) break; // renewal lost: stop moving
        const m = await store.machines.get(hm.machineId, { serial: true });
        if (!movable(m, down.id)) continue;
        const volumes = (await store.volumes.listOnHost(down.id)).filter((v) => v.attachment?.machineId === m.id);
        if (volumes.length > 0) {
          await this.tell(m, down.id, `not restarted elsewhere: volume${volumes.length > 1 ? 's' : ''} ${volumes.map((v) => v.volumeId).join(', ')} live on host ${down.id}; detach them to let it move, or bring the host back`, now);
          report.waiting++;
          continue;
        }
        if (await this.moveOne(m, down, pool, alive, now)) report.moved++; else report.waiting++;
      }
    } finally {
      await store.hosts.releaseLease(down.id, holder).catch((e) => log.warn({ err: e }, 'could not release the evacuation lease (it expires by itself)'));
    }
  }

  private async moveOne(m: Machine, down: Host, pool: Map<string, Host>, alive: ReadonlySet<string>, now: number): Promise<boolean> {
    const { store, config, metrics } = this.deps;
    const need = { cpus: m.spec.cpu, memoryKiB: m.spec.memoryKiB };
    for (let attempt = 0; attempt < config.maxClaimRetries; attempt++) {
      const held = [...pool.values()].find((h) => h.allocations[m.id]);
      let target: Host;
      let claimId: string;
      if (held) {
        target = held; claimId = held.allocations[m.id]!.claimId; // a claim an earlier try left: used, never doubled
      } else {
        const choice = placeOn(m.spec, [...pool.values()], alive, this.deps.policy(), { tenant: m.tenant });
        if (choice.candidates.length === 0) {
          await this.tell(m, down.id, `waiting for a host to restart it on: ${choice.summary ?? choice.reason ?? 'no host fits'}`, now);
          return false;
        }
        const claim = await store.hosts.claim(choice.candidates[0]!, m.id, need);
        if (!claim.ok) {
          if (claim.host) pool.set(claim.host.id, claim.host); else pool.delete(choice.candidates[0]!.id);
          continue;
        }
        pool.set(claim.host.id, claim.host);
        target = claim.host; claimId = claim.claimId;
      }
      if (!(await store.machines.moveHost(m.id, down.id, target.id))) {
        await store.hosts.release(target.id, m.id, claimId);
        return false;
      }
      const oldClaim = down.allocations[m.id];
      if (oldClaim) await store.hosts.release(down.id, m.id, oldClaim.claimId);
      metrics.placements.inc({ outcome: 'ha-restart' });
      this.told.delete(m.id);
      await store.machines.setPlacement(m.id, {
        attempts: (m.placement?.attempts ?? 0) + 1, reason: null, summary: null, lastAttemptAt: now, policyVersion: this.deps.policy().version,
      });
      await store.telemetry.appendEvent({
        tenant: m.tenant, ts: now, type: 'state', severity: 'high', outcome: 'Warning', resource: m.id,
        content: {
          action: 'ha-restart', fromHost: down.id, toHost: target.id,
          reason: `host ${down.id} is down past its fencing window: machine restarted on host ${target.id}; its disks were local to ${down.id} and are rebuilt from image ${m.spec.image?.name || m.spec.image?.id || '(none)'} (what was written on them is lost)`,
        },
      }).catch((e) => this.log.warn({ err: e, machineId: m.id }, 'event not recorded'));
      this.log.warn({ machineId: m.id, fromHost: down.id, toHost: target.id }, 'HA machine moved');
      return true;
    }
    return false;
  }

  /** A reason for not moving a machine, as an event once per distinct reason. */
  private async tell(m: Machine, hostId: string, reason: string, now: number): Promise<void> {
    if (this.told.get(m.id) === reason) return;
    this.told.set(m.id, reason);
    this.log.warn({ machineId: m.id, hostId, reason }, 'HA machine not moved');
    await this.deps.store.telemetry.appendEvent({
      tenant: m.tenant, ts: now, type: 'alarm', severity: 'high', outcome: 'Warning', resource: m.id,
      content: { action: 'ha-restart', fromHost: hostId, reason },
    }).catch(() => undefined);
  }
}
