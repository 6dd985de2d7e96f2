/** The capture operation through the API (docs/capture.md), with the agent's writes simulated on the store. */
import assert from 'node:assert/strict';
import { as, footprint, harness, idOf, type Harness } from './harness.js';
import type { ImageStatus, MachineStatus } from '../../../schema/types.js';

const CAPTURE = 'http://schemas.dmtf.org/cimi/1/action/capture';

describe('frontend API: capture a machine into a MachineImage', function () {
  this.timeout(20_000);
  let h: Harness;
  beforeEach(async () => { h = await harness(); });
  afterEach(async () => { await h.cleanup(); });

  const status = (s: Partial<MachineStatus>): MachineStatus => ({
    state: 'STARTED', observedGeneration: 1, observedRestartSeq: 0, converged: true, error: null, hostId: 'h1', updatedAt: Date.now(), ...s,
  });

  /** A machine of alice's, placed on h1 and STARTED as its agent would report. */
  async function started(user = 'alice', template = h.catalog.template): Promise<{ id: string; path: string }> {
    const res = await as(h.app, user, 'post', '/api/machines').send({ name: 'src', machineTemplate: { href: `/api/machineTemplates/${template}` } }).expect(202);
    const id = idOf(res.headers.location);
    await h.store.machines.assignHost(id, 'h1');
    await h.store.machines.setStatus(id, status({}));
    return { id, path: `/api/machines/${id}` };
  }

  /** What the host's agent writes when the copy is done. */
  async function agentFinishes(machineId: string, imageId: string, outcome: Partial<ImageStatus> = {}): Promise<void> {
    const m = (await h.store.machines.get(machineId))!;
    const st: ImageStatus = { state: 'AVAILABLE', location: `/images/${imageId}.qcow2`, disk: null, virtualSizeKiB: 1024, error: null, hostId: 'h1', updatedAt: Date.now(), ...outcome };
    assert.equal(await h.store.catalog.setImageStatus(imageId, m.tenant, st), true);
    await h.store.machines.setStatus(machineId, status({ observedGeneration: m.generation, lastCapture: imageId }));
  }

  const ops = (body: { operations: { rel: string; href: string }[] }) => body.operations.map((o) => o.rel.split('/').pop());

  it('capture is advertised on STARTED and STOPPED with the MachineImage collection as its href, not while transitional', async () => {
    const m = await started();
    const shown = await as(h.app, 'alice', 'get', m.path).expect(200);
    const op = (shown.body.operations as { rel: string; href: string }[]).find((o) => o.rel === CAPTURE);
    assert.ok(op, JSON.stringify(shown.body.operations));
    assert.equal(new URL(op.href).pathname, '/api/machineImages');
    await as(h.app, 'alice', 'post', `${m.path}/stop`).send({ action: 'stop' }).expect(202);
    assert.ok(!ops((await as(h.app, 'alice', 'get', m.path)).body).includes('capture'), 'STOPPING offers no capture');
    const gen = (await h.store.machines.get(m.id))!.generation;
    await h.store.machines.setStatus(m.id, status({ state: 'STOPPED', observedGeneration: gen }));
    assert.deepEqual(ops((await as(h.app, 'alice', 'get', m.path)).body), ['start', 'capture', 'delete', 'edit']);
  });

  it('POST a MachineImage naming the machine: 202, Location, Job; CREATING -> AVAILABLE with the job SUCCESS; the image makes machines', async () => {
    const m = await started();
    const res = await as(h.app, 'alice', 'post', '/api/machineImages')
      .send({ resourceURI: 'http://schemas.dmtf.org/cimi/1/MachineImage', name: 'golden', description: 'my disk', imageLocation: { href: `http://127.0.0.1${m.path}` } }).expect(202);
    const imagePath = new URL(res.headers.location).pathname;
    const jobPath = new URL(res.headers['cimi-job-uri']).pathname;
    assert.equal(res.body.state, 'CREATING');
    assert.equal(res.body.type, 'IMAGE');
    assert.equal(res.body.name, 'golden');
    assert.equal(new URL(res.body.capturedFrom.href).pathname, m.path);
    const job = await as(h.app, 'alice', 'get', jobPath).expect(200);
    assert.equal(job.body.state, 'RUNNING');
    assert.equal(job.body.action, CAPTURE);
    assert.equal(new URL(job.body.targetResource.href).pathname, imagePath);
    const during = await as(h.app, 'alice', 'get', m.path).expect(200);
    assert.equal(during.body.state, 'CAPTURING');
    assert.ok(!ops(during.body).includes('capture'));
    // a second capture while one is under way: 409 naming the state, nothing written
    const before = await footprint(h.store, 'acme');
    const again = await as(h.app, 'alice', 'post', '/api/machineImages').send({ imageLocation: { href: m.path } }).expect(409);
    assert.match(again.body.message, /CAPTURING/);
    assert.deepEqual(await footprint(h.store, 'acme'), before);
    // a machine made from a CREATING image is refused
    const early = await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { machineConfig: { href: `/api/machineConfigs/${h.catalog.config}` }, machineImage: { href: imagePath } } }).expect(400);
    assert.match(early.body.message, /CREATING/);

    await agentFinishes(m.id, idOf(imagePath));
    const img = await as(h.app, 'alice', 'get', imagePath).expect(200);
    assert.equal(img.body.state, 'AVAILABLE');
    assert.equal(img.body.imageLocation, `/images/${idOf(imagePath)}.qcow2`);
    assert.equal(img.body.format, 'qcow2');
    assert.equal((await as(h.app, 'alice', 'get', jobPath)).body.state, 'SUCCESS');
    assert.equal((await h.store.jobs.get(idOf(jobPath)))?.state, 'SUCCESS');
    assert.equal((await as(h.app, 'alice', 'get', m.path)).body.state, 'STARTED');
    const made = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'clone', machineTemplate: { machineConfig: { href: `/api/machineConfigs/${h.catalog.config}` }, machineImage: { href: imagePath } } }).expect(202);
    const clone = await h.store.machines.get(idOf(made.headers.location));
    assert.equal(clone?.spec.image?.location, `/images/${idOf(imagePath)}.qcow2`);
    assert.equal(clone?.spec.image?.format, 'qcow2');
  });

  it('the image is the capturing tenant\'s only: another tenant gets 404 for it, its job and its machine, and cannot use it', async () => {
    const m = await started();
    const res = await as(h.app, 'alice', 'post', '/api/machineImages').send({ name: 'private', imageLocation: { href: m.path } }).expect(202);
    const imagePath = new URL(res.headers.location).pathname;
    await agentFinishes(m.id, idOf(imagePath));
    await as(h.app, 'bob', 'get', imagePath).expect(404);
    await as(h.app, 'bob', 'delete', imagePath).expect(404);
    await as(h.app, 'bob', 'get', new URL(res.headers['cimi-job-uri']).pathname).expect(404);
    const list = await as(h.app, 'bob', 'get', '/api/machineImages').expect(200);
    assert.ok(!JSON.stringify(list.body).includes(idOf(imagePath)));
    assert.ok(JSON.stringify((await as(h.app, 'alice', 'get', '/api/machineImages')).body).includes(idOf(imagePath)));
    const use = await as(h.app, 'bob', 'post', '/api/machines').send({ machineTemplate: { machineConfig: { href: `/api/machineConfigs/${h.catalog.config}` }, machineImage: { href: imagePath } } }).expect(400);
    assert.match(use.body.message, /no such MachineImage/);
    // bob cannot capture alice's machine either
    const before = await footprint(h.store, 'globex');
    await as(h.app, 'bob', 'post', '/api/machineImages').send({ imageLocation: { href: m.path } }).expect(404);
    await as(h.app, 'bob', 'post', `${m.path}/capture`).send({ action: CAPTURE }).expect(404);
    assert.deepEqual(await footprint(h.store, 'globex'), before);
    // alice may delete her own image (not a published one); the status row goes with it
    await as(h.app, 'alice', 'delete', `/api/machineImages/${h.catalog.image}`).expect(403);
    await as(h.app, 'alice', 'delete', imagePath).expect(200);
    await as(h.app, 'alice', 'get', imagePath).expect(404);
    assert.equal(await h.store.catalog.imageStatus(idOf(imagePath)), null);
  });

  it('the Action form on the machine: POST /machines/:id/capture and POST /machines/:id with Action capture', async () => {
    const m = await started();
    const res = await as(h.app, 'alice', 'post', `${m.path}/capture`).send({ resourceURI: 'http://schemas.dmtf.org/cimi/1/Action', action: CAPTURE, name: 'by-action' }).expect(202);
    assert.equal(res.body.action, CAPTURE);
    assert.match(res.headers.location, /\/api\/machineImages\//);
    assert.ok(res.headers['cimi-job-uri']);
    const img = await as(h.app, 'alice', 'get', new URL(res.headers.location).pathname).expect(200);
    assert.equal(img.body.name, 'by-action');
    assert.equal(img.body.state, 'CREATING');
    await agentFinishes(m.id, idOf(res.headers.location));
    const second = await as(h.app, 'alice', 'post', m.path).send({ action: 'capture' }).expect(202);
    const img2 = await as(h.app, 'alice', 'get', new URL(second.headers.location).pathname).expect(200);
    assert.equal(img2.body.name, 'capture of src');
    await as(h.app, 'alice', 'post', `${m.path}/capture`).send({ action: 'stop' }).expect(400);
  });

  it('refused with 409 unless STARTED or STOPPED, and when the machine has no disk to capture; nothing written', async () => {
    const m = await started();
    await as(h.app, 'alice', 'post', `${m.path}/pause`).send({ action: 'pause' }).expect(202);
    const before = await footprint(h.store, 'acme');
    const r = await as(h.app, 'alice', 'post', '/api/machineImages').send({ imageLocation: { href: m.path } }).expect(409);
    assert.match(r.body.message, /PAUSING/);
    assert.deepEqual(await footprint(h.store, 'acme'), before);
    // a kernel-boot machine without data disks: capture is not offered and is refused
    const kernel = await h.store.catalog.create('machineImage', 'k', null, { description: '', properties: {}, imageLocation: '/k/vmlinuz', format: 'kernel', initrd: '/k/initrd', kernelCmdline: 'console=ttyS0', cpuArch: 'x86_64' });
    const bare = await h.store.catalog.create('machineConfig', 'bare', null, { description: '', properties: {}, cpu: 1, memory: 131072, cpuArch: 'x86_64', disks: [] });
    const tpl = await h.store.catalog.create('machineTemplate', 'k', null, { description: '', properties: {}, machineConfig: bare.id, machineImage: kernel.id, initialState: 'STARTED', userData: null });
    const k = await started('alice', tpl.id);
    const before2 = await footprint(h.store, 'acme');
    assert.ok(!ops((await as(h.app, 'alice', 'get', k.path)).body).includes('capture'));
    const r2 = await as(h.app, 'alice', 'post', `${k.path}/capture`).send({ action: CAPTURE }).expect(409);
    assert.match(r2.body.message, /no disk to capture/);
    // bad bodies: 400, nothing written
    await as(h.app, 'alice', 'post', '/api/machineImages').send({ imageLocation: { href: m.path }, format: 'raw' }).expect(400);
    await as(h.app, 'alice', 'post', '/api/machineImages').send({ imageLocation: { href: m.path }, name: 'a\u0000b' }).expect(400);
    // a plain image body is still the administrators' only
    await as(h.app, 'alice', 'post', '/api/machineImages').send({ name: 'x', imageLocation: '/var/lib/x.qcow2' }).expect(403);
    assert.deepEqual(await footprint(h.store, 'acme'), before2);
  });

  it('a kernel-boot machine captures its first data disk: the image keeps kernel, initrd and command line, machines get the disk', async () => {
    const kernel = await h.store.catalog.create('machineImage', 'k', null, { description: '', properties: {}, imageLocation: '/k/vmlinuz', format: 'kernel', initrd: '/k/initrd', kernelCmdline: 'console=ttyS0', cpuArch: 'x86_64' });
    const tpl = await h.store.catalog.create('machineTemplate', 'k', null, { description: '', properties: {}, machineConfig: h.catalog.config, machineImage: kernel.id, initialState: 'STARTED', userData: null });
    const m = await started('alice', tpl.id);
    const res = await as(h.app, 'alice', 'post', '/api/machineImages').send({ name: 'kdisk', imageLocation: { href: m.path } }).expect(202);
    const imageId = idOf(res.headers.location);
    await agentFinishes(m.id, imageId, { location: '/k/vmlinuz', disk: `/images/${imageId}.qcow2`, virtualSizeKiB: 20971520 });
    const img = await as(h.app, 'alice', 'get', `/api/machineImages/${imageId}`).expect(200);
    assert.equal(img.body.format, 'kernel');
    assert.equal(img.body.imageLocation, '/k/vmlinuz');
    assert.equal(img.body.initrd, '/k/initrd');
    assert.equal(img.body.disk, `/images/${imageId}.qcow2`);
    const made = await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { machineConfig: { href: `/api/machineConfigs/${h.catalog.config}` }, machineImage: { href: `/api/machineImages/${imageId}` } } }).expect(202);
    const clone = (await h.store.machines.get(idOf(made.headers.location)))!;
    assert.equal(clone.spec.image?.disk, `/images/${imageId}.qcow2`);
    assert.deepEqual(clone.spec.disks, [{ capacityKiB: 20971520, format: 'qcow2', source: `/images/${imageId}.qcow2` }]);
    assert.equal(clone.spec.image?.cmdline, 'console=ttyS0');
  });

  it('ERROR when the agent reports a failure, or the machine is deleted first; the job FAILED, or STOPPED when the image is deleted', async () => {
    const m = await started();
    const a = await as(h.app, 'alice', 'post', '/api/machineImages').send({ imageLocation: { href: m.path } }).expect(202);
    await agentFinishes(m.id, idOf(a.headers.location), { state: 'ERROR', location: null, virtualSizeKiB: null, error: 'capture failed: qemu-img convert: no space left' });
    const img = await as(h.app, 'alice', 'get', new URL(a.headers.location).pathname).expect(200);
    assert.equal(img.body.state, 'ERROR');
    assert.match(img.body.statusMessage, /no space left/);
    const ja = await as(h.app, 'alice', 'get', new URL(a.headers['cimi-job-uri']).pathname).expect(200);
    assert.equal(ja.body.state, 'FAILED');
    assert.match(ja.body.statusMessage, /no space left/);

    const b = await as(h.app, 'alice', 'post', '/api/machineImages').send({ imageLocation: { href: m.path } }).expect(202);
    const c = await as(h.app, 'alice', 'post', '/api/machineImages').send({ imageLocation: { href: m.path } }).expect(409);
    assert.match(c.body.message, /CAPTURING/);
    await as(h.app, 'alice', 'delete', new URL(b.headers.location).pathname).expect(200);
    assert.equal((await as(h.app, 'alice', 'get', new URL(b.headers['cimi-job-uri']).pathname)).body.state, 'STOPPED');
    // the image deleted, the machine still waits for its capture: the agent's status write is refused
    assert.equal(await h.store.catalog.setImageStatus(idOf(b.headers.location), 'acme', { state: 'AVAILABLE', location: '/x', disk: null, virtualSizeKiB: 1, error: null, hostId: 'h1', updatedAt: Date.now() }), false);
    await h.store.machines.setStatus(m.id, status({ observedGeneration: (await h.store.machines.get(m.id))!.generation, lastCapture: idOf(b.headers.location) }));

    const d = await as(h.app, 'alice', 'post', '/api/machineImages').send({ imageLocation: { href: m.path } }).expect(202);
    await as(h.app, 'alice', 'delete', m.path).expect(202);
    const gone = await as(h.app, 'alice', 'get', new URL(d.headers.location).pathname).expect(200);
    assert.equal(gone.body.state, 'ERROR');
    assert.match(gone.body.statusMessage, /deleted before it was captured/);
    assert.equal((await as(h.app, 'alice', 'get', new URL(d.headers['cimi-job-uri']).pathname)).body.state, 'FAILED');
  });
});
