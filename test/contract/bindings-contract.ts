/**
 * Contract of what batched placement stands on (issue 11), on both stores: the conditional batch
 * (all or none, reporting who was there), writes that carry their own time (a late old write never
 * undoes a newer one; a deleted row stays deleted; a compare-and-set made later wins), and the
 * binding store built on them (exactly once, however many placers race).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ValidationError } from '../../errors/registry.js';
import { newId } from '../../schema/ids.js';
import { bindingShardOf } from '../../schema/store/placement-bindings.js';
import type { MachineSpec } from '../../schema/types.js';
import type { StoreFixture } from '../helpers/stores.js';

const spec: MachineSpec = { cpu: 1, memoryKiB: 65536, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} };
const DAY = 86_400_000;

export function bindingsContract(fx: () => StoreFixture): void {
  describe('conditional batches and timed writes', () => {
    it('a conditional batch applies all of its rows or none, and says which were there', async () => {
      const d = fx().store.driver;
      const day = 20_000 + Math.floor(Math.random() * 1000);
      const row = (m: string, h: string) => ({ day, shard: 3, machine_id: m, host_id: h, claim_id: 'c', version: 1, bound_by: 't' });
      assert.deepEqual(await d.casInsertAll('placement_bindings', [row('m1', 'h1'), row('m2', 'h1')]), { applied: true, existing: [] });
      const r = await d.casInsertAll('placement_bindings', [row('m3', 'h2'), row('m2', 'h2'), row('m4', 'h2')]);
      assert.equal(r.applied, false);
      assert.deepEqual(r.existing.map((e) => [e.machine_id, e.host_id]), [['m2', 'h1']]);
      assert.equal((await fx().raw('placement_bindings', 'day = ? AND shard = ? AND machine_id = ?', [day, 3, 'm3'])).length, 0, 'none of a refused batch is written');
      assert.equal((await fx().raw('placement_bindings', 'day = ? AND shard = ? AND machine_id = ?', [day, 3, 'm2']))[0]?.host_id, 'h1');
    });

    it('a conditional batch must stay in one partition and name each row once', async () => {
      const d = fx().store.driver;
      const row = (shard: number, m: string) => ({ day: 1, shard, machine_id: m, host_id: 'h', claim_id: 'c', version: 1, bound_by: 't' });
      await assert.rejects(d.casInsertAll('placement_bindings', [row(1, 'a'), row(2, 'b')]), ValidationError);
      await assert.rejects(d.casInsertAll('placement_bindings', [row(1, 'a'), row(1, 'a')]), ValidationError);
    });

    it('a write carrying an older time does not undo a newer one; a newer one replaces it', async () => {
      const { store, raw } = fx();
      const m = await store.machines.create({ tenant: 'tts', name: 'ts', spec, desiredState: 'STARTED' });
      const t = Date.now() * 1000;
      await store.driver.put('machines', { id: m.id, host_id: 'new' }, { timestamp: t });
      await store.driver.put('machines', { id: m.id, host_id: 'old' }, { timestamp: t - 5_000_000 });
      assert.equal((await raw('machines', 'id = ?', [m.id]))[0]?.host_id, 'new');
      await store.driver.put('machines', { id: m.id, host_id: 'newer' }, { timestamp: t + 1 });
      assert.equal((await store.machines.get(m.id))?.hostId, 'newer');
      await assert.rejects(store.driver.put('machines', { id: m.id, host_id: 'x' }, { timestamp: -1 }), ValidationError);
      await assert.rejects(store.driver.cas('machines', { id: m.id, host_id: 'x' }, { ifExists: true }, { timestamp: t }), ValidationError);
    });

    it('a compare-and-set after a timed write wins over a late copy of that timed write', async () => {
      const { store } = fx();
      const m = await store.machines.create({ tenant: 'tts', name: 'move', spec, desiredState: 'STARTED' });
      const t = Date.now() * 1000 - 1_000_000; // bound a second ago
      await store.driver.put('machines', { id: m.id, host_id: 'h-1' }, { timestamp: t });
      assert.equal(await store.machines.moveHost(m.id, 'h-1', 'h-2'), true);
      await store.driver.put('machines', { id: m.id, host_id: 'h-1' }, { timestamp: t }); // the late copy
      assert.equal((await store.machines.get(m.id))?.hostId, 'h-2');
    });

    it('a timed write to a row deleted after that time does not bring it back', async () => {
      const { store, raw } = fx();
      const m = await store.machines.create({ tenant: 'tts', name: 'gone', spec, desiredState: 'STARTED' });
      const t = Date.now() * 1000 - 1_000_000;
      await store.machines.purge(m);
      await store.driver.put('machines', { id: m.id, host_id: 'h' }, { timestamp: t });
      assert.equal((await raw('machines', 'id = ?', [m.id])).length, 0);
      assert.equal(await store.machines.get(m.id), null);
    });
  });

  describe('placement bindings', () => {
    it('bindAll binds each machine exactly once, across partitions, and returns the binding in force', async () => {
      const { store } = fx();
      const now = Date.now();
      const ids = Array.from({ length: 90 }, () => newId(now));
      const created = (i: number) => now - (i % 3) * DAY; // three days of partitions
      assert.ok(new Set(ids.map(bindingShardOf)).size > 4, 'the ids spread over shards');
      const first = await store.machines.bindings.bindAll(ids.slice(0, 60).map((id, i) => ({ machineId: id, created: created(i), hostId: 'h-a', claimId: `a-${i}` })), 'p1');
      assert.equal([...first.values()].filter((b) => b.boundBy === 'p1').length, 60);
      // A second placer binds all 90: the 60 are taken (their binding comes back), the other 30 are its own.
      const second = await store.machines.bindings.bindAll(ids.map((id, i) => ({ machineId: id, created: created(i), hostId: 'h-b', claimId: `b-${i}` })), 'p2');
      for (let i = 0; i < 90; i++) {
        const b = second.get(ids[i]!)!;
        assert.deepEqual([b.hostId, b.claimId], i < 60 ? ['h-a', `a-${i}`] : ['h-b', `b-${i}`], `machine ${i}`);
        assert.equal((await store.machines.bindings.get(ids[i]!, created(i)))?.hostId, b.hostId);
      }
    });

    it('four binders racing over the same 40 machines: each machine ends with one binding, the same for all', async function () {
      this.timeout(60_000);
      const { store } = fx();
      const others = await Promise.all([1, 2, 3].map(() => fx().reopen()));
      try {
        const now = Date.now();
        const ids = Array.from({ length: 40 }, () => newId(now));
        const results = await Promise.all([store, ...others].map((s, p) => s.machines.bindings.bindAll(
          // Each binder in its own order, so their batches interleave differently.
          [...ids].sort(() => Math.random() - 0.5).map((id) => ({ machineId: id, created: now, hostId: `h-${p}`, claimId: randomUUID() })), `p${p}`)));
        for (const id of ids) {
          const seen = new Set(results.map((r) => JSON.stringify(r.get(id))));
          assert.equal(seen.size, 1, `binders disagree on ${id}: ${[...seen].join(' / ')}`);
          assert.equal((await store.machines.bindings.get(id, now))?.claimId, results[0]!.get(id)!.claimId);
        }
      } finally {
        for (const o of others) await o.close();
      }
    });
  });
}
