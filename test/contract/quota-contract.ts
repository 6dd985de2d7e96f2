/**
 * The quota part of the store contract (called from store-contract.ts, so it runs on both stores with
 * the same names): limits and usage in tenant_quotas, charge and release as compare-and-sets on the
 * row's generation, release exactly once per machine (also through purge).
 */
import assert from 'node:assert/strict';
import { newId } from '../../schema/ids.js';
import type { MachineSpec } from '../../schema/types.js';
import type { StoreFixture } from '../helpers/stores.js';

const spec: MachineSpec = { cpu: 2, memoryKiB: 1048576, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} };
const need = { cpus: 2, memoryKiB: 1048576 };

export function quotaContract(fixture: () => StoreFixture): void {
  const raw = async (tenant: string) => (await fixture().raw('tenant_quotas', 'tenant = ?', [tenant]))[0];

  it('a tenant without a quota row is unlimited and unused; setLimits writes the row and bumps its generation', async () => {
    const { store } = fixture();
    const q0 = await store.quotas.get('q-fresh');
    assert.deepEqual(q0.limits, { machines: null, cpus: null, memoryKiB: null });
    assert.deepEqual(q0.used, { machines: 0, cpus: 0, memoryKiB: 0 });
    assert.equal(q0.generation, 0);
    assert.equal(await raw('q-fresh'), undefined);
    const q1 = await store.quotas.setLimits('q-fresh', { machines: 5, cpus: 8 });
    assert.deepEqual(q1.limits, { machines: 5, cpus: 8, memoryKiB: null });
    const r1 = await raw('q-fresh');
    assert.equal(r1.max_machines, 5);
    assert.equal(r1.max_cpus, 8);
    assert.equal(r1.max_memory_kib, null);
    assert.equal(r1.generation, 1);
    const q2 = await store.quotas.setLimits('q-fresh', { memoryKiB: 4 * 1048576, cpus: null });
    assert.deepEqual(q2.limits, { machines: 5, cpus: null, memoryKiB: 4 * 1048576 });
    assert.equal((await raw('q-fresh')).generation, 2);
  });

  it('charge is applied within every limit and refused over one, naming it; a refusal writes nothing', async () => {
    const { store } = fixture();
    await store.quotas.setLimits('q-cpu', { cpus: 5 });
    const a = await store.quotas.charge('q-cpu', newId(), need);
    const b = await store.quotas.charge('q-cpu', newId(), need);
    assert.ok(a.ok && b.ok);
    const before = await raw('q-cpu');
    assert.equal(before.used_cpus, 4);
    assert.equal(before.used_machines, 2);
    assert.equal(before.used_memory_kib, 2 * 1048576);
    assert.equal(Object.keys(JSON.parse(before.charges as string)).length, 2);
    const c = await store.quotas.charge('q-cpu', newId(), need);
    assert.equal(c.ok, false);
    assert.deepEqual(!c.ok && c.exceeded, { quota: 'cpus', limit: 5, used: 4, need: 2 });
    assert.deepEqual(await raw('q-cpu'), before);
    // A tenant with no row is charged (so a quota set later sees its use) and never refused.
    const free = await store.quotas.charge('q-unlimited', newId(), need);
    assert.ok(free.ok);
    assert.equal((await raw('q-unlimited')).used_machines, 1);
  });

  it('charging the same machine twice counts it once', async () => {
    const { store } = fixture();
    const id = newId();
    assert.ok((await store.quotas.charge('q-twice', id, need)).ok);
    assert.ok((await store.quotas.charge('q-twice', id, need)).ok);
    const r = await raw('q-twice');
    assert.equal(r.used_machines, 1);
    assert.equal(r.used_cpus, 2);
  });

  it('release gives a charge back exactly once: repeated and racing releases subtract nothing more', async () => {
    const { store } = fixture();
    const other = await fixture().reopen();
    const ids = [newId(), newId(), newId()];
    for (const id of ids) assert.ok((await store.quotas.charge('q-release', id, need)).ok);
    assert.equal(await store.quotas.release('q-release', ids[0]), true);
    assert.equal(await store.quotas.release('q-release', ids[0]), false);
    const racing = await Promise.all([1, 2, 3, 4].map((i) => (i % 2 ? store : other).quotas.release('q-release', ids[1])));
    assert.equal(racing.filter(Boolean).length, 1);
    assert.equal(await store.quotas.release('q-release', newId()), false, 'a machine never charged releases nothing');
    assert.equal(await store.quotas.release('q-no-row', newId()), false);
    const r = await raw('q-release');
    assert.equal(r.used_machines, 1);
    assert.equal(r.used_cpus, 2);
    assert.equal(r.used_memory_kib, 1048576);
    assert.deepEqual(Object.keys(JSON.parse(r.charges as string)), [ids[2]]);
  });

  it('20 concurrent charges from two connections against a limit of 10 machines: exactly 10 applied', async function () {
    this.timeout(120_000);
    const { store } = fixture();
    const other = await fixture().reopen();
    await store.quotas.setLimits('q-race', { machines: 10 });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).quotas.charge('q-race', newId(), need)));
    assert.equal(results.filter((r) => r.ok).length, 10);
    for (const r of results) if (!r.ok) assert.deepEqual(r.exceeded, { quota: 'machines', limit: 10, used: 10, need: 1 });
    const row = await raw('q-race');
    assert.equal(row.used_machines, 10);
    assert.equal(row.used_cpus, 20);
    assert.equal(Object.keys(JSON.parse(row.charges as string)).length, 10);
  });

  it('setting limits while charges race loses no charge', async function () {
    this.timeout(120_000);
    const { store } = fixture();
    const other = await fixture().reopen();
    await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => (i % 2 ? store : other).quotas.charge('q-mixed', newId(), need)),
      store.quotas.setLimits('q-mixed', { machines: 100 }),
      other.quotas.setLimits('q-mixed', { cpus: 100 }),
    ]);
    const q = await store.quotas.get('q-mixed', { serial: true });
    assert.equal(q.used.machines, 6);
    assert.equal(Object.keys(q.charges).length, 6);
    assert.deepEqual(q.limits, { machines: 100, cpus: 100, memoryKiB: null });
  });

  it('purge releases the machine\'s charge; a retried purge releases nothing more', async () => {
    const { store } = fixture();
    const id = newId();
    assert.ok((await store.quotas.charge('q-purge', id, need)).ok);
    assert.ok((await store.quotas.charge('q-purge', newId(), need)).ok);
    const m = await store.machines.create({ id, tenant: 'q-purge', name: 'p', spec, desiredState: 'STARTED' });
    assert.equal(m.id, id);
    await store.machines.purge(m);
    await store.machines.purge(m);
    const r = await raw('q-purge');
    assert.equal(r.used_machines, 1);
    assert.equal(r.used_cpus, 2);
    assert.equal(JSON.parse(r.charges as string)[id], undefined);
    assert.equal((await fixture().raw('machines', 'id = ?', [id])).length, 0);
  });
}
