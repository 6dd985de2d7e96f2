/** Volumes (migration 0011, store.volumes and the volume quotas), part of the store contract: same names on both stores. */
import assert from 'node:assert/strict';
import { ConflictError } from '../../errors/registry.js';
import { newId } from '../../schema/ids.js';
import type { VolumeSpec } from '../../schema/types.js';
import type { StoreFixture } from '../helpers/stores.js';

const spec: VolumeSpec = { capacityKiB: 1024 * 1024, format: 'qcow2', configId: null, templateId: null };

export function volumesContract(fixture: () => StoreFixture): void {
  it('a volume is written with its tenant index, listed per tenant and has no host until placed', async () => {
    const { store, raw } = fixture();
    const a = await store.volumes.create({ tenant: 'tv1', name: 'a', spec, quotaGiB: 1 });
    const b = await store.volumes.create({ tenant: 'tv1', name: 'b', spec: { ...spec, format: 'raw' } });
    await store.volumes.create({ tenant: 'tv2', name: 'other', spec });
    const page = await store.volumes.listByTenant('tv1');
    assert.deepEqual(page.items.map((v) => v.name), ['a', 'b']);
    const [row] = await raw('volumes', 'id = ?', [a.id]);
    assert.equal(row.quota_gib, 1);
    assert.equal(row.host_id, null);
    assert.equal(row.generation, 1);
    assert.equal((await store.volumes.get(b.id))?.spec.format, 'raw');
    assert.equal((await store.volumes.get(a.id))?.status, null);
  });

  it('the first attach sets the host once, mirrors into the host partition, and the sub-collection confirms it', async () => {
    const { store, raw } = fixture();
    const v = await store.volumes.create({ tenant: 'tv3', name: 'v', spec });
    const machineId = newId();
    const att = { id: newId(), machineId, device: 'vdb', created: Date.now() };
    await store.volumes.putMachineVolume({ machineId, id: att.id, volumeId: v.id, device: 'vdb', created: att.created });
    const after = await store.volumes.updateSpec(v.id, 1, { attachment: att, hostId: 'host-a' });
    assert.equal(after.hostId, 'host-a');
    assert.equal(after.generation, 2);
    const onHost = await store.volumes.listOnHost('host-a');
    assert.equal(onHost.length, 1);
    assert.equal(onHost[0]!.attachment?.machineId, machineId);
    assert.equal(onHost[0]!.generation, 2);
    const [hostRow] = await raw('volumes_by_host', 'host_id = ? AND volume_id = ?', ['host-a', v.id]);
    assert.equal(hostRow.machine_id, machineId);
    const mv = await store.volumes.machineVolumes(machineId);
    assert.deepEqual(mv.map((x) => x.ref.device), ['vdb']);
    // The host is taken only while none is set: a second host assignment fails the condition.
    await assert.rejects(store.volumes.updateSpec(v.id, 2, { attachment: null, hostId: 'host-b' }), ConflictError);
    assert.equal((await store.volumes.get(v.id))?.hostId, 'host-a');
    // Detach: the volume row first, the sub-collection row after.
    await store.volumes.updateSpec(v.id, 2, { attachment: null });
    await store.volumes.removeMachineVolume(machineId, att.id);
    assert.deepEqual(await store.volumes.machineVolumes(machineId), []);
    assert.equal((await store.volumes.listOnHost('host-a'))[0]!.attachment, null);
  });

  it('racing attaches at the same generation: exactly one wins', async () => {
    const { store } = fixture();
    const v = await store.volumes.create({ tenant: 'tv4', name: 'v', spec });
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_x, i) => store.volumes.updateSpec(v.id, 1, {
      attachment: { id: newId(), machineId: newId(), device: 'vdb', created: Date.now() }, hostId: `h-${i}`,
    })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConflictError);
    const got = await store.volumes.get(v.id);
    assert.equal(got?.generation, 2);
    assert.equal((await store.volumes.listOnHost(got!.hostId!)).length, 1);
  });

  it('a sub-collection row the volume does not confirm is not an attachment', async () => {
    const { store } = fixture();
    const v = await store.volumes.create({ tenant: 'tv5', name: 'v', spec });
    const machineId = newId();
    await store.volumes.putMachineVolume({ machineId, id: newId(), volumeId: v.id, device: 'vdc', created: Date.now() });
    assert.deepEqual(await store.volumes.machineVolumes(machineId), []);
  });

  it('status is the agent\'s write, and never resurrects a purged volume', async () => {
    const { store, raw } = fixture();
    const v = await store.volumes.create({ tenant: 'tv6', name: 'v', spec });
    await store.volumes.setStatus(v.id, { state: 'AVAILABLE', observedGeneration: 1, error: null, path: '/x', hostId: 'h', updatedAt: 1 });
    assert.equal((await store.volumes.get(v.id))?.status?.state, 'AVAILABLE');
    await store.volumes.purge({ id: v.id, tenant: 'tv6', hostId: null });
    await store.volumes.setStatus(v.id, { state: 'AVAILABLE', observedGeneration: 1, error: null, path: '/x', hostId: 'h', updatedAt: 2 });
    assert.equal(await store.volumes.get(v.id), null);
    assert.equal((await raw('volumes', 'id = ?', [v.id])).length, 0);
  });

  it('volume quotas: charged within the limits, refused over one naming it, released exactly once at purge', async () => {
    const { store, raw } = fixture();
    const t = 'tv-quota';
    await store.quotas.setLimits(t, { volumes: 2, volumeGiB: 5 });
    const ids = [newId(), newId(), newId()];
    assert.ok((await store.quotas.chargeVolume(t, ids[0]!, 2)).ok);
    const over = await store.quotas.chargeVolume(t, ids[1]!, 4);
    assert.deepEqual(!over.ok && over.exceeded, { quota: 'volumeGiB', limit: 5, used: 2, need: 4 });
    // Charging the same volume again is a no-op (a retry).
    assert.ok((await store.quotas.chargeVolume(t, ids[0]!, 2)).ok);
    assert.ok((await store.quotas.chargeVolume(t, ids[1]!, 3)).ok);
    const full = await store.quotas.chargeVolume(t, ids[2]!, 0);
    assert.deepEqual(!full.ok && full.exceeded, { quota: 'volumes', limit: 2, used: 2, need: 1 });
    const q = await store.quotas.get(t);
    assert.deepEqual(q.volumeUsed, { volumes: 2, volumeGiB: 5 });
    assert.deepEqual(q.volumeLimits, { volumes: 2, volumeGiB: 5 });
    // Machine totals are untouched.
    assert.deepEqual(q.used, { machines: 0, cpus: 0, memoryKiB: 0 });
    const v = await store.volumes.create({ id: ids[0], tenant: t, name: 'v', spec, quotaGiB: 2 });
    // Two purges racing, then a retried one: given back once.
    await Promise.all([store.volumes.purge(v), store.quotas.releaseVolume(t, v.id)]);
    await store.volumes.purge(v);
    const [row] = await raw('tenant_quotas', 'tenant = ?', [t]);
    assert.equal(row.used_volumes, 1);
    assert.equal(row.used_volume_gib, 3);
    // A failed create gives its charge back.
    await store.volumes.abandonCreate({ id: ids[1]!, tenant: t }, 3);
    assert.equal((await raw('volumes', 'id = ?', [ids[1]!])).length, 0);
    assert.deepEqual((await store.quotas.get(t)).volumeUsed, { volumes: 0, volumeGiB: 0 });
  });

  it('recount repairs the volume totals too: a leaked charge is dropped, a released volume still present is not subtracted again', async () => {
    const { store } = fixture();
    const t = 'tv-recount';
    const kept = newId();
    assert.ok((await store.quotas.chargeVolume(t, kept, 2)).ok);
    await store.volumes.create({ id: kept, tenant: t, name: 'kept', spec, quotaGiB: 2 });
    assert.ok((await store.quotas.chargeVolume(t, newId(), 5)).ok); // its create never wrote the volume: leaked
    const going = newId();
    assert.ok((await store.quotas.chargeVolume(t, going, 1)).ok);
    const v = await store.volumes.create({ id: going, tenant: t, name: 'going', spec, quotaGiB: 1 });
    const dry = await store.quotas.recount(t, { settleMs: 0, dryRun: true, pageSize: 1 });
    assert.deepEqual(dry.volumesBefore, { volumes: 3, volumeGiB: 8 });
    assert.deepEqual(dry.volumesCounted, { volumes: 2, volumeGiB: 3 });
    assert.equal(dry.applied, false);
    const fixed = await store.quotas.recount(t, { settleMs: 0 });
    assert.equal(fixed.applied, true);
    assert.deepEqual((await store.quotas.get(t)).volumeUsed, { volumes: 2, volumeGiB: 3 });
    // A purge now gives 'going' back once; recount agrees afterwards.
    await store.volumes.purge(v);
    assert.deepEqual((await store.quotas.get(t)).volumeUsed, { volumes: 1, volumeGiB: 2 });
    assert.equal((await store.quotas.recount(t, { settleMs: 0 })).applied, false);
  });
}
