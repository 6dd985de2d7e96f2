/** Captured images (docs/capture.md): the image row and its agent-written status row, on both stores. */
import assert from 'node:assert/strict';
import type { ImageStatus, MachineSpec } from '../../schema/types.js';
import type { StoreFixture } from '../helpers/stores.js';

const spec: MachineSpec = { cpu: 1, memoryKiB: 65536, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} };
const outcome = (s: Partial<ImageStatus> = {}): ImageStatus => ({
  state: 'AVAILABLE', location: '/images/x.qcow2', disk: null, virtualSizeKiB: 2048, error: null, hostId: 'h-cap', updatedAt: 1_700_000_000_000, ...s,
});

export function capturedImageContract(fixture: () => StoreFixture): void {
  it('an image\'s status is its own row beside the image; get and list join them; remove takes both', async () => {
    const fx = fixture();
    const img = await fx.store.catalog.create('machineImage', 'cap', 'tcap', { format: 'qcow2', imageLocation: null, captured: { machine: 'm', machineName: 'm' } });
    assert.equal((await fx.store.catalog.get('machineImage', img.id))?.status, null);
    assert.equal(await fx.store.catalog.setImageStatus(img.id, 'tcap', outcome({ location: `/images/${img.id}.qcow2` })), true);
    const [row] = await fx.raw('catalog', 'kind = ? AND id = ?', ['machineImageStatus', img.id]);
    assert.equal(row.tenant, 'tcap');
    assert.equal(JSON.parse(row.body as string).location, `/images/${img.id}.qcow2`);
    const got = await fx.store.catalog.get('machineImage', img.id);
    assert.equal(got?.status?.state, 'AVAILABLE');
    assert.equal(got?.body.format, 'qcow2', 'the image row is untouched by the status write');
    const listed = (await fx.store.catalog.list('machineImage')).find((i) => i.id === img.id);
    assert.equal(listed?.status?.virtualSizeKiB, 2048);
    await fx.store.catalog.setImageStatus(img.id, 'tcap', outcome({ state: 'ERROR', location: null, error: 'boom' }));
    assert.equal((await fx.store.catalog.imageStatus(img.id))?.error, 'boom');
    await fx.store.catalog.remove('machineImage', img.id);
    assert.equal((await fx.raw('catalog', 'kind = ? AND id = ?', ['machineImage', img.id])).length, 0);
    assert.equal((await fx.raw('catalog', 'kind = ? AND id = ?', ['machineImageStatus', img.id])).length, 0);
  });

  it('no status is written for an image that is gone (deleted while the copy ran)', async () => {
    const fx = fixture();
    const img = await fx.store.catalog.create('machineImage', 'gone', 'tcap', { format: 'qcow2' });
    await fx.store.catalog.remove('machineImage', img.id);
    assert.equal(await fx.store.catalog.setImageStatus(img.id, 'tcap', outcome()), false);
    assert.equal((await fx.raw('catalog', 'kind = ? AND id = ?', ['machineImageStatus', img.id])).length, 0);
    assert.equal(await fx.store.catalog.imageStatus(img.id), null);
  });

  it('a capture request is a spec change: generation + 1, mirrored to the host\'s partition; the agent\'s lastCapture rides on status', async () => {
    const fx = fixture();
    const m = await fx.store.machines.create({ tenant: 'tcap', name: 'src', spec, desiredState: 'STARTED' });
    assert.equal(await fx.store.machines.assignHost(m.id, 'h-cap'), true);
    const placed = (await fx.store.machines.get(m.id))!;
    const after = await fx.store.machines.updateSpec(m.id, placed.generation, { spec: { ...spec, capture: { imageId: 'img-1', requestedAt: 5 } } });
    assert.equal(after.generation, placed.generation + 1);
    assert.deepEqual(after.spec.capture, { imageId: 'img-1', requestedAt: 5 });
    const onHost = (await fx.store.machines.listOnHost('h-cap')).find((x) => x.machineId === m.id);
    assert.deepEqual(onHost?.spec.capture, { imageId: 'img-1', requestedAt: 5 });
    assert.equal(onHost?.generation, after.generation);
    await fx.store.machines.setStatus(m.id, { ...after.status, lastCapture: 'img-1' });
    assert.equal((await fx.store.machines.get(m.id))?.status.lastCapture, 'img-1');
  });
}
