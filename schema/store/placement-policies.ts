/**
 * The placement policy row (placement_policies; docs/placement.md) and the affinity anchors. The
 * body is validated by placement/policy.ts before it gets here; this store only keeps versions
 * honest: a change applies only over the version its editor read (compare-and-set).
 */
import { ConflictError, UnknownOutcomeError } from '../../errors/registry.js';
import type { TableDriver } from '../table-driver.js';

export interface StoredPolicyRow { name: string; version: number; body: string; updated: number; updatedBy: string }

export class PlacementPolicyStore {
  constructor(private readonly d: TableDriver) {}

  async get(name = 'default'): Promise<StoredPolicyRow | null> {
    const r = await this.d.get('placement_policies', { name });
    if (!r || r.version === null || r.version === undefined) return null;
    return { name, version: Number(r.version), body: String(r.body ?? '{}'), updated: Number(r.updated ?? 0), updatedBy: String(r.updated_by ?? '') };
  }

  /** Store a new version over `expectedVersion` (0: none stored yet). ConflictError when someone else changed it first. */
  async set(body: string, expectedVersion: number, updatedBy: string, name = 'default', now = Date.now()): Promise<StoredPolicyRow> {
    const version = expectedVersion + 1;
    const row = { name, version, body, updated: now, updated_by: updatedBy };
    let applied: boolean;
    try {
      ({ applied } = expectedVersion === 0
        ? await this.d.cas('placement_policies', row, { ifNotExists: true })
        : await this.d.cas('placement_policies', row, { if: { version: expectedVersion } }));
    } catch (e) {
      if (!(e instanceof UnknownOutcomeError)) throw e;
      const now2 = await this.d.get('placement_policies', { name }, { serial: true });
      applied = Number(now2?.version) === version && now2?.body === body;
    }
    if (!applied) {
      const cur = await this.get(name);
      throw new ConflictError(`the placement policy changed meanwhile (now version ${cur?.version ?? 0}, you edited version ${expectedVersion}): read it again`, { version: cur?.version ?? 0 });
    }
    return { name, version, body, updated: now, updatedBy };
  }

  /** The host an affinity group is anchored on (null: no member claimed yet). */
  async anchorOf(tenant: string, group: string): Promise<string | null> {
    const r = await this.d.get('affinity_anchors', { tenant, grp: group });
    return (r?.host_id as string | undefined) ?? null;
  }

  /** Anchor the group on a host unless it already is; returns the group's host either way. */
  async anchor(tenant: string, group: string, hostId: string, machineId: string, now = Date.now()): Promise<string> {
    try {
      const { applied } = await this.d.cas('affinity_anchors', { tenant, grp: group, host_id: hostId, machine_id: machineId, created: now }, { ifNotExists: true });
      if (applied) return hostId;
    } catch (e) {
      if (!(e instanceof UnknownOutcomeError)) throw e;
    }
    const r = await this.d.get('affinity_anchors', { tenant, grp: group }, { serial: true });
    return (r?.host_id as string | undefined) ?? hostId;
  }
}
