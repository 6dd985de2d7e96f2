/**
 * A host's hourly rollup from the hour's stored samples (pure): min/avg/max of the host's figures and
 * of each machine's. The same samples in any order give the same rollup, so the agent that writes it
 * again after a restart (from the same partition, perhaps a few samples more) rewrites the same key
 * with the same or a more complete value: never a second row.
 */
import type { HostRollup, HostSample, MachineRollup, MinAvgMax } from '../schema/types.js';

const HOUR_MS = 3_600_000;

/** min/avg/max of the values (avg to a thousandth, within [min, max]); null for none. */
export function summarize(values: readonly number[]): MinAvgMax | null {
  if (values.length === 0) return null;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) { if (v < min) min = v; if (v > max) max = v; sum += v; }
  const avg = Math.min(max, Math.max(min, Math.round((sum / values.length) * 1000) / 1000));
  return { min, avg, max };
}

function known(values: readonly (number | null)[]): number[] {
  return values.filter((v): v is number => v !== null);
}

/** The rollup of `hour` (hours since the epoch) from the samples that fall in it; null when there are none. */
export function rollupHour(hostId: string, hour: number, samples: readonly HostSample[]): HostRollup | null {
  const inHour = samples.filter((s) => Math.floor(s.ts / HOUR_MS) === hour).sort((a, b) => a.ts - b.ts);
  const last = inHour[inHour.length - 1];
  if (!last) return null;
  const perMachine = new Map<string, { cpu: (number | null)[]; mem: number[] }>();
  for (const s of inHour) {
    for (const m of s.machines) {
      let acc = perMachine.get(m.machineId);
      if (!acc) { acc = { cpu: [], mem: [] }; perMachine.set(m.machineId, acc); }
      acc.cpu.push(m.cpuUsed);
      acc.mem.push(m.memoryKiB);
    }
  }
  const machines: MachineRollup[] = [...perMachine.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([machineId, acc]) => ({ machineId, samples: acc.mem.length, cpuUsed: summarize(known(acc.cpu)), memoryKiB: summarize(acc.mem)! }));
  return {
    hostId, hour, samples: inHour.length, firstTs: inHour[0]!.ts, lastTs: last.ts, cpus: last.cpus, memoryKiB: last.memoryKiB,
    guestCpuUsed: summarize(known(inHour.map((s) => s.guestCpuUsed))),
    guestMemoryKiB: summarize(inHour.map((s) => s.guestMemoryKiB))!,
    load1: summarize(known(inHour.map((s) => s.load1))),
    machines,
  };
}
