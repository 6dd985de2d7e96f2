/**
 * Quotas in the frontend: charging a new machine to its tenant (403 naming the quota when it does
 * not fit), the Quota representation (a Skybus extension resource), and the limits a PUT sets.
 */
import { ForbiddenError, ValidationError } from '../errors/registry.js';
import type { BusStore } from '../schema/bus-store.js';
import type { QuotaCharge, QuotaExceeded, QuotaLimits, TenantQuota, VolumeQuotaLimits } from '../schema/store/quotas.js';
import type { MachineSpec } from '../schema/types.js';
import { rejectUnknownFields, type Body } from './body-fields.js';
import { SKYBUS_NS } from './cimi/uris.js';

const QUOTA_TYPE = 'Quota';
const LIMIT_MAX = 1_000_000_000;
const mib = (kib: number): number => Math.round((kib / 1024) * 1000) / 1000;

export function quotaExceededMessage(e: QuotaExceeded): string {
  if (e.quota === 'machines') return `quota exceeded: machines ${e.used} of ${e.limit} in use, this machine needs 1`;
  if (e.quota === 'cpus') return `quota exceeded: vCPUs ${e.used} of ${e.limit} in use, this machine needs ${e.need}`;
  return `quota exceeded: memory ${mib(e.used)} MiB of ${mib(e.limit)} MiB in use, this machine needs ${mib(e.need)} MiB`;
}

/**
 * Charge a new machine (by the id it will be created under) to the tenant: 403 when it would break a
 * limit. Only a create grows a tenant's use today: no spec change alters a machine's vCPUs or memory
 * (edit changes name, description and properties; actions change the desired state); a resize would
 * charge the difference here under the same compare-and-set.
 */
export async function chargeMachine(store: BusStore, tenant: string, machineId: string, spec: Pick<MachineSpec, 'cpu' | 'memoryKiB'>): Promise<QuotaCharge> {
  const charge: QuotaCharge = { cpus: spec.cpu, memoryKiB: spec.memoryKiB };
  const r = await store.quotas.charge(tenant, machineId, charge);
  if (!r.ok) throw new ForbiddenError(quotaExceededMessage(r.exceeded));
  return charge; // the machine is written with it (machines.quota_*), so its purge gives exactly this back
}

export function quotaView(q: TenantQuota, selfUrl: string): Record<string, unknown> {
  return {
    resourceURI: `${SKYBUS_NS}/${QUOTA_TYPE}`,
    id: selfUrl,
    tenant: q.tenant,
    // null (JSON) / absent (XML): unlimited.
    limits: { machines: q.limits.machines, cpu: q.limits.cpus, memoryMiB: q.limits.memoryKiB === null ? null : mib(q.limits.memoryKiB) },
    usage: { machines: q.used.machines, cpu: q.used.cpus, memoryMiB: mib(q.used.memoryKiB) },
    // Volumes (docs/volumes.md): a count and the GiB they add up to.
    volumeLimits: { volumes: q.volumeLimits.volumes, volumeGiB: q.volumeLimits.volumeGiB },
    volumeUsage: { volumes: q.volumeUsed.volumes, volumeGiB: q.volumeUsed.volumeGiB },
    ...(q.updated !== null ? { updated: new Date(q.updated).toISOString() } : {}),
  };
}

/** One limit from a body: a non-negative integer (a digit string in XML), or null / "unlimited". */
function limitField(body: Body, field: string, fromXml: boolean): number | null | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (v === null || v === 'unlimited') return null;
  const n = fromXml && typeof v === 'string' && /^\d{1,10}$/.test(v.trim()) ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > LIMIT_MAX) {
    throw new ValidationError(`Quota.${field} must be an integer from 0 to ${LIMIT_MAX}, or null / "unlimited"`, { field: `Quota.${field}` });
  }
  return n;
}

/** A Quota PUT body: {machines?, cpu?, memoryMiB?, volumes?, volumeGiB?}; a field left out keeps its limit. */
export function parseQuotaBody(body: Body, fromXml: boolean): Partial<QuotaLimits> & Partial<VolumeQuotaLimits> {
  rejectUnknownFields(body, ['machines', 'cpu', 'memoryMiB', 'volumes', 'volumeGiB', 'tenant', 'id'], 'Quota');
  for (const k of ['name', 'description', 'properties', 'limits', 'usage'] as const) {
    if (body[k] !== undefined) throw new ValidationError(`unknown field '${k}' in Quota`, { field: k });
  }
  const out: Partial<QuotaLimits> & Partial<VolumeQuotaLimits> = {};
  const machines = limitField(body, 'machines', fromXml);
  const cpus = limitField(body, 'cpu', fromXml);
  const memoryMiB = limitField(body, 'memoryMiB', fromXml);
  if (machines !== undefined) out.machines = machines;
  if (cpus !== undefined) out.cpus = cpus;
  if (memoryMiB !== undefined) out.memoryKiB = memoryMiB === null ? null : memoryMiB * 1024;
  const volumes = limitField(body, 'volumes', fromXml);
  const volumeGiB = limitField(body, 'volumeGiB', fromXml);
  if (volumes !== undefined) out.volumes = volumes;
  if (volumeGiB !== undefined) out.volumeGiB = volumeGiB;
  if (Object.keys(out).length === 0) throw new ValidationError('a Quota body sets at least one of machines, cpu, memoryMiB, volumes, volumeGiB', { field: 'Quota' });
  return out;
}
