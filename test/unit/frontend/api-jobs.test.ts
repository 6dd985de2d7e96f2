import assert from 'node:assert/strict';
import { as, harness, idOf, type Harness } from './harness.js';
import type { MachineStatus } from '../../../schema/types.js';

describe('frontend API: job settlement and catalog', function () {
  this.timeout(20_000);
  let h: Harness;
  beforeEach(async () => { h = await harness(); });
  afterEach(async () => { await h.cleanup(); });

  async function create(): Promise<{ id: string; path: string; job: string }> {
    const res = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'j', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    return { id: idOf(res.headers.location), path: new URL(res.headers.location).pathname, job: `/api/jobs/${idOf(res.headers['cimi-job-uri'])}` };
  }
  const status = (s: Partial<MachineStatus>): MachineStatus => ({
    state: 'STARTED', observedGeneration: 1, observedRestartSeq: 0, converged: true, error: null, hostId: 'h1', updatedAt: Date.now(), ...s,
  });

  it('QUEUED with placement\'s reason -> RUNNING when placed -> SUCCESS when the agent converged; written back', async () => {
    const m = await create();
    // An older row without a tenant summary: the tenant is told it waits, never the fleet detail.
    await h.store.machines.setPlacement(m.id, { attempts: 1, reason: '0 of 7 hosts fit: 7 without the required labels', lastAttemptAt: Date.now() });
    let job = await as(h.app, 'alice', 'get', m.job).expect(200);
    assert.equal(job.body.statusMessage, 'waiting for capacity');
    await h.store.machines.setPlacement(m.id, { attempts: 2, reason: '0 of 7 hosts fit: 7 without the required labels', summary: 'no available host meets the requirements (rack=r9)', lastAttemptAt: Date.now() });
    job = await as(h.app, 'alice', 'get', m.job).expect(200);
    assert.equal(job.body.state, 'QUEUED');
    assert.match(job.body.statusMessage, /rack=r9/);
    assert.doesNotMatch(job.body.statusMessage, /hosts/);
    const machine = await as(h.app, 'alice', 'get', m.path).expect(200);
    assert.equal(machine.body.state, 'CREATING');
    assert.match(machine.body.statusMessage, /rack=r9/);
    assert.doesNotMatch(JSON.stringify(machine.body), /of 7 hosts/);

    assert.equal(await h.store.machines.assignHost(m.id, 'h1'), true);
    job = await as(h.app, 'alice', 'get', m.job).expect(200);
    assert.equal(job.body.state, 'RUNNING');
    assert.equal((await as(h.app, 'alice', 'get', m.path)).body.state, 'STARTING');

    await h.store.machines.setStatus(m.id, status({}));
    job = await as(h.app, 'alice', 'get', m.job).expect(200);
    assert.equal(job.body.state, 'SUCCESS');
    assert.equal(job.body.progress, 100);
    assert.equal((await h.store.jobs.get(idOf(m.job)))?.state, 'SUCCESS');
    const shown = await as(h.app, 'alice', 'get', m.path).expect(200);
    assert.equal(shown.body.state, 'STARTED');
    assert.deepEqual(shown.body.operations.map((o: { rel: string }) => o.rel.split('/').pop()), ['stop', 'restart', 'pause', 'suspend', 'capture', 'delete', 'edit']);
    // terminal jobs stay settled even if the machine changes later
    await h.store.machines.setStatus(m.id, status({ error: 'boom' }));
    assert.equal((await as(h.app, 'alice', 'get', m.job)).body.state, 'SUCCESS');
  });

  it('FAILED when the agent reports an error at the job\'s generation; the machine shows ERROR', async () => {
    const m = await create();
    await h.store.machines.assignHost(m.id, 'h1');
    await h.store.machines.setStatus(m.id, status({}));
    const stop = await as(h.app, 'alice', 'post', `${m.path}/stop`).send({ action: 'stop' }).expect(202);
    const stopJob = new URL(stop.headers['cimi-job-uri']).pathname;
    assert.equal((await as(h.app, 'alice', 'get', stopJob)).body.state, 'RUNNING');
    assert.equal((await as(h.app, 'alice', 'get', m.path)).body.state, 'STOPPING');
    await h.store.machines.setStatus(m.id, status({ observedGeneration: 2, converged: false, error: 'libvirt: domain is locked' }));
    const job = await as(h.app, 'alice', 'get', stopJob).expect(200);
    assert.equal(job.body.state, 'FAILED');
    assert.match(job.body.statusMessage, /domain is locked/);
    assert.equal((await h.store.jobs.get(idOf(stopJob)))?.state, 'FAILED');
    const shown = await as(h.app, 'alice', 'get', m.path).expect(200);
    assert.equal(shown.body.state, 'ERROR');
    assert.match(shown.body.error, /domain is locked/);
  });

  it('a delete job succeeds once the machine rows are purged; the job list is newest first and settled', async () => {
    const m = await create();
    await h.store.machines.assignHost(m.id, 'h1');
    await h.store.machines.setStatus(m.id, status({}));
    assert.equal((await as(h.app, 'alice', 'get', m.job)).body.state, 'SUCCESS');
    const del = await as(h.app, 'alice', 'delete', m.path).expect(202);
    const delJob = new URL(del.headers['cimi-job-uri']).pathname;
    await h.store.machines.setStatus(m.id, status({ state: 'DELETED', observedGeneration: 2 }));
    assert.equal((await as(h.app, 'alice', 'get', delJob)).body.state, 'RUNNING');
    const row = (await h.store.machines.get(m.id))!;
    await h.store.machines.purge(row);
    assert.equal((await as(h.app, 'alice', 'get', m.path)).status, 404);
    const list = await as(h.app, 'alice', 'get', '/api/jobs').expect(200);
    assert.equal(list.body.count, 2);
    assert.equal(idOf(list.body.jobs[0].id), idOf(delJob));
    assert.equal(list.body.jobs[0].state, 'SUCCESS');
    assert.equal(list.body.jobs[1].state, 'SUCCESS');
    // a job nobody read before its machine vanished cannot be known any more: STOPPED, not FAILED
    const orphan = await create();
    await h.store.machines.purge((await h.store.machines.get(orphan.id))!);
    assert.equal((await as(h.app, 'alice', 'get', orphan.job)).body.state, 'STOPPED');
    const failedOnly = await as(h.app, 'alice', 'get', '/api/jobs').query({ $filter: "state='FAILED'" }).expect(200);
    assert.equal(failedOnly.body.count, 0);
    const events = await as(h.app, 'alice', 'get', '/api/events').expect(200);
    assert.equal(events.body.count, 3);
    assert.deepEqual(events.body.events.map((e: { content: { operation: string } }) => e.content.operation).sort(), ['create', 'create', 'delete']);
    assert.equal((await as(h.app, 'bob', 'get', '/api/events')).body.count, 0);
  });

  it('admins publish configs, images and templates that users can launch; delete removes them', async () => {
    const cfg = await as(h.app, 'root', 'post', '/api/machineConfigs').send({ resourceURI: 'http://schemas.dmtf.org/cimi/1/MachineConfiguration', name: 'big', cpu: 8, memory: 16777216, disks: [{ capacity: 52428800 }] }).expect(201);
    assert.equal(cfg.body.cpuArch, 'x86_64');
    assert.deepEqual(cfg.body.disks, [{ capacity: 52428800, format: 'qcow2' }]);
    assert.equal(cfg.headers.location, cfg.body.id);
    const img = await as(h.app, 'root', 'post', '/api/machineImages').set('Content-Type', 'application/xml')
      .send('<MachineImage xmlns="http://schemas.dmtf.org/cimi/1"><name>vmlinuz</name><imageLocation>/boot/vmlinuz</imageLocation><format>kernel</format><initrd>/boot/initrd.img</initrd><kernelCmdline>ro quiet</kernelCmdline></MachineImage>').expect(201);
    assert.equal(img.body.state, 'AVAILABLE');
    assert.equal(img.body.type, 'IMAGE');
    assert.equal(img.body.kernelCmdline, 'ro quiet');
    const xmlCfg = await as(h.app, 'root', 'post', '/api/machineConfigs').set('Content-Type', 'application/xml').set('Accept', 'application/xml')
      .send('<MachineConfiguration xmlns="http://schemas.dmtf.org/cimi/1"><cpu>2</cpu><memory>2097152</memory><disk><capacity>1024</capacity><format>raw</format></disk><disk><capacity>2048</capacity></disk></MachineConfiguration>').expect(201);
    assert.match(xmlCfg.text, /<MachineConfiguration xmlns="http:\/\/schemas.dmtf.org\/cimi\/1">[\s\S]*<disk>\s*<capacity>2048<\/capacity>\s*<format>qcow2<\/format>/);
    const tpl = await as(h.app, 'root', 'post', '/api/machineTemplates').send({ name: 't', machineConfig: { href: cfg.body.id }, machineImage: { href: img.body.id }, initialState: 'STOPPED' }).expect(201);
    const run = await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: tpl.body.id } }).expect(202);
    const m = (await h.store.machines.get(idOf(run.headers.location)))!;
    assert.equal(m.spec.cpu, 8);
    assert.equal(m.spec.image?.format, 'kernel');
    assert.equal(m.spec.image?.cmdline, 'ro quiet');
    assert.equal(m.desiredState, 'STOPPED');
    const list = await as(h.app, 'root', 'get', '/api/machineConfigs').query({ $filter: 'cpu > 4' }).expect(200);
    assert.equal(list.body.count, 1);
    assert.deepEqual(list.body.operations.map((o: { rel: string }) => o.rel), ['add']);
    // A configuration or image a template uses cannot be deleted: 409 naming the template.
    const inUse = await as(h.app, 'root', 'delete', new URL(cfg.body.id).pathname).expect(409);
    assert.match(inUse.body.message, /used by 1 MachineTemplate: 't'/);
    assert.match((await as(h.app, 'root', 'delete', new URL(img.body.id).pathname).expect(409)).body.message, /'t'/);
    await as(h.app, 'root', 'delete', new URL(tpl.body.id).pathname).expect(200);
    await as(h.app, 'root', 'delete', new URL(cfg.body.id).pathname).expect(200);
    await as(h.app, 'alice', 'get', new URL(cfg.body.id).pathname).expect(404);
    await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: tpl.body.id } }).expect(400);
  });
});
