/**
 * The quota part of the store contract (called from store-contract.ts, so it runs on both stores with
 * the same names): limits and totals in tenant_quotas (a row that does not grow with the tenant),
 * charge as a compare-and-set on the row's generation, the charge recorded on the machine row,
 * release exactly once per machine (flag on the machine row, then an idempotent decrement; also
 * through purge, retried and racing), failed creates, and recount as the repair.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { newId } from '../../schema/ids.js';
import type { MachineSpec } from '../../schema/types.js';
import type { StoreFixture } from '../helpers/stores.js';

const spec: MachineSpec = { cpu: 2, memoryKiB: 1048576, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} };
const need = { cpus: 2, memoryKiB: 1048576 };

export function quotaContract(fixture: () => StoreFixture): void {
  const raw = async (tenant: string) => (await fixture().raw('tenant_quotas', 'tenant = ?', [tenant]))[0];
  const rawMachine = async (id: string) => (await fixture().raw('machines', 'id = ?', [id]))[0];
  /** Charge a machine and write it with its charge, as a frontend's create does. */
  const charged = async (tenant: string, id: string) => {
    const { store } = fixture();
    assert.ok((await store.quotas.charge(tenant, id, need)).ok);
    return store.machines.create({ id, tenant, name: 'm', spec, desiredState: 'STARTED', quota: need });
  };
  /** A purger that set the machine's release flag (as quotas.release does) and died before the totals. */
  const crashAfterFlag = async (id: string, tenant: string) => {
    const { store } = fixture();
    const gen = (await store.quotas.get(tenant, { serial: true })).generation;
    const { applied } = await store.driver.cas('machines', { id, quota_release: `${gen}:${randomUUID()}` }, { if: { tenant, quota_release: null } });
    assert.ok(applied);
  };

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
    assert.equal(JSON.parse(before.recent_changes as string).length, 3, 'one recent change per write: the limits and two charges');
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
    for (const id of ids) await charged('q-release', id);
    assert.equal(await store.quotas.release('q-release', ids[0]), true);
    assert.equal(await store.quotas.release('q-release', ids[0]), false);
    const racing = await Promise.all([1, 2, 3, 4].map((i) => (i % 2 ? store : other).quotas.release('q-release', ids[1])));
    assert.equal(racing.filter(Boolean).length, 1);
    const uncharged = await store.machines.create({ tenant: 'q-release', name: 'free', spec, desiredState: 'STARTED' });
    assert.equal(await store.quotas.release('q-release', uncharged.id), false, 'a machine never charged releases nothing');
    assert.equal(await store.quotas.release('q-release', newId()), false, 'a machine that does not exist releases nothing');
    assert.equal(await store.quotas.release('q-other', ids[2]), false, 'nor does another tenant\'s');
    assert.equal(await store.quotas.release('q-no-row', newId()), false);
    const r = await raw('q-release');
    assert.equal(r.used_machines, 1);
    assert.equal(r.used_cpus, 2);
    assert.equal(r.used_memory_kib, 1048576);
    const m = await rawMachine(ids[1]);
    assert.match(m.quota_release as string, /^\d+:[0-9a-f-]{36}$/);
    assert.equal(m.quota_cpus, 2);
    assert.equal((await rawMachine(ids[2])).quota_release, null);
    assert.equal((await fixture().raw('machines', 'id = ?', [newId()])).length, 0);
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
    assert.deepEqual(q.limits, { machines: 100, cpus: 100, memoryKiB: null });
  });

  it('purge releases the machine\'s charge; a retried purge and racing purgers release nothing more', async () => {
    const { store } = fixture();
    const other = await fixture().reopen();
    const m = await charged('q-purge', newId());
    await charged('q-purge', newId());
    const m3 = await charged('q-purge', newId());
    await store.machines.purge(m);
    await store.machines.purge(m);
    await Promise.all([store, other, store, other].map((s) => s.machines.purge(m3)));
    const r = await raw('q-purge');
    assert.equal(r.used_machines, 1);
    assert.equal(r.used_cpus, 2);
    assert.equal((await fixture().raw('machines', 'id = ?', [m.id])).length, 0);
    assert.equal((await fixture().raw('machines', 'id = ?', [m3.id])).length, 0);
  });

  it('a tenant with 3,000 charged machines still charges and releases; its quota row stays small', async function () {
    this.timeout(600_000);
    const { store } = fixture();
    await store.quotas.setLimits('q-big', { machines: 3001 });
    for (let i = 0; i < 3000; i++) assert.ok((await store.quotas.charge('q-big', newId(), need)).ok);
    const m = await charged('q-big', newId());
    assert.equal((await store.quotas.get('q-big')).used.machines, 3001);
    await store.machines.purge(m);
    const r = await raw('q-big');
    assert.equal(r.used_machines, 3000);
    assert.equal(r.used_cpus, 6000);
    assert.ok((r.recent_changes as string).length < 4096, `recent_changes is ${(r.recent_changes as string).length} bytes`);
    assert.equal(JSON.parse(r.recent_changes as string).length, 64);
    assert.ok((await store.quotas.charge('q-big', newId(), need)).ok);
    const over = await store.quotas.charge('q-big', newId(), need);
    assert.deepEqual(!over.ok && over.exceeded, { quota: 'machines', limit: 3001, used: 3001, need: 1 });
  });

  it('a purge retried after a crash between the release flag and the totals completes the release once', async () => {
    const { store } = fixture();
    const other = await fixture().reopen();
    const m = await charged('q-crash', newId());
    await charged('q-crash', newId());
    await crashAfterFlag(m.id, 'q-crash');
    assert.equal((await raw('q-crash')).used_machines, 2, 'flag set, totals not yet decremented');
    await Promise.all([store.machines.purge(m), other.machines.purge(m)]);
    await store.machines.purge(m);
    const r = await raw('q-crash');
    assert.equal(r.used_machines, 1);
    assert.equal(r.used_cpus, 2);
  });

  it('a release left undecided (flag set, more than 64 changes since) is repaired by recount, once', async function () {
    this.timeout(120_000);
    const { store } = fixture();
    const m = await charged('q-repair', newId());
    const keep = [await charged('q-repair', newId()), await charged('q-repair', newId())];
    await crashAfterFlag(m.id, 'q-repair');
    for (let i = 0; i < 70; i++) await store.quotas.setLimits('q-repair', { machines: 100 + i });
    await store.machines.purge(m); // cannot tell whether the crashed purger subtracted it: leaves it (too high, never too low)
    assert.equal((await raw('q-repair')).used_machines, 3);
    await assert.rejects(store.quotas.recount('q-repair'), /changed 0 s ago/, 'a tenant that just changed is not recounted');
    const dry = await store.quotas.recount('q-repair', { settleMs: 0, dryRun: true, pageSize: 1 });
    assert.deepEqual(dry.counted, { machines: 2, cpus: 4, memoryKiB: 2 * 1048576 });
    assert.equal(dry.applied, false);
    assert.equal((await raw('q-repair')).used_machines, 3);
    const fixed = await store.quotas.recount('q-repair', { settleMs: 0, pageSize: 1 });
    assert.deepEqual(fixed.before, { machines: 3, cpus: 6, memoryKiB: 3 * 1048576 });
    assert.equal(fixed.applied, true);
    const r = await raw('q-repair');
    assert.equal(r.used_machines, 2);
    assert.equal(r.used_cpus, 4);
    assert.equal(r.max_machines, 169, 'limits untouched');
    assert.equal((await store.quotas.recount('q-repair', { settleMs: 0 })).applied, false, 'nothing left to repair');
    for (const k of keep) await store.machines.purge(k);
    assert.equal((await raw('q-repair')).used_machines, 0);
  });

  it('recount: a machine released but still present is not subtracted again by its purger; a leaked charge is dropped', async () => {
    const { store } = fixture();
    const m = await charged('q-recount', newId());
    await charged('q-recount', newId());
    assert.ok((await store.quotas.charge('q-recount', newId(), need)).ok, 'charged, but its frontend died before writing the machine');
    await crashAfterFlag(m.id, 'q-recount');
    assert.equal((await raw('q-recount')).used_machines, 3);
    const fixed = await store.quotas.recount('q-recount', { settleMs: 0 });
    assert.equal(fixed.releasedPresent, 1);
    assert.equal((await raw('q-recount')).used_machines, 1);
    await store.machines.purge(m); // the purger comes back: recount already counted it out
    assert.equal((await raw('q-recount')).used_machines, 1);
  });

  it('a failed create gives its charge back once, whether or not the machine write reached the bus', async () => {
    const { store } = fixture();
    await store.quotas.setLimits('q-abandon', { machines: 2 });
    const lost = newId();
    assert.ok((await store.quotas.charge('q-abandon', lost, need)).ok);
    await store.machines.abandonCreate({ id: lost, tenant: 'q-abandon' }, need); // the write never landed
    const landed = newId();
    assert.ok((await store.quotas.charge('q-abandon', landed, need)).ok);
    await store.machines.create({ id: landed, tenant: 'q-abandon', name: 'x', spec, desiredState: 'STARTED', quota: need });
    await store.machines.abandonCreate({ id: landed, tenant: 'q-abandon' }, need); // it landed, then the caller saw an error
    await store.machines.purge({ id: landed, tenant: 'q-abandon', hostId: null });
    const r = await raw('q-abandon');
    assert.equal(r.used_machines, 0);
    assert.equal(r.used_cpus, 0);
    for (const id of [lost, landed]) assert.equal((await fixture().raw('machines', 'id = ?', [id])).length, 0, 'no marker row left');
    assert.equal((await fixture().raw('machines_by_tenant', 'tenant = ?', ['q-abandon'])).length, 0);
  });
}
