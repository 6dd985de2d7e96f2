/** Placement settings: validated with defaults at start-up, then passed down. */
import { ConfigError } from '../errors/registry.js';
import { hostLivenessPolicy, type HostLivenessPolicy } from '../schema/host-health.js';

export type PlacementPolicy = 'packing' | 'striping';

export interface PlacementConfig {
  instanceId: string;
  /** Pause between cycles when there was nothing to do. */
  intervalMs: number;
  policy: PlacementPolicy;
  /** Virtual CPUs that may be placed per physical CPU. */
  cpuAllocationRatio: number;
  /** Memory that may be placed per byte of host memory. */
  ramAllocationRatio: number;
  /** Claims lost to other placers before a machine waits for its next cycle (OpenStack uses 10). */
  maxClaimRetries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How many one-minute request buckets back each cycle reads. */
  lookbackBuckets: number;
  /** Full scan of the machines table for anything unplaced (the level-triggered safety net). */
  fullResyncMs: number;
  /** How often the hosts' latest monitoring samples are read again (load-aware weigher, `load` in expressions). */
  loadRefreshMs: number;
  /** Requests in flight per placer (claims on different hosts, reads, binding batches). */
  parallelism: number;
  /** When a host counts as down, and the fencing allowances before its HA machines move (schema/host-health.ts). */
  liveness: HostLivenessPolicy;
  /** How often down hosts are looked for (placement/ha-restart.ts). */
  haCheckMs: number;
  /**
   * A machine unplaced for longer than this shows ERROR with placement's reason and its create Job
   * fails; placement keeps trying, and placing it clears the error (docs/lifecycle.md). Default 10 min.
   */
  unplacedDeadlineMs: number;
}

export function placementConfig(partial: Partial<PlacementConfig> = {}): PlacementConfig {
  const cfg: PlacementConfig = {
    instanceId: partial.instanceId ?? `placement-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    intervalMs: partial.intervalMs ?? 500,
    policy: partial.policy ?? 'packing',
    cpuAllocationRatio: partial.cpuAllocationRatio ?? 4,
    ramAllocationRatio: partial.ramAllocationRatio ?? 1,
    maxClaimRetries: partial.maxClaimRetries ?? 10,
    backoffBaseMs: partial.backoffBaseMs ?? 1000,
    backoffMaxMs: partial.backoffMaxMs ?? 60_000,
    lookbackBuckets: partial.lookbackBuckets ?? 10,
    fullResyncMs: partial.fullResyncMs ?? 60_000,
    loadRefreshMs: partial.loadRefreshMs ?? 10_000,
    parallelism: partial.parallelism ?? 32,
    liveness: hostLivenessPolicy(partial.liveness),
    haCheckMs: partial.haCheckMs ?? 5_000,
    unplacedDeadlineMs: partial.unplacedDeadlineMs ?? 10 * 60_000,
  };
  if (cfg.policy !== 'packing' && cfg.policy !== 'striping') throw new ConfigError(`placement policy must be packing or striping, not '${String(cfg.policy)}'`);
  for (const k of ['cpuAllocationRatio', 'ramAllocationRatio'] as const) {
    if (!(cfg[k] > 0) || cfg[k] > 64) throw new ConfigError(`${k} must be > 0 and <= 64`);
  }
  for (const k of ['intervalMs', 'backoffBaseMs', 'backoffMaxMs', 'fullResyncMs', 'loadRefreshMs', 'maxClaimRetries', 'lookbackBuckets', 'parallelism', 'haCheckMs', 'unplacedDeadlineMs'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new ConfigError(`${k} must be a positive integer`);
  }
  return cfg;
}
