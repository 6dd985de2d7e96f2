/** Networks and machines_by_network (migration 0010), part of the store contract: same names on both stores. */
import assert from 'node:assert/strict';
import { ConflictError, NotFoundError } from '../../errors/registry.js';
import { newId } from '../../schema/ids.js';
import { STALE_REFERENCE_MS } from '../../schema/store/networks.js';
import type { MachineSpec, Network } from '../../schema/types.js';
import type { StoreFixture } from '../helpers/stores.js';

const groups = [{ hostLabels: { zone: 'a' }, libvirtNetwork: 'default' }];

function specOn(...nets: Network[]): MachineSpec {
  return {
    cpu: 1, memoryKiB: 65536, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {},
    networkInterfaces: nets.map((n) => ({ network: n.id, networkName: n.name, hostGroups: n.hostGroups })),
  };
}

export function networksContract(fixture: () => StoreFixture): void {
  it('a network is written with its host groups and read back, listed, and its row holds what was given', async () => {
    const fx = fixture();
    const n = await fx.store.networks.create({ name: 'public', description: 'the outside', networkType: 'PUBLIC', hostGroups: groups, properties: { k: 'v' } });
    const back = await fx.store.networks.get(n.id);
    assert.deepEqual(back, n);
    assert.equal(back?.state, 'STARTED');
    assert.ok((await fx.store.networks.list()).some((x) => x.id === n.id));
    const [row] = await fx.raw('networks', 'id = ?', [n.id]);
    assert.equal(row!.name, 'public');
    assert.deepEqual(JSON.parse(row!.host_groups as string), groups);
    assert.equal(row!.tenant, null);
  });

  it('a machine created on a network is recorded in machines_by_network, and its purge removes the record', async () => {
    const fx = fixture();
    const n = await fx.store.networks.create({ name: 'n-purge', hostGroups: groups });
    const m = await fx.store.machines.create({ tenant: 'tn', name: 'vm', spec: specOn(n, n), desiredState: 'STARTED' });
    const rows = await fx.raw('machines_by_network', 'network_id = ?', [n.id]);
    assert.deepEqual(rows.map((r) => r.machine_id), [m.id]);
    assert.deepEqual((await fx.store.networks.users(n.id)).map((u) => [u.machineId, u.tenant]), [[m.id, 'tn']]);
    // The purge reads the spec from the row when not given it.
    await fx.store.machines.purge({ id: m.id, tenant: 'tn', hostId: null });
    assert.equal((await fx.raw('machines_by_network', 'network_id = ?', [n.id])).length, 0);
  });

  it('a network with a live machine is not deleted (it stays STARTED); once the machine is purged it is', async () => {
    const fx = fixture();
    const n = await fx.store.networks.create({ name: 'n-busy', hostGroups: groups });
    const m = await fx.store.machines.create({ tenant: 'tn', name: 'vm', spec: specOn(n), desiredState: 'STARTED' });
    const users = await fx.store.networks.remove(n.id);
    assert.deepEqual(users.map((u) => u.machineId), [m.id]);
    assert.equal((await fx.store.networks.get(n.id))?.state, 'STARTED');
    await fx.store.machines.purge(m);
    assert.deepEqual(await fx.store.networks.remove(n.id), []);
    assert.equal(await fx.store.networks.get(n.id), null);
    assert.equal((await fx.raw('networks', 'id = ?', [n.id])).length, 0);
    await assert.rejects(fx.store.networks.remove(n.id), NotFoundError);
  });

  it('a machine cannot be created on a network that is gone or being deleted, and leaves no record behind', async () => {
    const fx = fixture();
    const gone = await fx.store.networks.create({ name: 'n-gone', hostGroups: groups });
    assert.deepEqual(await fx.store.networks.remove(gone.id), []);
    const id1 = newId();
    await assert.rejects(fx.store.machines.create({ id: id1, tenant: 'tn', name: 'vm', spec: specOn(gone), desiredState: 'STARTED' }), ConflictError);
    assert.equal(await fx.store.machines.get(id1), null);
    assert.equal((await fx.raw('machines_by_network', 'network_id = ?', [gone.id])).length, 0);

    const deleting = await fx.store.networks.create({ name: 'n-deleting', hostGroups: groups });
    // What a delete that stopped between its two steps leaves behind.
    await fx.store.driver.put('networks', { id: deleting.id, state: 'DELETING' });
    const id2 = newId();
    await assert.rejects(fx.store.machines.create({ id: id2, tenant: 'tn', name: 'vm', spec: specOn(deleting), desiredState: 'STARTED' }), ConflictError);
    assert.equal((await fx.raw('machines_by_network', 'network_id = ?', [deleting.id])).length, 0);
    // A retried delete completes it.
    assert.deepEqual(await fx.store.networks.remove(deleting.id), []);
    assert.equal(await fx.store.networks.get(deleting.id), null);
  });

  it('a leftover record of a create that died (no machine row, older than the grace) does not block a delete; a young one does', async () => {
    const fx = fixture();
    const n = await fx.store.networks.create({ name: 'n-stale', hostGroups: groups });
    const now = Date.now();
    await fx.store.networks.attach(n.id, newId(), 'tn', now - STALE_REFERENCE_MS - 1000);
    const young = newId();
    await fx.store.networks.attach(n.id, young, 'tn', now);
    assert.deepEqual((await fx.store.networks.remove(n.id, now)).map((u) => u.machineId), [young]);
    assert.deepEqual((await fx.store.networks.users(n.id)).map((u) => u.machineId), [young]);
    await fx.store.networks.detach(n.id, young);
    assert.deepEqual(await fx.store.networks.remove(n.id, now), []);
  });

  it('a create racing a delete: either the machine exists and the network too, or the create was refused', async () => {
    const fx = fixture();
    for (let i = 0; i < 5; i++) {
      const n = await fx.store.networks.create({ name: `n-race-${i}`, hostGroups: groups });
      const id = newId();
      const [created, removed] = await Promise.allSettled([
        fx.store.machines.create({ id, tenant: 'tn', name: 'vm', spec: specOn(n), desiredState: 'STARTED' }),
        fx.store.networks.remove(n.id),
      ]);
      const machine = await fx.store.machines.get(id);
      const network = await fx.store.networks.get(n.id);
      if (created.status === 'fulfilled') {
        assert.ok(network, 'the machine names a network that exists');
        assert.equal(removed.status === 'fulfilled' && removed.value.length, 1);
        await fx.store.machines.purge(machine!);
      } else {
        // Refused: the network is gone, or (both saw each other) the delete answered "in use" and left it STARTED.
        assert.equal(machine, null);
        assert.equal(removed.status, 'fulfilled');
        assert.ok(network === null || network.state === 'STARTED');
        assert.equal((await fx.raw('machines_by_network', 'network_id = ?', [n.id])).length, 0);
      }
    }
  });
}
