/**
 * Issue 11 on both stores: a policy stored on the bus reaches two running placers within one cycle and
 * changes where the next machines go; an invalid policy is refused and the old one stays in force;
 * host groups' ratios; anti-affinity and affinity hold with two placers racing over the same group;
 * explain agrees with what the placer then does.
 */
import assert from 'node:assert/strict';
import { silentLogger } from '../../observability/logger.js';
import { SkybusMetrics } from '../../observability/metrics.js';
import { placementConfig } from '../../placement/config.js';
import { machineOwner } from '../../placement/ownership.js';
import { newId } from '../../schema/ids.js';
import { explainPlacement } from '../../placement/explain.js';
import { expressionEngine } from '../../placement/expression-engine.js';
import { Placer } from '../../placement/placer.js';
import { storePolicy } from '../../placement/policy-source.js';
import type { BusStore } from '../../schema/bus-store.js';
import type { MachineSpec } from '../../schema/types.js';
import { onBothStores, type StoreFixture } from '../helpers/stores.js';

const spec = (cpu: number, extra: Partial<MachineSpec> = {}): MachineSpec => ({ cpu, memoryKiB: 256 * 1024, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {}, ...extra });

function policySuite(makeFixture: () => Promise<StoreFixture>) {
  let fx: StoreFixture;
  let other: BusStore;
  let p1: Placer;
  let p2: Placer;
  let clock = 0; // set in before(): past the takeover time, both placers take every machine (the worst case)
  const metrics = new SkybusMetrics();
  before(async function () {
    this.timeout(120_000);
    fx = await makeFixture();
    other = await fx.reopen();
    clock = Date.now() + 60_000; // at suite start, not at file load: other files may run for minutes in between
    for (const [id, cpus, labels] of [['h-a', 4, {}], ['h-b', 4, {}], ['h-c', 4, {}], ['h-dense', 2, { tier: 'dense' }]] as const) {
      await fx.store.hosts.register({ id, name: id, uri: 'test:///default', arch: 'x86_64', cpus, memoryKiB: 64 * 1048576, labels });
      await fx.store.hosts.acquireLease(id, 'test', 600);
    }
    const cfg = { cpuAllocationRatio: 1, ramAllocationRatio: 1, intervalMs: 50, backoffBaseMs: 60_000, fullResyncMs: 1, loadRefreshMs: 1 };
    p1 = new Placer({ store: fx.store, config: placementConfig({ ...cfg, instanceId: 'p1' }), log: silentLogger(), metrics });
    p2 = new Placer({ store: other, config: placementConfig({ ...cfg, instanceId: 'p2' }), log: silentLogger(), metrics });
  });
  after(async function () { this.timeout(60_000); await other?.close(); if (fx) await fx.cleanup(); });

  const round = async () => { clock += 10; await Promise.all([p1.runOnce(clock), p2.runOnce(clock)]); };
  const create = async (name: string, s: MachineSpec, id?: string) => (await fx.store.machines.create({ tenant: 'acme', name, spec: s, desiredState: 'STARTED', ...(id ? { id } : {}) })).id;
  /** A new machine id that placer `p` owns (its home hosts come first for it). */
  const idOwnedBy = (p: string) => { for (;;) { const id = newId(); if (machineOwner(id, ['p1', 'p2']) === p) return id; } };
  const hostOf = async (id: string) => (await fx.store.machines.get(id))!.hostId;
  const clear = async () => {
    for (const h of await fx.store.hosts.list()) for (const mid of Object.keys(h.allocations)) {
      const m = await fx.store.machines.get(mid);
      await fx.store.hosts.release(h.id, mid);
      if (m) await fx.store.machines.purge(m);
    }
  };

  it('a stored policy reaches both running placers within one cycle and moves the next machines; a bad one is refused and the old one stays', async function () {
    this.timeout(60_000);
    await round();
    assert.equal(p1.policy.version, 0);
    // Built-in packing: two 1-vCPU machines of one placer, one after the other, on the same host (with
    // several placers each packs the hosts home to it first: docs/placement.md, "Several placers").
    const a = [await create('pack-1', spec(1), idOwnedBy('p2'))];
    await round();
    a.push(await create('pack-2', spec(1), idOwnedBy('p2')));
    await round();
    await round();
    assert.equal(await hostOf(a[0]!), await hostOf(a[1]!), 'packing');
    // Striping in the policy's order alone (homeHosts false), so where they go does not depend on the hash.
    await storePolicy(fx.store, expressionEngine, { weigher: 'striping', cpuAllocationRatio: 1, homeHosts: false, hostGroups: [{ name: 'dense', labels: { tier: 'dense' }, cpuAllocationRatio: 8 }] }, 0, 'test');
    await round(); // one cycle
    assert.deepEqual([p1.policy.version, p2.policy.version], [1, 1]);
    const b = [await create('stripe-1', spec(1)), await create('stripe-2', spec(1))];
    await round();
    await round();
    const used = new Set([await hostOf(a[0]!), await hostOf(b[0]!), await hostOf(b[1]!)]);
    assert.equal(used.size, 3, 'striping spreads the next machines over empty hosts');
    assert.equal((await fx.store.machines.get(b[0]!))!.placement?.policyVersion, 1, 'the version that placed it is recorded');
    await assert.rejects(storePolicy(fx.store, expressionEngine, { weigher: 'nope' }, 1, 'test'), /weigher must be one of/);
    await assert.rejects(storePolicy(fx.store, expressionEngine, { weigher: 'packing' }, 0, 'test'), /changed meanwhile/);
    await round();
    assert.equal(p1.policy.version, 1);
    await clear();
  });

  it('host groups: the dense group\'s 8x CPU ratio lets a 2-CPU host take a 12-vCPU machine no other host can', async function () {
    this.timeout(60_000);
    const big = await create('big', spec(12));
    await round();
    await round();
    assert.equal(await hostOf(big), 'h-dense');
    await clear();
  });

  it('anti-affinity: four members placed at once by two placers land on four different hosts; a fifth waits, saying why', async function () {
    this.timeout(60_000);
    const anti = { affinity: { group: 'web', type: 'anti-affinity' as const } };
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await create(`web-${i}`, spec(1, anti)));
    for (let i = 0; i < 4; i++) await round();
    const hosts = await Promise.all(ids.map(hostOf));
    const placed = hosts.filter((h) => h !== null);
    assert.equal(placed.length, 4, JSON.stringify(hosts));
    assert.equal(new Set(placed).size, 4, `two members share a host: ${JSON.stringify(hosts)}`);
    const waiting = (await fx.store.machines.get(ids[hosts.indexOf(null)]!))!;
    assert.match(waiting.placement?.reason ?? '', /already running a machine of anti-affinity group 'web'/);
    await clear();
  });

  it('affinity: four members placed at once by two placers share one host', async function () {
    this.timeout(60_000);
    const aff = { affinity: { group: 'db', type: 'affinity' as const } };
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await create(`db-${i}`, spec(1, aff)));
    for (let i = 0; i < 4; i++) await round();
    const hosts = await Promise.all(ids.map(hostOf));
    assert.ok(hosts.every((h) => h !== null), JSON.stringify(hosts));
    assert.equal(new Set(hosts).size, 1, `members on several hosts: ${JSON.stringify(hosts)}`);
    assert.equal(await fx.store.placementPolicies.anchorOf('acme', 'db'), hosts[0]);
    await clear();
  });

  it('explain names the host the placer then picks', async function () {
    this.timeout(60_000);
    // Load one host so the choice is not a tie.
    const pre = await create('pre', spec(2));
    await round();
    await round();
    const id = await create('explained', spec(1));
    const m = (await fx.store.machines.get(id))!;
    const e = await explainPlacement(fx.store, m.spec, m.tenant, p1.policy, { machineId: m.id });
    assert.ok(e.chosen);
    assert.notEqual(e.chosen, await hostOf(pre), 'striping avoids the loaded host');
    await round();
    await round();
    assert.equal(await hostOf(id), e.chosen);
    await clear();
  });

  it('a requirement expression in the policy reaches both placers and confines the next machines', async function () {
    this.timeout(60_000);
    const cur = (await fx.store.placementPolicies.get())!;
    await storePolicy(fx.store, expressionEngine, { ...JSON.parse(cur.body), requirements: 'labels.tier = "dense" | free.cpu >= 100' }, cur.version, 'test');
    await round();
    assert.deepEqual([p1.policy.version, p2.policy.version], [cur.version + 1, cur.version + 1]);
    const ids = [await create('req-1', spec(1)), await create('req-2', spec(1))];
    await round();
    await round();
    assert.deepEqual(await Promise.all(ids.map(hostOf)), ['h-dense', 'h-dense']);
    await clear();
  });

  it('load-aware: the hosts\' latest monitoring samples decide, not their allocation; a host without a fresh sample is weighed by allocation and explain says so', async function () {
    this.timeout(60_000);
    const setPolicy = async (doc: Record<string, unknown>) => {
      const cur = (await fx.store.placementPolicies.get())!;
      await storePolicy(fx.store, expressionEngine, { homeHosts: false, cpuAllocationRatio: 1, ...doc }, cur.version, 'test');
      await round();
    };
    // Allocation alone would pick h-a: h-b and h-dense get half allocated first (a requirement sends them).
    for (const [host, cpus] of [['h-b', 2], ['h-dense', 1]] as const) {
      await setPolicy({ weigher: 'packing', requirements: `id = "${host}"` });
      const pre = await create(`pre-${host}`, spec(cpus));
      await round();
      await round();
      assert.equal(await hostOf(pre), host);
    }
    await setPolicy({ weigher: 'load-aware' });
    const sample = (hostId: string, busy: number, ts: number) => ({
      hostId, ts, intervalMs: 10_000, cpus: 4, memoryKiB: 64 * 1048576, guestCpuUsed: busy, guestMemoryKiB: 1048576, load1: null, domains: { running: 1 }, machines: [],
    });
    const writeSamples = async (busy: Record<string, number>) => {
      for (const [h, b] of Object.entries(busy)) await fx.store.monitoring.putLatest(sample(h, b, clock));
      // h-dense's agent stopped sampling an hour ago: stale, so it is weighed by allocation.
      await fx.store.monitoring.putLatest({ ...sample('h-dense', 0, clock - 3_600_000), cpus: 2 });
    };
    // Samples: h-a busy (0.9 of its CPUs), h-b nearly idle (0.1), h-c half (0.5).
    await writeSamples({ 'h-a': 3.6, 'h-b': 0.4, 'h-c': 2 });
    await round();
    assert.deepEqual([p1.policy.doc.weigher, p2.policy.doc.weigher], ['load-aware', 'load-aware']);
    const first = await create('load-1', spec(1));
    const m = (await fx.store.machines.get(first))!;
    const e = await explainPlacement(fx.store, m.spec, m.tenant, p1.policy, { machineId: m.id, now: clock });
    assert.equal(e.chosen, 'h-b', JSON.stringify(e.hosts));
    assert.ok(e.notes.some((n) => /3 of 4 hosts weighed by their latest monitoring sample; 1 without a fresh one \(h-dense\) weighed by allocation/.test(n)), JSON.stringify(e.notes));
    await round();
    await round();
    assert.equal(await hostOf(first), 'h-b', 'the least loaded host by its sample, though the most allocated');
    // The load moves: h-b gets busy, h-c goes idle; the next machine follows the new samples.
    await writeSamples({ 'h-a': 3.6, 'h-b': 3.9, 'h-c': 0 });
    const second = await create('load-2', spec(1));
    await round();
    await round();
    assert.equal(await hostOf(second), 'h-c');
    // Every sample stale: allocation decides again (h-a, the least allocated), and explain says so.
    clock += 3_600_000;
    const third = await create('load-3', spec(1));
    const e3 = await explainPlacement(fx.store, spec(1), 'acme', p1.policy, { now: clock });
    assert.ok(e3.notes.some((n) => /0 of 4 hosts weighed by their latest monitoring sample/.test(n)), JSON.stringify(e3.notes));
    await round();
    await round();
    assert.equal(await hostOf(third), 'h-a');
    await clear();
  });
}

describe('placement policy from the bus, live', function () {
  onBothStores(policySuite);
});
