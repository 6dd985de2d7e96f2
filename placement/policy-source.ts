/**
 * Where a placer gets its policy: the bus row (placement_policies 'default'), read every cycle (one
 * point read) and compiled once per version; until an operator stores one, the built-in policy from
 * the start-up settings (version 0). A stored body that no longer validates (written by a newer
 * version, or by hand) is logged and the last good policy stays in force.
 */
import type { Logger } from '../observability/logger.js';
import type { BusStore } from '../schema/bus-store.js';
import type { PlacementConfig } from './config.js';
import { compilePolicy, defaultPolicy, parsePolicyBody, type CompiledPolicy, type ExpressionEngine, type PolicyDoc } from './policy.js';

export class PolicySource {
  private compiled: CompiledPolicy;
  private badVersion = -1;

  constructor(private readonly store: BusStore, config: PlacementConfig, private readonly engine: ExpressionEngine, private readonly log: Logger) {
    this.compiled = compilePolicy(builtIn(config), 0, engine);
  }

  get current(): CompiledPolicy { return this.compiled; }

  /** Re-read the row; compile a new version. Returns the policy in force. */
  async refresh(): Promise<CompiledPolicy> {
    const row = await this.store.placementPolicies.get();
    if (!row || row.version === this.compiled.version || row.version === this.badVersion) return this.compiled;
    try {
      const doc = parsePolicyBody(JSON.parse(row.body), this.engine);
      this.compiled = compilePolicy(doc, row.version, this.engine);
      this.log.info({ version: row.version, weigher: doc.weigher, by: row.updatedBy }, 'placement policy in force');
    } catch (e) {
      this.badVersion = row.version;
      this.log.error({ version: row.version, err: e }, 'stored placement policy does not validate: keeping the one in force');
    }
    return this.compiled;
  }
}

export function builtIn(config: PlacementConfig): PolicyDoc {
  return defaultPolicy({ cpuAllocationRatio: config.cpuAllocationRatio, ramAllocationRatio: config.ramAllocationRatio }, config.policy);
}

/** The stored policy as a reader outside placement sees it (API, CLI): the row parsed, or the default (version 0). */
export async function storedPolicy(store: BusStore, engine: ExpressionEngine): Promise<{ doc: PolicyDoc; version: number; updated: number | null; updatedBy: string | null }> {
  const row = await store.placementPolicies.get();
  if (!row) return { doc: defaultPolicy(), version: 0, updated: null, updatedBy: null };
  return { doc: parsePolicyBody(JSON.parse(row.body), engine), version: row.version, updated: row.updated, updatedBy: row.updatedBy };
}

/** Validate and store a policy over the version its editor read (ConflictError if it moved on). */
export async function storePolicy(store: BusStore, engine: ExpressionEngine, body: unknown, expectedVersion: number, by: string): Promise<{ doc: PolicyDoc; version: number }> {
  const doc = parsePolicyBody(body, engine);
  const row = await store.placementPolicies.set(JSON.stringify(doc), expectedVersion, by);
  return { doc, version: row.version };
}
