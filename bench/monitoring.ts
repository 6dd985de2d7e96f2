/**
 * The bus write cost of host monitoring (issue 12): H agents with M machines each, sampling every
 * I seconds, each interval writing what hypervisor-agent/host-monitor.ts writes (one host_samples
 * row with every machine, the host_latest row) through the real MonitoringStore, on schedule for
 * D seconds. Reported: writes/s, bytes/s of the row payload, write latency, and in the same run the
 * store's raw plain-write ceiling (small rows, 64 in flight) and how many hosts at M machines one
 * node could take at this interval if nothing else wrote (the sample rate unthrottled).
 *
 *   node dist/bench/monitoring.js --store cassandra [--hosts 100] [--machines 30] [--interval 10] [--seconds 60]
 */
import type { BusStore } from '../schema/bus-store.js';
import { arg, freshBus } from './bench-store.js';
import { newId } from '../schema/ids.js';
import { sampleColumns } from '../schema/store/monitoring-rows.js';
import type { HostSample } from '../schema/types.js';

const kind = arg('store', 'cassandra') as 'embedded' | 'cassandra';
const hostsN = Number(arg('hosts', '100'));
const machinesN = Number(arg('machines', '30'));
const intervalS = Number(arg('interval', '10'));
const seconds = Number(arg('seconds', '60'));

function sampleOf(hostId: string, machines: string[], ts: number): HostSample {
  return {
    hostId, ts, intervalMs: intervalS * 1000, cpus: 64, memoryKiB: 256 * 1048576, guestCpuUsed: 12.5 + Math.random(), guestMemoryKiB: machines.length * 2 * 1048576,
    load1: 3.2, domains: { running: machines.length },
    machines: machines.map((id) => ({ machineId: id, state: 'running', vcpus: 2, cpuUsed: Math.round(Math.random() * 2000) / 1000, memoryKiB: 2 * 1048576, maxMemoryKiB: 2 * 1048576 })),
  };
}

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : 0; };

async function rawWriteRate(store: BusStore, n: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < n) { const i = next++; await store.driver.put('services', { role: `bench${i % 64}`, instance_id: `w${i}`, address: 'x', started: 1, last_seen: 1, info: '{}' }, { ttlSeconds: 60 }); }
  }));
  return n / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const { store, done } = await freshBus(kind, 'mon');
  try {
    const hosts = Array.from({ length: hostsN }, (_, i) => ({ id: `mon${String(i).padStart(4, '0')}`, machines: Array.from({ length: machinesN }, () => newId()) }));
    const rowBytes = Buffer.byteLength(JSON.stringify({ host_id: hosts[0]!.id, hour: 0, ...sampleColumns(sampleOf(hosts[0]!.id, hosts[0]!.machines, Date.now()), false) }));
    // On schedule: every host once per interval, spread evenly over it (as independent agents would be).
    const lat: number[] = [];
    let writes = 0;
    let late = 0;
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    const spacing = (intervalS * 1000) / hostsN;
    const pending: Promise<void>[] = [];
    for (let k = 0; ; k++) {
      const due = t0 + k * spacing;
      if (due >= end) break;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait)); else if (wait < -spacing) late++;
      const h = hosts[k % hostsN]!;
      pending.push((async () => {
        const s = sampleOf(h.id, h.machines, Date.now());
        const w0 = performance.now();
        await Promise.all([store.monitoring.putSample(s), store.monitoring.putLatest(s)]);
        lat.push(performance.now() - w0);
        writes += 2;
      })());
    }
    await Promise.all(pending);
    const elapsed = (performance.now() - t0) / 1000;
    const writesPerS = writes / elapsed;
    // Unthrottled: how many samples/s (2 writes each) the store takes at this size, 64 in flight.
    let n = 0;
    const u0 = performance.now();
    const total = 3000;
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (n < total) { const h = hosts[n++ % hostsN]!; const s = sampleOf(h.id, h.machines, Date.now() + n); await Promise.all([store.monitoring.putSample(s), store.monitoring.putLatest(s)]); }
    }));
    const samplesPerSMax = total / ((performance.now() - u0) / 1000);
    const raw = await rawWriteRate(store, 5000);
    const row = {
      store: kind, hosts: hostsN, 'machines/host': machinesN, 'interval s': intervalS, seconds: elapsed.toFixed(0),
      'writes/s': writesPerS.toFixed(1), 'row bytes': rowBytes, 'payload KiB/s': ((writesPerS * rowBytes) / 1024).toFixed(1),
      'write p50 ms': pct(lat, 50).toFixed(1), 'write p99 ms': pct(lat, 99).toFixed(1), 'late samples': late,
      'raw plain writes/s': raw.toFixed(0), 'writes ÷ raw': (writesPerS / raw).toFixed(4),
      'max samples/s (unthrottled)': samplesPerSMax.toFixed(0), 'hosts one node takes at this interval': (samplesPerSMax * intervalS).toFixed(0),
    };
    console.error(JSON.stringify(row));
    const cols = Object.keys(row);
    console.log(`| ${cols.join(' | ')} |\n|${cols.map(() => '---:').join('|')}|\n| ${cols.map((c) => (row as Record<string, unknown>)[c]).join(' | ')} |`);
  } finally {
    await done();
  }
}

await main();
