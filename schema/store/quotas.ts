/**
 * Quotas per tenant: limits (machines, vCPUs, memory) set by admins and the usage frontends charge
 * at create. One row per tenant (tenant_quotas) with a generation: every change of limits or usage
 * is a compare-and-set on it, as host claims are (hosts.ts), so frontends racing for the last slot
 * can never both get it. Usage is kept per machine (`charges`, machine id -> what it was charged), so
 * a charge and a release are each applied at most once: a retried purge or two racing purgers find
 * the entry gone and release nothing.
 *
 * A tenant without a row, or a limit that is null, is unlimited; usage is charged anyway, so a quota
 * set later sees what the tenant already uses (machines created before quotas existed are not counted).
 */
import { ConflictError, UnavailableError, UnknownOutcomeError, ValidationError } from '../../errors/registry.js';
import { collectPages, fromJson, toJson } from '../json-column.js';
import type { Row, TableDriver } from '../table-driver.js';

export type QuotaName = 'machines' | 'cpus' | 'memory';

export interface QuotaLimits {
  /** null: unlimited. */
  machines: number | null;
  cpus: number | null;
  memoryKiB: number | null;
}

export interface QuotaUsage { machines: number; cpus: number; memoryKiB: number }

export interface QuotaCharge { cpus: number; memoryKiB: number; at: number }

export interface TenantQuota {
  tenant: string;
  limits: QuotaLimits;
  used: QuotaUsage;
  charges: Record<string, QuotaCharge>;
  /** 0 when the tenant has no row yet. */
  generation: number;
  updated: number | null;
}

export interface QuotaExceeded { quota: QuotaName; limit: number; used: number; need: number }

export type ChargeResult = { ok: true; quota: TenantQuota } | { ok: false; exceeded: QuotaExceeded; quota: TenantQuota };

export const UNLIMITED: QuotaLimits = { machines: null, cpus: null, memoryKiB: null };
const MAX_CAS_RETRIES = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function checkTenant(t: unknown): string {
  if (typeof t !== 'string' || t.length === 0 || t.length > 255) throw new ValidationError('tenant must be a string of 1-255 characters');
  return t;
}

function checkLimit(v: unknown, what: string): number | null {
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ValidationError(`${what} must be a non-negative integer or null (unlimited)`);
  return v;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

function rowToQuota(tenant: string, r: Row | null): TenantQuota {
  if (!r || r.generation === null || r.generation === undefined) {
    return { tenant, limits: { ...UNLIMITED }, used: { machines: 0, cpus: 0, memoryKiB: 0 }, charges: {}, generation: 0, updated: null };
  }
  return {
    tenant,
    limits: { machines: (r.max_machines as number | null) ?? null, cpus: (r.max_cpus as number | null) ?? null, memoryKiB: (r.max_memory_kib as number | null) ?? null },
    used: { machines: num(r.used_machines), cpus: num(r.used_cpus), memoryKiB: num(r.used_memory_kib) },
    charges: fromJson<Record<string, QuotaCharge>>(r.charges, 'quota charges', {}),
    generation: r.generation as number,
    updated: (r.updated as number) ?? null,
  };
}

/** The first limit a machine of this size would break, or null when it fits. */
export function wouldExceed(q: TenantQuota, need: { cpus: number; memoryKiB: number }): QuotaExceeded | null {
  const checks: [QuotaName, number | null, number, number][] = [
    ['machines', q.limits.machines, q.used.machines, 1],
    ['cpus', q.limits.cpus, q.used.cpus, need.cpus],
    ['memory', q.limits.memoryKiB, q.used.memoryKiB, need.memoryKiB],
  ];
  for (const [quota, limit, used, n] of checks) {
    if (limit !== null && used + n > limit) return { quota, limit, used, need: n };
  }
  return null;
}

export class QuotaStore {
  constructor(private readonly d: TableDriver) {}

  /** The tenant's limits and use (unlimited and unused when no row exists). */
  async get(tenant: string, opts: { serial?: boolean } = {}): Promise<TenantQuota> {
    checkTenant(tenant);
    return rowToQuota(tenant, await this.d.get('tenant_quotas', { tenant }, opts));
  }

  /** Every tenant that has a row (admins; a scan of one small row per tenant). */
  async list(): Promise<TenantQuota[]> {
    const rows = await collectPages((pageState) => this.d.scan('tenant_quotas', { limit: 1000, pageState }));
    return rows.filter((r) => r.generation !== null).map((r) => rowToQuota(r.tenant as string, r)).sort((a, b) => a.tenant.localeCompare(b.tenant));
  }

  /** First write of a tenant's row, or a compare-and-set on the generation it was read at. */
  private async write(seen: TenantQuota, set: Row): Promise<boolean> {
    const row: Row = { tenant: seen.tenant, ...set, generation: seen.generation + 1, updated: Date.now() };
    if (seen.generation === 0) {
      const full: Row = {
        max_machines: seen.limits.machines, max_cpus: seen.limits.cpus, max_memory_kib: seen.limits.memoryKiB,
        used_machines: seen.used.machines, used_cpus: seen.used.cpus, used_memory_kib: seen.used.memoryKiB, charges: toJson(seen.charges), ...row,
      };
      return (await this.d.cas('tenant_quotas', full, { ifNotExists: true })).applied;
    }
    return (await this.d.cas('tenant_quotas', row, { if: { generation: seen.generation } })).applied;
  }

  /**
   * Set (some of) the tenant's limits; null clears one (unlimited). A limit below current use is
   * allowed: running machines stay, new ones are refused until use falls below it.
   */
  async setLimits(tenant: string, limits: Partial<QuotaLimits>): Promise<TenantQuota> {
    checkTenant(tenant);
    const set: Row = {};
    if (limits.machines !== undefined) set.max_machines = checkLimit(limits.machines, 'machines limit');
    if (limits.cpus !== undefined) set.max_cpus = checkLimit(limits.cpus, 'vCPU limit');
    if (limits.memoryKiB !== undefined) set.max_memory_kib = checkLimit(limits.memoryKiB, 'memory limit');
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      const cur = await this.get(tenant, { serial: i > 0 });
      let applied: boolean;
      try {
        applied = await this.write(cur, set);
      } catch (e) {
        if (!(e instanceof UnknownOutcomeError)) throw e;
        applied = false; // re-read at SERIAL and set again: setting the same limits twice is harmless
      }
      if (applied) return this.get(tenant, { serial: true });
      await sleep(Math.random() * 10 * Math.min(i + 1, 10));
    }
    throw new ConflictError(`quota of ${tenant}: too much contention to set limits`);
  }

  /**
   * Charge a machine to its tenant if it fits every limit: one compare-and-set per attempt, retried
   * (re-read at SERIAL) when another writer moved the generation. A refusal is only ever decided on a
   * SERIAL read, so it never rests on a stale view. Charging a machine already charged is a no-op.
   */
  async charge(tenant: string, machineId: string, need: { cpus: number; memoryKiB: number }, now = Date.now()): Promise<ChargeResult> {
    checkTenant(tenant);
    if (!Number.isSafeInteger(need.cpus) || need.cpus < 0 || !Number.isSafeInteger(need.memoryKiB) || need.memoryKiB < 0) {
      throw new ValidationError('a quota charge needs non-negative integer cpus and memory');
    }
    let serial = false;
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      const cur = await this.get(tenant, { serial });
      if (cur.charges[machineId]) return { ok: true, quota: cur };
      const exceeded = wouldExceed(cur, need);
      if (exceeded) {
        if (serial) return { ok: false, exceeded, quota: cur };
        serial = true;
        continue;
      }
      const charges = { ...cur.charges, [machineId]: { cpus: need.cpus, memoryKiB: need.memoryKiB, at: now } };
      const used = { machines: cur.used.machines + 1, cpus: cur.used.cpus + need.cpus, memoryKiB: cur.used.memoryKiB + need.memoryKiB };
      let applied: boolean;
      try {
        applied = await this.write(cur, { used_machines: used.machines, used_cpus: used.cpus, used_memory_kib: used.memoryKiB, charges: toJson(charges) });
      } catch (e) {
        if (!(e instanceof UnknownOutcomeError)) throw e;
        // Ours when the row now carries this machine's charge (nobody else charges this machine).
        applied = !!(await this.get(tenant, { serial: true })).charges[machineId];
      }
      if (applied) return { ok: true, quota: { ...cur, used, charges, generation: cur.generation + 1, updated: now } };
      serial = true;
      await sleep(Math.random() * 5 * Math.min(i + 1, 10));
    }
    throw new UnavailableError(`quota of ${tenant}: too much contention to charge a machine; try again`, { retryAfterSeconds: 1 });
  }

  /**
   * Give back what a machine was charged. Exactly once: it only subtracts while the machine's charge
   * is present, so a retried or concurrent release finds nothing to do. Returns whether this call did it.
   */
  async release(tenant: string, machineId: string): Promise<boolean> {
    checkTenant(tenant);
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      const cur = await this.get(tenant, { serial: i > 0 });
      const c = cur.charges[machineId];
      if (!c) return false;
      const charges = { ...cur.charges };
      delete charges[machineId];
      let applied: boolean;
      try {
        applied = await this.write(cur, {
          used_machines: Math.max(0, cur.used.machines - 1), used_cpus: Math.max(0, cur.used.cpus - c.cpus),
          used_memory_kib: Math.max(0, cur.used.memoryKiB - c.memoryKiB), charges: toJson(charges),
        });
      } catch (e) {
        if (!(e instanceof UnknownOutcomeError)) throw e;
        const after = await this.get(tenant, { serial: true });
        applied = after.generation === cur.generation + 1 && !after.charges[machineId];
      }
      if (applied) return true;
      await sleep(Math.random() * 5 * Math.min(i + 1, 10));
    }
    throw new UnavailableError(`quota of ${tenant}: too much contention to release machine ${machineId}; try again`, { retryAfterSeconds: 1 });
  }
}
