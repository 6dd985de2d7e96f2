/**
 * Two placement instances racing over 200 machines and a small fleet, on both stores: no host is
 * ever over capacity and every machine ends placed or explicitly unschedulable.
 */
import assert from 'node:assert/strict';
import { silentLogger } from '../../observability/logger.js';
import { SkybusMetrics } from '../../observability/metrics.js';
import { capacityOf } from '../../placement/choose-host.js';
import { placementConfig } from '../../placement/config.js';
import { Placer } from '../../placement/placer.js';
import type { MachineSpec } from '../../schema/types.js';
import { onBothStores, type StoreFixture } from '../helpers/stores.js';

const spec = (cpu: number): MachineSpec => ({ cpu, memoryKiB: 256 * 1024, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} });

function raceSuite(makeFixture: () => Promise<StoreFixture>) {
  let fx: StoreFixture;
  before(async function () { this.timeout(120_000); fx = await makeFixture(); });
  after(async function () { this.timeout(60_000); if (fx) await fx.cleanup(); });

  it('two placers over 200 machines never overcommit a host; every machine is placed or says why not', async function () {
    this.timeout(300_000);
    const { store } = fx;
    // 6 hosts x 8 CPUs x ratio 2 = 96 CPU slots; machines ask 1 or 2 CPUs: about 300 asked, so some cannot fit.
    for (let i = 0; i < 6; i++) {
      await store.hosts.register({ id: `race-${i}`, name: `race-${i}`, uri: 'test:///default', arch: 'x86_64', cpus: 8, memoryKiB: 64 * 1024 * 1024, labels: {} });
      await store.hosts.acquireLease(`race-${i}`, 'test', 600);
    }
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push((await store.machines.create({ tenant: 'race', name: `m${i}`, spec: spec(1 + (i % 2)), desiredState: 'STARTED' })).id);
    const other = await fx.reopen();
    const metrics = new SkybusMetrics();
    const cfg = { cpuAllocationRatio: 2, ramAllocationRatio: 1, intervalMs: 50, backoffBaseMs: 60_000 };
    const p1 = new Placer({ store, config: placementConfig({ ...cfg, instanceId: 'p1' }), log: silentLogger(), metrics });
    const p2 = new Placer({ store: other, config: placementConfig({ ...cfg, instanceId: 'p2' }), log: silentLogger(), metrics });
    // Both take everything (takeover time passed): the worst case for conflicts.
    const t = Date.now() + 60_000;
    for (let round = 0; round < 6; round++) await Promise.all([p1.runOnce(t + round), p2.runOnce(t + round)]);
    const hosts = await store.hosts.list();
    let placedCpus = 0;
    for (const h of hosts) {
      const cap = capacityOf(h, cfg);
      assert.ok(h.usedCpus <= cap.cpus, `${h.id} over capacity: ${h.usedCpus} > ${cap.cpus}`);
      const sum = Object.values(h.allocations).reduce((a, x) => a + x.cpus, 0);
      assert.equal(sum, h.usedCpus, `${h.id}: allocations and usage disagree`);
      placedCpus += h.usedCpus;
    }
    let placed = 0;
    let unschedulable = 0;
    for (const id of ids) {
      const m = (await store.machines.get(id))!;
      if (m.hostId) {
        placed++;
        const h = hosts.find((x) => x.id === m.hostId)!;
        assert.ok(h.allocations[id], `machine ${id} placed on ${m.hostId} without an allocation there`);
        const elsewhere = hosts.filter((x) => x.id !== m.hostId && x.allocations[id]);
        assert.equal(elsewhere.length, 0, `machine ${id} allocated twice`);
      } else {
        unschedulable++;
        assert.match(m.placement?.reason ?? '', /hosts fit/, `machine ${id} unplaced without a reason`);
      }
    }
    assert.equal(placed + unschedulable, 200);
    assert.ok(placed > 0 && unschedulable > 0);
    assert.ok(placedCpus > 90, `fleet should be nearly full, ${placedCpus} of 96 CPU slots used`);
    await p1.stop();
    await p2.stop();
  });

  it('four placers fill a fleet to 100 %: never over capacity after any round, each machine bound once, its one allocation where it is bound', async function () {
    this.timeout(300_000);
    const { store } = fx;
    // 8 hosts x 4 CPUs (ratio 1) = 32 slots for 44 one-CPU machines: the fleet ends exactly full.
    for (let i = 0; i < 8; i++) {
      await store.hosts.register({ id: `full-${i}`, name: `full-${i}`, uri: 'test:///default', arch: 'riscv64', cpus: 4, memoryKiB: 64 * 1024 * 1024, labels: { pool: 'full' } });
      await store.hosts.acquireLease(`full-${i}`, 'test', 600);
    }
    const req = { ...spec(1), cpuArch: 'riscv64', requirements: { pool: 'full' } };
    const ids: string[] = [];
    for (let i = 0; i < 44; i++) ids.push((await store.machines.create({ tenant: 'full', name: `f${i}`, spec: req, desiredState: 'STARTED' })).id);
    const stores = [store, ...(await Promise.all([1, 2, 3].map(() => fx.reopen())))];
    const cfg = { cpuAllocationRatio: 1, ramAllocationRatio: 1, intervalMs: 50, backoffBaseMs: 1, backoffMaxMs: 1, fullResyncMs: 1 };
    const ps = stores.map((s, i) => new Placer({ store: s, config: placementConfig({ ...cfg, instanceId: `q${i}` }), log: silentLogger(), metrics: new SkybusMetrics() }));
    const fleet = async () => (await store.hosts.list()).filter((h) => h.id.startsWith('full-'));
    // Past the takeover time every placer takes every machine: four claims race for each one.
    let t = Date.now() + 60_000;
    for (let round = 0; round < 8; round++) {
      await Promise.all(ps.map((p) => p.runOnce(t += 5)));
      for (const h of await fleet()) {
        assert.ok(h.usedCpus <= 4, `round ${round}: ${h.id} over capacity (${h.usedCpus} of 4)`);
        assert.equal(Object.values(h.allocations).reduce((a, x) => a + x.cpus, 0), h.usedCpus, `round ${round}: ${h.id} allocations and usage disagree`);
      }
    }
    const hosts = await fleet();
    const allocated = new Map<string, string[]>();
    for (const h of hosts) for (const mid of Object.keys(h.allocations)) allocated.set(mid, [...(allocated.get(mid) ?? []), h.id]);
    let placed = 0;
    for (const id of ids) {
      const m = (await store.machines.get(id))!;
      const where = allocated.get(id) ?? [];
      if (m.hostId) {
        placed++;
        assert.deepEqual(where, [m.hostId], `machine ${id} bound to ${m.hostId}, allocated on ${JSON.stringify(where)}`);
        assert.equal((await store.machines.bindings.get(id, m.created))?.hostId, m.hostId, 'the machine row copies its binding');
        assert.ok((await store.machines.listOnHost(m.hostId)).some((c) => c.machineId === id), 'its spec reached the host partition');
      } else {
        assert.deepEqual(where, [], `unplaced machine ${id} still holds capacity on ${JSON.stringify(where)}`);
      }
    }
    assert.equal(placed, 32, 'every slot taken');
    assert.ok(hosts.every((h) => h.usedCpus === 4));
    for (const p of ps) await p.stop();
    for (const s of stores.slice(1)) await s.close();
  });

  it('a claim left behind by a failed binding is used, not doubled; one for a vanished machine is released', async function () {
    this.timeout(60_000);
    const { store } = fx;
    // aarch64, so the unschedulable x86_64 machines of the test above cannot land here.
    await store.hosts.register({ id: 'leak-0', name: 'leak-0', uri: 'test:///default', arch: 'aarch64', cpus: 4, memoryKiB: 8 * 1024 * 1024, labels: { pool: 'leak' } });
    await store.hosts.acquireLease('leak-0', 'test', 600);
    const req = { ...spec(1), cpuArch: 'aarch64', requirements: { pool: 'leak' } };
    const stranded = await store.machines.create({ tenant: 'leak', name: 'stranded', spec: req, desiredState: 'STARTED' });
    const vanished = await store.machines.create({ tenant: 'leak', name: 'vanished', spec: req, desiredState: 'STARTED' });
    // A placer claimed for both, then died before binding either; one machine was then purged.
    let h = (await store.hosts.get('leak-0'))!;
    const c1 = await store.hosts.claim(h, stranded.id, { cpus: 1, memoryKiB: 256 * 1024 });
    assert.ok(c1.ok);
    h = c1.host;
    assert.ok((await store.hosts.claim(h, vanished.id, { cpus: 1, memoryKiB: 256 * 1024 })).ok);
    await store.machines.purge(vanished);
    const p = new Placer({ store, config: placementConfig({ instanceId: 'p-leak', fullResyncMs: 1 }), log: silentLogger(), metrics: new SkybusMetrics() });
    await p.runOnce(Date.now() + 60_000);
    await p.runOnce(Date.now() + 60_002);
    const after = (await store.hosts.get('leak-0'))!;
    assert.equal((await store.machines.get(stranded.id))?.hostId, 'leak-0');
    assert.deepEqual(Object.keys(after.allocations), [stranded.id], `the stranded claim is the binding; the vanished one is gone: ${JSON.stringify(after.allocations)} vanished=${vanished.id}`);
    assert.equal(after.usedCpus, 1);
    await p.stop();
  });
}

describe('placement race', () => {
  onBothStores(raceSuite);
});
