/**
 * Placement bindings (placement_bindings, migration 0014; docs/placement.md, "Binding"): the host a
 * machine was first placed on, decided exactly once. Many machines are bound with one conditional
 * batch per partition (all or none, each only if not yet bound): a lost race is rare (placers own
 * shards), and then the batch is retried without the machines someone else bound first.
 */
import { UnknownOutcomeError } from '../../errors/registry.js';
import type { Row, TableDriver } from '../table-driver.js';

/** Shards per creation day. Part of the data model: changing it would let one machine bind twice. */
export const BINDING_SHARDS = 16;
const DAY_MS = 86_400_000;
/** Rows per conditional batch (Cassandra warns above 5 KiB per batch; a row is about 120 bytes). */
const BATCH_ROWS = 40;

export interface Binding {
  machineId: string;
  hostId: string;
  claimId: string;
  /** The binding's write time in microseconds: every copy of it onto the machine row carries it. */
  version: number;
  boundBy: string;
}

/** What to bind: the machine (its creation time names its partition) and the claim it holds. */
export interface BindingRequest { machineId: string; created: number; hostId: string; claimId: string }

/** The shard of a machine id (FNV-1a): which partition of its day, and which placer owns it. */
export function bindingShardOf(machineId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < machineId.length; i++) { h ^= machineId.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h % BINDING_SHARDS;
}

function partitionOf(r: Pick<BindingRequest, 'machineId' | 'created'>): { day: number; shard: number } {
  return { day: Math.floor(r.created / DAY_MS), shard: bindingShardOf(r.machineId) };
}

function rowToBinding(r: Row): Binding {
  return { machineId: r.machine_id as string, hostId: r.host_id as string, claimId: (r.claim_id as string) ?? '', version: Number(r.version), boundBy: (r.bound_by as string) ?? '' };
}

export class PlacementBindingStore {
  constructor(private readonly d: TableDriver) {}

  async get(machineId: string, created: number): Promise<Binding | null> {
    const r = await this.d.get('placement_bindings', { ...partitionOf({ machineId, created }), machine_id: machineId }, { serial: true });
    return r && r.host_id !== null ? rowToBinding(r) : null;
  }

  /**
   * Bind each machine to its host unless it is bound already. Returns the binding in force for every
   * machine: the one written here (boundBy = `by`, claimId its own) or the one found.
   */
  async bindAll(requests: BindingRequest[], by: string): Promise<Map<string, Binding>> {
    const out = new Map<string, Binding>();
    const groups = new Map<string, BindingRequest[]>();
    for (const r of requests) {
      const p = partitionOf(r);
      const k = `${p.day}/${p.shard}`;
      const g = groups.get(k);
      if (g) g.push(r); else groups.set(k, [r]);
    }
    // Real time, whatever clock the caller runs on: a later move's own write time must exceed it.
    const version = Date.now() * 1000;
    const chunks: BindingRequest[][] = [];
    for (const g of groups.values()) for (let i = 0; i < g.length; i += BATCH_ROWS) chunks.push(g.slice(i, i + BATCH_ROWS));
    await Promise.all(chunks.map(async (chunk) => {
      let left = chunk;
      // Each round either applies or removes at least one machine someone else bound: it ends.
      while (left.length > 0) {
        const rows = left.map((r) => ({ ...partitionOf(r), machine_id: r.machineId, host_id: r.hostId, claim_id: r.claimId, version, bound_by: by }));
        let applied: boolean;
        let existing: Row[];
        try {
          ({ applied, existing } = await this.d.casInsertAll('placement_bindings', rows));
        } catch (e) {
          if (!(e instanceof UnknownOutcomeError)) throw e;
          // Whether it applied is read back: a row with our claim id is ours.
          const found = await Promise.all(left.map((r) => this.get(r.machineId, r.created)));
          applied = found.every((b, i) => b !== null && b.claimId === left[i]!.claimId);
          existing = applied ? [] : found.filter((b): b is Binding => b !== null).map((b) => ({ machine_id: b.machineId, host_id: b.hostId, claim_id: b.claimId, version: b.version, bound_by: b.boundBy }));
          if (!applied && existing.length === 0) continue; // nothing there: nothing applied, try again
        }
        if (applied) {
          for (const r of left) out.set(r.machineId, { machineId: r.machineId, hostId: r.hostId, claimId: r.claimId, version, boundBy: by });
          return;
        }
        const taken = new Set<string>();
        for (const e of existing) { const b = rowToBinding(e); out.set(b.machineId, b); taken.add(b.machineId); }
        left = left.filter((r) => !taken.has(r.machineId));
      }
    }));
    return out;
  }
}
