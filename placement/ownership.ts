/**
 * How several placers share the work without talking to each other (docs/placement.md, "Several
 * placers"): the machines of a binding shard belong to one live placer (so its bindings batch into
 * few partitions), and each host is "home" to one placer, which tries its home hosts first (so
 * placers rarely race for the same host's compare-and-set). Both are pure functions of the sorted
 * list of live placers; views that differ for a moment cost a conflict, never correctness.
 */
import { bindingShardOf } from '../schema/store/placement-bindings.js';
import { ownerOf } from './choose-host.js';

/** The live placer that owns a machine: shards dealt round-robin over the sorted placers. */
export function machineOwner(machineId: string, placers: readonly string[]): string | null {
  if (placers.length === 0) return null;
  const sorted = [...placers].sort();
  return sorted[bindingShardOf(machineId) % sorted.length]!;
}

/** Whether `me` tries this host before others (every host is home when one placer runs). */
export function isHomeHost(hostId: string, placers: readonly string[], me: string): boolean {
  return placers.length <= 1 || ownerOf(hostId, [...placers]) === me;
}
