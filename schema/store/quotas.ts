/**
 * Quotas per tenant: limits (machines, vCPUs, memory) set by admins and the usage frontends charge
 * at create. One small row per tenant (tenant_quotas): limits, totals and a generation; every change
 * is a compare-and-set on the generation, as host claims are (hosts.ts), so frontends racing for the
 * last slot can never both get it. The row does not grow with the tenant.
 *
 * What each machine was charged is on the machine's own row (machines.quota_cpus/_memory_kib, written
 * with the machine at create: no extra LWT). A release is two steps:
 *   1. the machine row's `quota_release` goes from null to '<generation>:<unique id>' by a
 *      compare-and-set (IF tenant = ? AND quota_release = null): set once, whoever races;
 *   2. the totals are decremented by a compare-and-set on the quota row, tagged 'r:<machine id>'.
 * The quota row keeps the ids of its last RECENT changes with their generation (`recent_changes`), so
 * step 2 is idempotent: every attempt re-reads the row and stops when its tag is there; an attempt
 * that finds it missing while the list still reaches back to the generation noted in step 1 knows
 * the decrement was never applied, so a purge retried after a crash between 1 and 2 completes it.
 * Only when the list no longer reaches back that far (more than RECENT changes since) is it left
 * undone: totals too high, never too low (the tenant may be refused early, never let over its
 * limit); `recount` repairs that.
 *
 * A tenant without a row, or a limit that is null, is unlimited; usage is charged anyway, so a quota
 * set later sees what the tenant already uses (machines created before quotas existed are not counted).
 */
import { randomUUID } from 'node:crypto';
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

export interface QuotaCharge { cpus: number; memoryKiB: number }

/** Volume limits (docs/volumes.md, "Quotas"): how many volumes, and how many GiB they add up to. null: unlimited. */
export interface VolumeQuotaLimits { volumes: number | null; volumeGiB: number | null }
export interface VolumeQuotaUsage { volumes: number; volumeGiB: number }
export type VolumeQuotaName = 'volumes' | 'volumeGiB';
export interface VolumeQuotaExceeded { quota: VolumeQuotaName; limit: number; used: number; need: number }
export type VolumeChargeResult = { ok: true } | { ok: false; exceeded: VolumeQuotaExceeded };

export interface TenantQuota {
  tenant: string;
  limits: QuotaLimits;
  used: QuotaUsage;
  volumeLimits: VolumeQuotaLimits;
  volumeUsed: VolumeQuotaUsage;
  /** 0 when the tenant has no row yet. */
  generation: number;
  updated: number | null;
}

export interface QuotaExceeded { quota: QuotaName; limit: number; used: number; need: number }

export type ChargeResult = { ok: true; quota: TenantQuota } | { ok: false; exceeded: QuotaExceeded; quota: TenantQuota };

export interface RecountResult {
  tenant: string;
  /** The totals before the recount. */
  before: QuotaUsage;
  /** What the tenant's machines add up to (now the totals, when applied). */
  counted: QuotaUsage;
  /** Machines found released but still present (a purge under way or interrupted). */
  releasedPresent: number;
  /** The volume totals before, and what the tenant's volumes add up to (docs/volumes.md). */
  volumesBefore: VolumeQuotaUsage;
  volumesCounted: VolumeQuotaUsage;
  /** Whether the totals were written (false: they already matched, or a dry run). */
  applied: boolean;
}

export const UNLIMITED: QuotaLimits = { machines: null, cpus: null, memoryKiB: null };
/** How many recent change ids the quota row keeps (~50 bytes each). */
export const RECENT = 64;
const MAX_CAS_RETRIES = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The pauses before a quota read is tried again when the ring cannot take it (a node stopping or
 * starting: its Paxos rounds and SERIAL reads time out until the others mark it): about 4 s in all,
 * then the 503. Only reads are repeated; every write is decided on a SERIAL read that follows it.
 */
export const BUS_WAITS_MS = [250, 500, 1000, 2000];

export async function waitingOut<T>(read: () => Promise<T>, waits: readonly number[] = BUS_WAITS_MS): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await read();
    } catch (e) {
      if (!(e instanceof UnavailableError) || i >= waits.length) throw e;
      await sleep(waits[i]);
    }
  }
}

type Recent = [number, string][];
interface Seen extends TenantQuota { recent: Recent }

function checkTenant(t: unknown): string {
  if (typeof t !== 'string' || t.length === 0 || t.length > 255) throw new ValidationError('tenant must be a string of 1-255 characters');
  return t;
}

function checkLimit(v: unknown, what: string): number | null {
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ValidationError(`${what} must be a non-negative integer or null (unlimited)`);
  return v;
}

function checkCharge(c: QuotaCharge): void {
  if (!Number.isSafeInteger(c.cpus) || c.cpus < 0 || !Number.isSafeInteger(c.memoryKiB) || c.memoryKiB < 0) {
    throw new ValidationError('a quota charge needs non-negative integer cpus and memory');
  }
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

function rowToSeen(tenant: string, r: Row | null): Seen {
  if (!r || r.generation === null || r.generation === undefined) {
    return {
      tenant, limits: { ...UNLIMITED }, used: { machines: 0, cpus: 0, memoryKiB: 0 },
      volumeLimits: { volumes: null, volumeGiB: null }, volumeUsed: { volumes: 0, volumeGiB: 0 }, generation: 0, updated: null, recent: [],
    };
  }
  return {
    tenant,
    limits: { machines: (r.max_machines as number | null) ?? null, cpus: (r.max_cpus as number | null) ?? null, memoryKiB: (r.max_memory_kib as number | null) ?? null },
    used: { machines: num(r.used_machines), cpus: num(r.used_cpus), memoryKiB: num(r.used_memory_kib) },
    volumeLimits: { volumes: (r.max_volumes as number | null) ?? null, volumeGiB: (r.max_volume_gib as number | null) ?? null },
    volumeUsed: { volumes: num(r.used_volumes), volumeGiB: num(r.used_volume_gib) },
    generation: r.generation as number,
    updated: (r.updated as number) ?? null,
    recent: fromJson<Recent>(r.recent_changes, 'quota recent changes', []),
  };
}

const publicView = ({ recent: _recent, ...q }: Seen): TenantQuota => q;

/**
 * Whether change `id`, if it was ever applied at a generation of `fromGeneration` or later, is in
 * the totals: true / false, or null when the row's list of recent changes no longer reaches back
 * to `fromGeneration` (too many changes since) and nobody can tell.
 */
export function changeApplied(q: Pick<Seen, 'recent' | 'generation'>, id: string, fromGeneration: number): boolean | null {
  if (q.recent.some(([, x]) => x === id)) return true;
  if (q.generation < fromGeneration) return false; // the row is not there yet
  if (q.recent.length === 0) return q.generation === 0 ? false : null;
  const oldest = q.recent[0][0];
  // Entries older than the oldest kept may have been dropped; so may part of the oldest generation's.
  if (fromGeneration > oldest) return false;
  if (oldest === 1 && q.recent.length < RECENT) return false; // nothing was ever dropped
  return null;
}

/** The first limit a machine of this size would break, or null when it fits. */
export function wouldExceed(q: TenantQuota, need: QuotaCharge): QuotaExceeded | null {
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

/** The first volume limit a new volume of `gib` would break, or null when it fits. */
export function volumeWouldExceed(q: Pick<TenantQuota, 'volumeLimits' | 'volumeUsed'>, gib: number): VolumeQuotaExceeded | null {
  const checks: [VolumeQuotaName, number | null, number, number][] = [
    ['volumes', q.volumeLimits.volumes, q.volumeUsed.volumes, 1],
    ['volumeGiB', q.volumeLimits.volumeGiB, q.volumeUsed.volumeGiB, gib],
  ];
  for (const [quota, limit, used, n] of checks) {
    if (limit !== null && used + n > limit) return { quota, limit, used, need: n };
  }
  return null;
}

/** '<generation>:<unique id>' in machines.quota_release: the quota generation read before the flag was set. */
function parseRelease(v: unknown): { generation: number } | null {
  if (typeof v !== 'string') return null;
  const g = Number(v.slice(0, v.indexOf(':')));
  return { generation: Number.isSafeInteger(g) && g >= 0 ? g : 0 };
}

export class QuotaStore {
  constructor(private readonly d: TableDriver) {}

  private async read(tenant: string, serial: boolean): Promise<Seen> {
    return rowToSeen(tenant, await waitingOut(() => this.d.get('tenant_quotas', { tenant }, { serial })));
  }

  /** The tenant's limits and use (unlimited and unused when no row exists). */
  async get(tenant: string, opts: { serial?: boolean } = {}): Promise<TenantQuota> {
    checkTenant(tenant);
    return publicView(await this.read(tenant, !!opts.serial));
  }

  /** Every tenant that has a row (admins; a scan of one small row per tenant). */
  async list(): Promise<TenantQuota[]> {
    const rows = await collectPages((pageState) => this.d.scan('tenant_quotas', { limit: 1000, pageState }));
    return rows.filter((r) => r.generation !== null).map((r) => publicView(rowToSeen(r.tenant as string, r))).sort((a, b) => a.tenant.localeCompare(b.tenant));
  }

  /**
   * First write of a tenant's row, or a compare-and-set on the generation it was read at. Every write
   * records its change ids (`ids`, normally one) in the row's recent changes.
   */
  private async write(seen: Seen, set: Row, ids: string[]): Promise<boolean> {
    const generation = seen.generation + 1;
    const recent = [...seen.recent, ...ids.map((id): [number, string] => [generation, id])].slice(-RECENT);
    const row: Row = { tenant: seen.tenant, ...set, recent_changes: toJson(recent), generation, updated: Date.now() };
    if (seen.generation === 0) {
      const full: Row = {
        max_machines: seen.limits.machines, max_cpus: seen.limits.cpus, max_memory_kib: seen.limits.memoryKiB,
        used_machines: seen.used.machines, used_cpus: seen.used.cpus, used_memory_kib: seen.used.memoryKiB, ...row,
      };
      return (await this.d.cas('tenant_quotas', full, { ifNotExists: true })).applied;
    }
    return (await this.d.cas('tenant_quotas', row, { if: { generation: seen.generation } })).applied;
  }

  /**
   * write(), settling a timeout: re-read at SERIAL and look for `id`. `unsure` is what to assume when
   * the row moved too far to tell (charges assume not applied and retry: at worst counted twice, too
   * high; releases assume applied: at worst not given back, too high; never too low).
   */
  private async writeSettled(seen: Seen, set: Row, id: string, unsure: boolean): Promise<boolean> {
    try {
      return await this.write(seen, set, [id]);
    } catch (e) {
      // Unavailable too: a Paxos commit that timed out is reported as a plain write timeout, though
      // its change was accepted. The SERIAL re-read finishes any half-done round and decides.
      if (!(e instanceof UnknownOutcomeError || e instanceof UnavailableError)) throw e;
      return changeApplied(await this.read(seen.tenant, true), id, seen.generation + 1) ?? unsure;
    }
  }

  /**
   * Set (some of) the tenant's limits; null clears one (unlimited). A limit below current use is
   * allowed: running machines stay, new ones are refused until use falls below it.
   */
  async setLimits(tenant: string, limits: Partial<QuotaLimits> & Partial<VolumeQuotaLimits>): Promise<TenantQuota> {
    checkTenant(tenant);
    const set: Row = {};
    if (limits.machines !== undefined) set.max_machines = checkLimit(limits.machines, 'machines limit');
    if (limits.cpus !== undefined) set.max_cpus = checkLimit(limits.cpus, 'vCPU limit');
    if (limits.memoryKiB !== undefined) set.max_memory_kib = checkLimit(limits.memoryKiB, 'memory limit');
    if (limits.volumes !== undefined) set.max_volumes = checkLimit(limits.volumes, 'volumes limit');
    if (limits.volumeGiB !== undefined) set.max_volume_gib = checkLimit(limits.volumeGiB, 'volume GiB limit');
    const id = `l:${randomUUID()}`;
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      const cur = await this.read(tenant, i > 0);
      // Setting the same limits twice is harmless: an unsure outcome simply sets them again.
      if (await this.writeSettled(cur, set, id, false)) return this.get(tenant, { serial: true });
      await sleep(Math.random() * 10 * Math.min(i + 1, 10));
    }
    throw new ConflictError(`quota of ${tenant}: too much contention to set limits`);
  }

  /**
   * Charge a machine to its tenant if it fits every limit: one compare-and-set per attempt, retried
   * (re-read at SERIAL) when another writer moved the generation. A refusal is only ever decided on a
   * SERIAL read, so it never rests on a stale view. The charge is tagged 'c:<machine id>': charging the
   * same machine again while the tag is among the row's recent changes is a no-op (a retry after a
   * timeout always is). The caller then writes the machine with what it was charged (machines.create
   * `quota`), or gives the charge back with `releaseUnwritten` when that write fails.
   */
  async charge(tenant: string, machineId: string, need: QuotaCharge): Promise<ChargeResult> {
    checkTenant(tenant);
    checkCharge(need);
    const id = `c:${machineId}`;
    let serial = false;
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      const cur = await this.read(tenant, serial);
      if (cur.recent.some(([, x]) => x === id)) return { ok: true, quota: publicView(cur) };
      const exceeded = wouldExceed(cur, need);
      if (exceeded) {
        if (serial) return { ok: false, exceeded, quota: publicView(cur) };
        serial = true;
        continue;
      }
      const used = { machines: cur.used.machines + 1, cpus: cur.used.cpus + need.cpus, memoryKiB: cur.used.memoryKiB + need.memoryKiB };
      if (await this.writeSettled(cur, { used_machines: used.machines, used_cpus: used.cpus, used_memory_kib: used.memoryKiB }, id, false)) {
        return { ok: true, quota: { ...publicView(cur), used, generation: cur.generation + 1, updated: Date.now() } };
      }
      serial = true;
      await sleep(Math.random() * 5 * Math.min(i + 1, 10));
    }
    throw new UnavailableError(`quota of ${tenant}: too much contention to charge a machine; try again`, { retryAfterSeconds: 1 });
  }

  /**
   * Step 2 of a release: subtract `c` from the totals once, tagged 'r:<machine id>'. `fromGeneration`
   * is the generation read before the release flag was set (no decrement for this machine can be
   * older). Returns whether this call applied it.
   */
  private async decrementOnce(tenant: string, machineId: string, c: QuotaCharge, fromGeneration: number): Promise<boolean> {
    return this.decrementTagged(tenant, `r:${machineId}`, fromGeneration, (cur) => ({
      used_machines: Math.max(0, cur.used.machines - 1), used_cpus: Math.max(0, cur.used.cpus - c.cpus),
      used_memory_kib: Math.max(0, cur.used.memoryKiB - c.memoryKiB),
    }), `machine ${machineId}`);
  }

  /** decrementOnce for any charge: `set` computes the totals after the release from the row read. */
  private async decrementTagged(tenant: string, id: string, fromGeneration: number, set: (cur: Seen) => Row, what: string): Promise<boolean> {
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      // A stale first read is harmless: its compare-and-set fails and the next read is at SERIAL.
      const cur = await this.read(tenant, i > 0);
      const done = changeApplied(cur, id, fromGeneration + 1);
      // Already given back (true), or too many changes since to tell (null): leave it; too high at worst.
      if (done !== false) return false;
      if (cur.generation === 0) return false; // no row: nothing was ever charged
      if (await this.writeSettled(cur, set(cur), id, true)) return true;
      await sleep(Math.random() * 5 * Math.min(i + 1, 10));
    }
    throw new UnavailableError(`quota of ${tenant}: too much contention to release ${what}; try again`, { retryAfterSeconds: 1 });
  }

  /** Step 1: set the machine's release flag (once); returns the flag now on the row, or null when the row has none to set. */
  private async flagRelease(tenant: string, machineId: string, cond: Row, table: 'machines' | 'volumes' = 'machines'): Promise<string | null> {
    const fromGeneration = (await this.read(tenant, false)).generation;
    const flag = `${fromGeneration}:${randomUUID()}`;
    try {
      if ((await this.d.cas(table, { id: machineId, quota_release: flag }, { if: { ...cond, quota_release: null } })).applied) return flag;
    } catch (e) {
      if (!(e instanceof UnknownOutcomeError || e instanceof UnavailableError)) throw e;
    }
    // A racing releaser's (or, after a timeout, perhaps ours): whichever flag is there decides the
    // generation to look back to.
    const after = await waitingOut(() => this.d.get(table, { id: machineId }, { serial: true }));
    return (after?.quota_release as string | null) ?? null;
  }

  /**
   * Give back what a machine was charged (at purge; the machine row still present). Exactly once:
   * the release flag on the machine row is set once, and the decrement is idempotent. A purge
   * retried after a crash between the two completes the decrement. Returns whether this call
   * subtracted it. A machine never charged (no quota columns), or already gone, releases nothing.
   */
  async release(tenant: string, machineId: string): Promise<boolean> {
    checkTenant(tenant);
    const m = await waitingOut(() => this.d.get('machines', { id: machineId }));
    if (!m || m.tenant !== tenant || m.quota_cpus === null || m.quota_cpus === undefined) return false;
    const c: QuotaCharge = { cpus: m.quota_cpus as number, memoryKiB: num(m.quota_memory_kib) };
    // `tenant` in the condition: Cassandra applies `IF quota_release = null` to a missing row (a
    // machine purged meanwhile) and would create a ghost row that a later purge could release again.
    const flag = m.quota_release === null || m.quota_release === undefined
      ? await this.flagRelease(tenant, machineId, { tenant })
      : (m.quota_release as string);
    const rel = parseRelease(flag);
    if (!rel) return false; // the row went away meanwhile: its purger did the release
    return this.decrementOnce(tenant, machineId, c, rel.generation);
  }

  /**
   * Give back the charge of a machine whose create failed (the caller knows what it charged): the
   * machine row may hold the machine, part of nothing, or be missing. The flag is set without the
   * `tenant` condition, so it also applies to a missing row (leaving a marker the caller removes with
   * the rest). Call it once per failed create: after its rows are removed a second call could not tell.
   */
  async releaseUnwritten(tenant: string, machineId: string, charged: QuotaCharge): Promise<boolean> {
    checkTenant(tenant);
    checkCharge(charged);
    const rel = parseRelease(await this.flagRelease(tenant, machineId, {}));
    if (!rel) return false;
    return this.decrementOnce(tenant, machineId, charged, rel.generation);
  }

  /**
   * Charge a new volume (by the id it will be created under) of `gib` GiB: the same compare-and-set as
   * `charge`, tagged 'cv:<volume id>', against the volume limits only. The caller writes the volume
   * with quota_gib = gib (volumes.create), or gives it back with releaseUnwrittenVolume.
   */
  async chargeVolume(tenant: string, volumeId: string, gib: number): Promise<VolumeChargeResult> {
    checkTenant(tenant);
    if (!Number.isSafeInteger(gib) || gib < 0) throw new ValidationError('a volume charge needs a non-negative integer of GiB');
    const id = `cv:${volumeId}`;
    let serial = false;
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      const cur = await this.read(tenant, serial);
      if (cur.recent.some(([, x]) => x === id)) return { ok: true };
      const exceeded = volumeWouldExceed(cur, gib);
      if (exceeded) {
        if (serial) return { ok: false, exceeded };
        serial = true;
        continue;
      }
      if (await this.writeSettled(cur, { used_volumes: cur.volumeUsed.volumes + 1, used_volume_gib: cur.volumeUsed.volumeGiB + gib }, id, false)) return { ok: true };
      serial = true;
      await sleep(Math.random() * 5 * Math.min(i + 1, 10));
    }
    throw new UnavailableError(`quota of ${tenant}: too much contention to charge a volume; try again`, { retryAfterSeconds: 1 });
  }

  private volumeDecrement(tenant: string, volumeId: string, gib: number, fromGeneration: number): Promise<boolean> {
    return this.decrementTagged(tenant, `rv:${volumeId}`, fromGeneration, (cur) => ({
      used_volumes: Math.max(0, cur.volumeUsed.volumes - 1), used_volume_gib: Math.max(0, cur.volumeUsed.volumeGiB - gib),
    }), `volume ${volumeId}`);
  }

  /** Give back what a volume was charged (at purge, its row still present): exactly once, as `release`. */
  async releaseVolume(tenant: string, volumeId: string): Promise<boolean> {
    checkTenant(tenant);
    const v = await this.d.get('volumes', { id: volumeId });
    if (!v || v.tenant !== tenant || v.quota_gib === null || v.quota_gib === undefined) return false;
    const flag = v.quota_release === null || v.quota_release === undefined
      ? await this.flagRelease(tenant, volumeId, { tenant }, 'volumes')
      : (v.quota_release as string);
    const rel = parseRelease(flag);
    if (!rel) return false;
    return this.volumeDecrement(tenant, volumeId, v.quota_gib as number, rel.generation);
  }

  /** A volume create that failed after its charge (once per failed create, as releaseUnwritten). */
  async releaseUnwrittenVolume(tenant: string, volumeId: string, gib: number): Promise<boolean> {
    checkTenant(tenant);
    const rel = parseRelease(await this.flagRelease(tenant, volumeId, {}, 'volumes'));
    if (!rel) return false;
    return this.volumeDecrement(tenant, volumeId, gib, rel.generation);
  }

  /**
   * What the tenant's machines add up to: every machine in machines_by_tenant (paged) whose row
   * carries a charge not yet released. Bounded reads: a page of the index, then its machine rows, a
   * few at a time.
   */
  async count(tenant: string, opts: { pageSize?: number } = {}): Promise<{ used: QuotaUsage; releasedPresent: string[] }> {
    checkTenant(tenant);
    const used: QuotaUsage = { machines: 0, cpus: 0, memoryKiB: 0 };
    const releasedPresent: string[] = [];
    let pageState: string | null = null;
    do {
      const page = await this.d.select('machines_by_tenant', { tenant }, { limit: opts.pageSize ?? 500, pageState });
      for (let i = 0; i < page.rows.length; i += 32) {
        const rows = await Promise.all(page.rows.slice(i, i + 32).map((r) => this.d.get('machines', { id: r.id as string })));
        for (const m of rows) {
          if (!m || m.tenant !== tenant || m.quota_cpus === null || m.quota_cpus === undefined) continue;
          if (m.quota_release !== null && m.quota_release !== undefined) { releasedPresent.push(m.id as string); continue; }
          used.machines += 1;
          used.cpus += m.quota_cpus as number;
          used.memoryKiB += num(m.quota_memory_kib);
        }
      }
      pageState = page.pageState;
    } while (pageState);
    return { used, releasedPresent };
  }

  /** What the tenant's volumes add up to, as `count` for machines (volumes_by_tenant, then each row). */
  async countVolumes(tenant: string, opts: { pageSize?: number } = {}): Promise<{ used: VolumeQuotaUsage; releasedPresent: string[] }> {
    checkTenant(tenant);
    const used: VolumeQuotaUsage = { volumes: 0, volumeGiB: 0 };
    const releasedPresent: string[] = [];
    let pageState: string | null = null;
    do {
      const page = await this.d.select('volumes_by_tenant', { tenant }, { limit: opts.pageSize ?? 500, pageState });
      for (let i = 0; i < page.rows.length; i += 32) {
        const rows = await Promise.all(page.rows.slice(i, i + 32).map((r) => this.d.get('volumes', { id: r.id as string })));
        for (const v of rows) {
          if (!v || v.tenant !== tenant || v.quota_gib === null || v.quota_gib === undefined) continue;
          if (v.quota_release !== null && v.quota_release !== undefined) { releasedPresent.push(v.id as string); continue; }
          used.volumes += 1;
          used.volumeGiB += v.quota_gib as number;
        }
      }
      pageState = page.pageState;
    } while (pageState);
    return { used, releasedPresent };
  }

  /**
   * Repair: set the tenant's totals to what its machines and its volumes (countVolumes) add up to (`skybus quota repair`), for
   * charges that were never given back (a frontend that died between charge and machine write, a
   * failed create whose give-back failed too, a release left undecided). It cannot see a create or
   * purge in flight, so it only runs on a tenant whose quota row has not changed for `settleMs`
   * (default 2 minutes; ConflictError otherwise), and its compare-and-set is on the generation read
   * before counting: any charge or release during the count makes it start over (then, normally,
   * refuse). Machines found released but still present are recorded as released in the row's recent
   * changes, so a purger still on its way does not subtract them a second time.
   */
  async recount(tenant: string, opts: { settleMs?: number; dryRun?: boolean; pageSize?: number; now?: () => number } = {}): Promise<RecountResult> {
    checkTenant(tenant);
    const settleMs = opts.settleMs ?? 120_000;
    const now = opts.now ?? Date.now;
    for (let i = 0; i < 3; i++) {
      const cur = await this.read(tenant, true);
      if (cur.updated !== null && now() - cur.updated < settleMs) {
        throw new ConflictError(`quota of ${tenant} changed ${Math.round((now() - cur.updated) / 1000)} s ago: recount when it has been unchanged for ${Math.round(settleMs / 1000)} s`);
      }
      const { used, releasedPresent } = await this.count(tenant, opts);
      const vols = await this.countVolumes(tenant, opts);
      const result: RecountResult = {
        tenant, before: cur.used, counted: used, releasedPresent: releasedPresent.length + vols.releasedPresent.length,
        volumesBefore: cur.volumeUsed, volumesCounted: vols.used, applied: false,
      };
      const same = used.machines === cur.used.machines && used.cpus === cur.used.cpus && used.memoryKiB === cur.used.memoryKiB
        && vols.used.volumes === cur.volumeUsed.volumes && vols.used.volumeGiB === cur.volumeUsed.volumeGiB;
      const pending = [
        ...releasedPresent.map((m) => `r:${m}`), ...vols.releasedPresent.map((v) => `rv:${v}`),
      ].filter((tag) => !cur.recent.some(([, x]) => x === tag));
      if (opts.dryRun || (same && pending.length === 0)) return result;
      const set: Row = {
        used_machines: used.machines, used_cpus: used.cpus, used_memory_kib: used.memoryKiB,
        used_volumes: vols.used.volumes, used_volume_gib: vols.used.volumeGiB,
      };
      const id = `n:${randomUUID()}`;
      let applied: boolean;
      try {
        applied = await this.write(cur, set, [...pending, id]);
      } catch (e) {
        if (!(e instanceof UnknownOutcomeError)) throw e;
        applied = changeApplied(await this.read(tenant, true), id, cur.generation + 1) ?? false;
      }
      if (applied) return { ...result, applied: true };
    }
    throw new ConflictError(`quota of ${tenant} keeps changing: recount later`);
  }
}
