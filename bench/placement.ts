/**
 * B1/B2 (issue 11): N machines waiting, H hosts, 1, 2 and 4 placers in this process racing over them
 * (every placer takes every machine: the worst case for conflicts). Reports placements/s, p50/p99 from
 * the request to the binding, claim conflicts and retries per machine, and, in the same run with the
 * same driver, the raw single-row lightweight-transaction rate of the store: placements/s ÷ raw LWT/s.
 * After every round it sums the allocations of every host against its capacity (0 overcommit).
 *   node dist/bench/placement.js --store cassandra|embedded [--hosts 5000] [--machines 2000] [--placers 1,2,4] [--fill 0]
 * --fill 0.95 first fills the fleet to 95 % (B2), then places the N machines into what is left.
 * Needs Cassandra on SKYBUS_CASSANDRA_CONTACT_POINTS for --store cassandra (scripts/cassandra/ctl.sh start).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../observability/logger.js';
import { SkybusMetrics } from '../observability/metrics.js';
import { capacityOf } from '../placement/choose-host.js';
import { placementConfig } from '../placement/config.js';
import { Placer } from '../placement/placer.js';
import { openStore, type BusStore } from '../schema/bus-store.js';
import type { MachineSpec } from '../schema/types.js';
import { cassandraConfig } from '../test/helpers/stores.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
}

const kind = arg('store', 'embedded') as 'embedded' | 'cassandra';
const hostsN = Number(arg('hosts', '5000'));
const machinesN = Number(arg('machines', '2000'));
const placerCounts = arg('placers', '1,2,4').split(',').map(Number);
const fill = Number(arg('fill', '0'));
const spec: MachineSpec = { cpu: 1, memoryKiB: 1048576, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} };
const RATIOS = { cpuAllocationRatio: 1, ramAllocationRatio: 1 };
const HOST_CPUS = 8;

async function pool<T>(items: T[], concurrency: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => { while (next < items.length) await fn(items[next++]!); }));
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function fresh(): Promise<{ store: BusStore; reopen(): Promise<BusStore>; done(): Promise<void> }> {
  if (kind === 'embedded') {
    const dir = mkdtempSync(join(tmpdir(), 'skybus-bench-placement-'));
    const cfg = { kind: 'embedded' as const, path: join(dir, 'bus.sqlite') };
    const store = await openStore(cfg);
    return { store, reopen: () => openStore(cfg), async done() { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
  }
  const cfg = cassandraConfig(`skybus_bench_pl_${Date.now().toString(36)}`);
  const store = await openStore(cfg);
  return { store, reopen: () => openStore(cfg), async done() { await store.close(); } };
}

/** The raw single-row LWT rate of this store, same driver, 64 in flight (the baseline). */
async function rawLwtRate(store: BusStore, n: number): Promise<number> {
  const t0 = performance.now();
  const ids = Array.from({ length: n }, (_, i) => i);
  await pool(ids, 64, (i) => store.driver.cas('affinity_anchors', { tenant: 'bench', grp: `g${Date.now()}-${i}`, host_id: 'h', machine_id: 'm', created: 0 }, { ifNotExists: true }));
  return n / ((performance.now() - t0) / 1000);
}

/**
 * The data model's floor for one placement without any lightweight transaction: read the machine,
 * write its host, read it back (what every placement does besides claims and bindings), same
 * driver, 64 in flight, on machines of their own.
 */
async function plainFloorRate(store: BusStore, n: number): Promise<number> {
  const ids: string[] = [];
  await pool(Array.from({ length: n }, (_, i) => i), 64, async (i) => { ids.push((await store.machines.create({ tenant: 'floor', name: `f${i}`, spec, desiredState: 'STARTED' })).id); });
  const t0 = performance.now();
  await pool(ids, 64, async (id) => {
    await store.machines.get(id);
    await store.driver.put('machines', { id, host_id: 'floor' }, { timestamp: Date.now() * 1000 });
    await store.machines.get(id);
  });
  return n / ((performance.now() - t0) / 1000);
}

async function overcommitted(store: BusStore): Promise<number> {
  let bad = 0;
  for (const h of await store.hosts.list()) {
    const cap = capacityOf(h, RATIOS);
    const sum = Object.values(h.allocations).reduce((a, x) => a + x.cpus, 0);
    if (sum > cap.cpus || sum !== h.usedCpus) bad++;
  }
  return bad;
}

const rows: Record<string, string | number>[] = [];
for (const placers of placerCounts) {
  const env = await fresh();
  const { store } = env;
  try {
    // The fleet: hosts registered with a live lease (no agents: placement only binds).
    await pool(Array.from({ length: hostsN }, (_, i) => i), 64, async (i) => {
      const id = `b${String(i).padStart(5, '0')}`;
      await store.hosts.register({ id, name: id, uri: 'test:///default', arch: 'x86_64', cpus: HOST_CPUS, memoryKiB: 64 * 1048576, labels: {} });
      await store.hosts.acquireLease(id, 'bench', 3600);
    });
    const stores = [store, ...(await Promise.all(Array.from({ length: placers - 1 }, () => env.reopen())))];
    const metrics = new SkybusMetrics();
    const mk = (i: number) => new Placer({ store: stores[i]!, log: silentLogger(), metrics, config: placementConfig({ ...RATIOS, instanceId: `p${i}`, intervalMs: 10, backoffBaseMs: 60_000, fullResyncMs: 3_600_000 }) });
    // The placers' clock follows real time (machines are requested in real-time buckets) and moves
    // on by at least 10 ms a round.
    let clock = Date.now();
    const tick = () => (clock = Math.max(clock + 10, Date.now()));
    if (fill > 0) {
      // B2: fill to `fill` first (placed the same way, not measured).
      const pre = Math.floor(hostsN * HOST_CPUS * fill);
      await pool(Array.from({ length: pre }, (_, i) => i), 64, (i) => store.machines.create({ tenant: 'fill', name: `f${i}`, spec, desiredState: 'STARTED' }));
      const filler = mk(0);
      for (let r = 0; r < 200; r++) { const rep = await filler.runOnce(tick()); if (rep.examined === 0) break; }
      const waiting = (await store.hosts.list()).reduce((a, h) => a + Object.keys(h.allocations).length, 0);
      console.error(`fill: ${waiting} of ${pre} machines placed`);
    }
    // Every placer has run a cycle (membership, policy, its first full resync) before the clock starts.
    const ps = Array.from({ length: placers }, (_, i) => mk(i));
    await Promise.all(ps.map((p) => p.runOnce(tick())));
    // A second warm cycle past the membership refresh: every placer sees the same list of placers.
    clock += 6_000;
    await Promise.all(ps.map((p) => p.runOnce(tick())));
    const created: { id: string; at: number }[] = [];
    await pool(Array.from({ length: machinesN }, (_, i) => i), 64, async (i) => {
      const m = await store.machines.create({ tenant: 'bench', name: `m${i}`, spec, desiredState: 'STARTED' });
      created.push({ id: m.id, at: m.created });
    });
    const conflicts0 = (await metrics.registry.getSingleMetric('skybus_claim_conflicts_total')?.get())?.values[0]?.value ?? 0;
    const tStart = Date.now();
    let badRounds = 0;
    let placing = 0;
    let retries = 0;
    let rounds = 0;
    for (let round = 0; round < 500; round++) {
      rounds++;
      tick();
      const t0 = performance.now();
      const reps = await Promise.all(ps.map((p) => p.runOnce(clock)));
      placing += performance.now() - t0;
      retries += reps.reduce((a, r) => a + r.retries, 0);
      // The overcommit check (every host's allocations summed against its capacity) is not timed.
      if ((await overcommitted(store)) > 0) badRounds++;
      if (reps.every((r) => r.examined === 0)) break;
    }
    const seconds = placing / 1000;
    const conflicts = ((await metrics.registry.getSingleMetric('skybus_claim_conflicts_total')?.get())?.values[0]?.value ?? 0) - conflicts0;
    const lat: number[] = [];
    const waitingWhy = new Map<string, number>();
    let placed = 0;
    for (const c of created) {
      const m = await store.machines.get(c.id);
      if (m?.hostId) { placed++; if (m.placement?.placedAt) lat.push(m.placement.placedAt - Math.max(c.at, tStart)); }
      else waitingWhy.set(m?.placement?.reason ?? 'no attempt recorded', (waitingWhy.get(m?.placement?.reason ?? 'no attempt recorded') ?? 0) + 1);
    }
    if (waitingWhy.size > 0) console.error(`not placed: ${JSON.stringify(Object.fromEntries(waitingWhy))}`);
    const raw = await rawLwtRate(store, 2000);
    const floor = await plainFloorRate(store, 2000);
    const rate = placed / seconds;
    rows.push({
      store: kind, hosts: hostsN, fill: `${Math.round(fill * 100)} %`, placers, machines: machinesN, placed, rounds, seconds: seconds.toFixed(1), 'placements/s': rate.toFixed(0),
      'p50 ms': pct(lat, 50).toFixed(0), 'p99 ms': pct(lat, 99).toFixed(0), 'conflicts/machine': (conflicts / Math.max(1, placed)).toFixed(2), 'retries/machine': (retries / Math.max(1, placed)).toFixed(2),
      'raw LWT/s': raw.toFixed(0), 'placements ÷ raw LWT': (rate / raw).toFixed(2),
      'plain floor/s': floor.toFixed(0), 'placements ÷ floor': (rate / floor).toFixed(2), 'overcommit rounds': badRounds,
    });
    console.error(JSON.stringify(rows.at(-1)));
    for (const s of stores.slice(1)) await s.close();
  } finally {
    await env.done();
  }
}
const cols = Object.keys(rows[0] ?? {});
console.log(`| ${cols.join(' | ')} |\n|${cols.map(() => '---:').join('|')}|\n${rows.map((r) => `| ${cols.map((c) => r[c]).join(' | ')} |`).join('\n')}`);
