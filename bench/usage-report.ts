/**
 * A month's usage report (issue 12): M machines of one tenant with one usage record per period for
 * D days, then the report by machine (frontend/usage-report.ts, streamed a page of one day partition
 * at a time). Baseline in the same run: reading the same pages through the same store without
 * aggregating. Also the heap the report needed above what was in use before it (sampled every 5 ms).
 *
 *   node dist/bench/usage-report.js --store embedded|cassandra [--machines 1000] [--days 30] [--period 3600]
 */
import { daysOf, tenantUsage } from '../frontend/usage-report.js';
import { arg, freshBus } from './bench-store.js';
import { newId } from '../schema/ids.js';
import { dayOf } from '../schema/store/telemetry.js';

const kind = arg('store', 'embedded') as 'embedded' | 'cassandra';
const machinesN = Number(arg('machines', '1000'));
const days = Number(arg('days', '30'));
const periodS = Number(arg('period', '3600'));
const DAY_MS = 86_400_000;

async function pool<T>(items: T[], concurrency: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => { while (next < items.length) await fn(items[next++]!); }));
}

async function main(): Promise<void> {
  const { store, done } = await freshBus(kind, 'usage');
  try {
    const from = Math.floor(Date.UTC(2026, 9, 1) / DAY_MS) * DAY_MS; // 2026-10-01, 30 days
    const to = from + days * DAY_MS;
    const machines = Array.from({ length: machinesN }, () => newId());
    const perDay = DAY_MS / (periodS * 1000);
    const t0 = performance.now();
    let written = 0;
    for (let d = 0; d < days; d++) {
      const dayStart = from + d * DAY_MS;
      await store.telemetry.noteUsageTenant(dayOf(dayStart), 'bench');
      const jobs: [string, number][] = [];
      for (const id of machines) for (let p = 0; p < perDay; p++) jobs.push([id, dayStart + p * periodS * 1000]);
      await pool(jobs, 64, ([machineId, periodStart]) => store.telemetry.putUsage({
        tenant: 'bench', machineId, periodStart, periodSeconds: periodS, hostId: 'h1', state: 'STARTED', vcpus: 2, memoryKiB: 2 * 1048576,
        cpuSeconds: periodS / 10, stateSeconds: { STARTED: periodS - 60, STOPPED: 60 }, observedSeconds: periodS,
      }));
      written += jobs.length;
    }
    const writeS = (performance.now() - t0) / 1000;
    console.error(`wrote ${written} records in ${writeS.toFixed(1)} s (${(written / writeS).toFixed(0)}/s)`);

    // Baseline: the same pages read, nothing aggregated.
    const r0 = performance.now();
    let read = 0;
    for (const day of daysOf(from, to)) {
      let pageState: string | null = null;
      do {
        const page = await store.telemetry.usagePage('bench', day, { limit: 1000, pageState });
        read += page.items.length;
        pageState = page.pageState;
      } while (pageState);
    }
    const readS = (performance.now() - r0) / 1000;

    const timed = async (rollups: boolean) => {
      global.gc?.();
      const heap0 = process.memoryUsage().heapUsed;
      let peak = heap0;
      const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().heapUsed); }, 5);
      const q0 = performance.now();
      const report = await tenantUsage(store, { tenant: 'bench', from, to, byMachine: true, rollups });
      const s = (performance.now() - q0) / 1000;
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().heapUsed);
      if (report.totals.records !== written || report.machines !== machinesN) throw new Error(`report counted ${report.totals.records} records of ${report.machines} machines, expected ${written} of ${machinesN}`);
      const expectVcpuH = Math.round(((2 * periodS * written) / 3600) * 1e6) / 1e6;
      if (Math.abs(report.totals.vcpuHours - expectVcpuH) > 1e-3) throw new Error(`vCPU-hours ${report.totals.vcpuHours}, expected ${expectVcpuH}`);
      return { s, heapMiB: (peak - heap0) / 1048576, report };
    };
    const raw = await timed(false);
    const first = await timed(true); // computes and writes the 30 daily rollups
    const second = await timed(true); // reads them
    if (JSON.stringify(first.report) !== JSON.stringify(raw.report) || JSON.stringify(second.report) !== JSON.stringify(raw.report)) throw new Error('rollups disagree with the records');
    const reportS = raw.s;
    const recordBytes = 200; // about what one record's JSON row would take, for the comparison below
    const row = {
      store: kind, machines: machinesN, days, 'period s': periodS, records: written, 'write s': writeS.toFixed(1),
      'read pages s (baseline)': readS.toFixed(2), 'report from records s': reportS.toFixed(2), 'report ÷ read': (reportS / readS).toFixed(2),
      'heap growth MiB': raw.heapMiB.toFixed(1), 'first report, writing rollups s': first.s.toFixed(2), 'report from rollups s': second.s.toFixed(3),
      'rollups ÷ records': (second.s / reportS).toFixed(3),
      'all records in memory would be MiB (at ~200 B)': ((written * recordBytes) / 1048576).toFixed(0),
    };
    console.error(JSON.stringify({ ...row, read }));
    const cols = Object.keys(row);
    console.log(`| ${cols.join(' | ')} |\n|${cols.map(() => '---:').join('|')}|\n| ${cols.map((c) => (row as Record<string, unknown>)[c]).join(' | ')} |`);
  } finally {
    await done();
  }
}

await main();
