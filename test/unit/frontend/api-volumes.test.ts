/**
 * Volumes through the API (docs/volumes.md): the volume catalog (admin-written), create / get / list /
 * delete in JSON and XML, collection queries, tenant isolation, bad input refused with nothing
 * written, quotas, and attach / detach as a machine's volumes sub-collection with the host rules.
 */
import assert from 'node:assert/strict';
import type { MachineStatus } from '../../../schema/types.js';
import { as, harness, idOf, type Harness } from './harness.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';
const GIB = 1024 * 1024;

describe('Volumes API', function () {
  this.timeout(30_000);
  let h: Harness;
  beforeEach(async () => { h = await harness(); });
  afterEach(async () => { await h.cleanup(); });

  const publishConfig = async (capacity = 2 * GIB, format = 'qcow2') =>
    idOf((await as(h.app, 'root', 'post', '/api/volumeConfigs').send({ name: `c${capacity}`, capacity, format }).expect(201)).headers.location);
  const createVolume = (user: string, body: Record<string, unknown>) => as(h.app, user, 'post', '/api/volumes').send({ resourceURI: `${CIMI}/VolumeCreate`, ...body });
  const footprint = async (tenant: string) => ({
    volumes: (await h.store.volumes.listByTenant(tenant)).items.length,
    jobs: (await h.store.jobs.listByTenant(tenant)).items.length,
    quota: (await h.store.quotas.get(tenant)).volumeUsed,
  });

  /** A machine of alice's, placed on `host` and reported in `state` by its agent. */
  async function placedMachine(host: string, state: 'STOPPED' | 'STARTED' = 'STOPPED'): Promise<string> {
    const res = await as(h.app, 'alice', 'post', '/api/machines')
      .send({ name: 'm', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}`, initialState: state } }).expect(202);
    const id = idOf(res.headers.location);
    assert.ok(await h.store.machines.assignHost(id, host));
    const status: MachineStatus = { state, observedGeneration: 1, observedRestartSeq: 0, converged: true, error: null, hostId: host, updatedAt: Date.now() };
    await h.store.machines.setStatus(id, status);
    return id;
  }

  it('the catalog: VolumeConfigs and VolumeTemplates are admin-written, read by all, in collections CIMI names; entry point links them', async () => {
    const ep = await as(h.app, 'alice', 'get', '/api/cloudEntryPoint').expect(200);
    for (const k of ['volumes', 'volumeConfigs', 'volumeTemplates']) assert.match(ep.body[k].href, new RegExp(`/api/${k}$`));
    await as(h.app, 'alice', 'post', '/api/volumeConfigs').send({ name: 'x', capacity: GIB }).expect(403);
    const cfg = await publishConfig(GIB, 'raw');
    const tpl = await as(h.app, 'root', 'post', '/api/volumeTemplates').send({ name: 't', volumeConfig: { href: `/api/volumeConfigs/${cfg}` } }).expect(201);
    const configs = await as(h.app, 'alice', 'get', '/api/volumeConfigs').expect(200);
    assert.equal(configs.body.resourceURI, `${CIMI}/VolumeConfigurationCollection`);
    assert.equal(configs.body.volumeConfigurations.length, 1);
    assert.equal(configs.body.volumeConfigurations[0].capacity, GIB);
    assert.equal(configs.body.volumeConfigurations[0].format, 'raw');
    const templates = await as(h.app, 'alice', 'get', '/api/volumeTemplates').expect(200);
    assert.equal(templates.body.resourceURI, `${CIMI}/VolumeTemplateCollection`);
    assert.match(templates.body.volumeTemplates[0].volumeConfig.href, new RegExp(`/api/volumeConfigs/${cfg}$`));
    // A configuration a template names cannot go; bad bodies are 400 and write nothing.
    await as(h.app, 'root', 'delete', `/api/volumeConfigs/${cfg}`).expect(409);
    const before = (await h.store.catalog.list('volumeConfig')).length + (await h.store.catalog.list('volumeTemplate')).length;
    await as(h.app, 'root', 'post', '/api/volumeConfigs').send({ name: 'tiny', capacity: 1 }).expect(400);
    await as(h.app, 'root', 'post', '/api/volumeConfigs').send({ name: 'fmt', capacity: GIB, format: 'vmdk' }).expect(400);
    await as(h.app, 'root', 'post', '/api/volumeTemplates').send({ name: 'dangling', volumeConfig: { href: '/api/volumeConfigs/01a20867-e166-774b-a077-daa86ce705ad' } }).expect(400);
    await as(h.app, 'root', 'post', '/api/volumeTemplates').send({ name: 'img', volumeConfig: { href: `/api/volumeConfigs/${cfg}` }, volumeImage: { href: '/api/volumeImages/x' } }).expect(400);
    assert.equal((await h.store.catalog.list('volumeConfig')).length + (await h.store.catalog.list('volumeTemplate')).length, before);
    await as(h.app, 'root', 'delete', `/api/volumeTemplates/${idOf(tpl.headers.location)}`).expect(200);
    await as(h.app, 'root', 'delete', `/api/volumeConfigs/${cfg}`).expect(200);
  });

  it('create by template, by config href and inline (202 + Job), get, list with $filter/$select/$orderby/paging, JSON and XML, delete', async () => {
    const cfg = await publishConfig();
    const tpl = idOf((await as(h.app, 'root', 'post', '/api/volumeTemplates').send({ name: 't', volumeConfig: { href: `/api/volumeConfigs/${cfg}` } }).expect(201)).headers.location);
    const a = await createVolume('alice', { name: 'a', volumeTemplate: { href: `/api/volumeTemplates/${tpl}` } }).expect(202);
    assert.match(a.headers.location, /\/api\/volumes\/[0-9a-f-]{36}$/);
    assert.match(a.headers['cimi-job-uri'], /\/api\/jobs\//);
    assert.equal(a.body.resourceURI, `${CIMI}/Volume`);
    assert.equal(a.body.capacity, 2 * GIB);
    assert.equal(a.body.state, 'AVAILABLE');
    assert.match(a.body.statusMessage, /first machine it is attached to/);
    assert.match(a.body.volumeTemplate.href, new RegExp(tpl));
    const job = await as(h.app, 'alice', 'get', `/api/jobs/${idOf(a.headers['cimi-job-uri'])}`).expect(200);
    assert.equal(job.body.state, 'SUCCESS');
    assert.match(job.body.targetResource.href, /\/api\/volumes\//);
    await createVolume('alice', { name: 'b', volumeTemplate: { volumeConfig: { href: `/api/volumeConfigs/${cfg}` } } }).expect(202);
    const xml = await as(h.app, 'alice', 'post', '/api/volumes').set('content-type', 'application/xml').set('accept', 'application/xml')
      .send(`<VolumeCreate xmlns="${CIMI}"><name>c</name><volumeTemplate><volumeConfig><capacity>${GIB}</capacity><format>raw</format></volumeConfig></volumeTemplate></VolumeCreate>`).expect(202);
    assert.match(xml.text, /<Volume[ >][\s\S]*<capacity>1048576<\/capacity>/);

    const list = await as(h.app, 'alice', 'get', '/api/volumes').expect(200);
    assert.equal(list.body.resourceURI, `${CIMI}/VolumeCollection`);
    assert.equal(list.body.count, 3);
    assert.deepEqual(list.body.operations, [{ rel: 'add', href: list.body.id }]);
    const f = await as(h.app, 'alice', 'get', '/api/volumes').query({ $filter: `capacity<${2 * GIB}`, $select: 'name,format' }).expect(200);
    assert.deepEqual(f.body.volumes.map((v: Record<string, unknown>) => [v.name, v.format, v.created]), [['c', 'raw', undefined]]);
    const page = await as(h.app, 'alice', 'get', '/api/volumes').query({ $orderby: 'name:desc', $first: 2, $last: 2 }).expect(200);
    assert.deepEqual(page.body.volumes.map((v: { name: string }) => v.name), ['b']);
    const xmlList = await as(h.app, 'alice', 'get', '/api/volumes').set('accept', 'application/xml').expect(200);
    assert.match(xmlList.text, /VolumeCollection/);
    assert.equal((xmlList.text.match(/<capacity>/g) ?? []).length, 3, xmlList.text.slice(0, 600));

    // Another tenant sees nothing and its ids are 404.
    assert.equal((await as(h.app, 'bob', 'get', '/api/volumes').expect(200)).body.count, 0);
    await as(h.app, 'bob', 'get', a.headers.location.replace(/^.*\/api/, '/api')).expect(404);
    await as(h.app, 'bob', 'delete', a.headers.location.replace(/^.*\/api/, '/api')).expect(404);

    // A volume on no host is deleted at once (nothing to remove anywhere); the job settles SUCCESS.
    const del = await as(h.app, 'alice', 'delete', `/api/volumes/${idOf(a.headers.location)}`).expect(202);
    assert.equal(del.body.resourceURI, `${CIMI}/Job`);
    await as(h.app, 'alice', 'get', `/api/volumes/${idOf(a.headers.location)}`).expect(404);
    assert.equal((await as(h.app, 'alice', 'get', `/api/jobs/${idOf(del.headers['cimi-job-uri'])}`).expect(200)).body.state, 'SUCCESS');
  });

  it('bad input is a 4xx CIMI error and writes nothing', async () => {
    const before = await footprint('acme');
    const bad: [Record<string, unknown>, number][] = [
      [{}, 400],
      [{ volumeTemplate: {} }, 400],
      [{ volumeTemplate: { href: '/api/volumeTemplates/01a20867-e166-774b-a077-daa86ce705ad' } }, 400],
      [{ volumeTemplate: { volumeConfig: { href: '/api/volumeConfigs/nope' } } }, 400],
      [{ volumeTemplate: { volumeConfig: { capacity: 'big' } } }, 400],
      [{ volumeTemplate: { volumeConfig: { capacity: 64 * 1024 * GIB } } }, 400],
      [{ volumeTemplate: { volumeConfig: { capacity: GIB, format: 'vdi' } } }, 400],
      [{ volumeTemplate: { volumeConfig: { capacity: GIB }, volumeImage: { href: '/x' } } }, 400],
      [{ name: 'x\u0000y', volumeTemplate: { volumeConfig: { capacity: GIB } } }, 400],
      [{ volumeTemplate: { volumeConfig: { capacity: GIB } }, extra: 1 }, 400],
    ];
    for (const [body, status] of bad) {
      const res = await createVolume('alice', body);
      assert.equal(res.status, status, `${JSON.stringify(body)}: ${res.text}`);
      assert.ok(typeof res.body.message === 'string' && res.body.message.length > 0);
    }
    await as(h.app, 'alice', 'post', '/api/volumes').set('content-type', 'application/json').send('{not json').expect(400);
    assert.deepEqual(await footprint('acme'), before);
  });

  it('quotas: volumes and GiB are charged at create (403 naming the quota over it) and given back once at purge', async () => {
    await as(h.app, 'root', 'put', '/api/quotas/acme').send({ volumes: 2, volumeGiB: 3 }).expect(200);
    const q0 = await as(h.app, 'alice', 'get', '/api/quota').expect(200);
    assert.deepEqual(q0.body.volumeLimits, { volumes: 2, volumeGiB: 3 });
    const a = await createVolume('alice', { volumeTemplate: { volumeConfig: { capacity: 2 * GIB } } }).expect(202);
    const over = await createVolume('alice', { volumeTemplate: { volumeConfig: { capacity: 2 * GIB } } }).expect(403);
    assert.match(over.body.message, /volume storage 2 GiB of 3 GiB in use, this volume needs 2 GiB/);
    // 1.5 GiB is charged as 2 (rounded up): over too.
    await createVolume('alice', { volumeTemplate: { volumeConfig: { capacity: 1.5 * GIB } } }).expect(403);
    await createVolume('alice', { volumeTemplate: { volumeConfig: { capacity: GIB } } }).expect(202);
    const full = await createVolume('alice', { volumeTemplate: { volumeConfig: { capacity: 1024 } } }).expect(403);
    assert.match(full.body.message, /volumes 2 of 2 in use/);
    assert.deepEqual((await as(h.app, 'alice', 'get', '/api/quota').expect(200)).body.volumeUsage, { volumes: 2, volumeGiB: 3 });
    await as(h.app, 'alice', 'delete', `/api/volumes/${idOf(a.headers.location)}`).expect(202);
    assert.deepEqual((await h.store.quotas.get('acme')).volumeUsed, { volumes: 1, volumeGiB: 1 });
    // Machine quotas are untouched by volumes.
    assert.deepEqual((await h.store.quotas.get('acme')).used, { machines: 0, cpus: 0, memoryKiB: 0 });
  });

  it('attach and detach through the machine\'s volumes sub-collection; host rules; 409 delete while attached', async () => {
    const m1 = await placedMachine('host-a');
    const m2 = await placedMachine('host-a');
    const far = await placedMachine('host-b');
    const v = await createVolume('alice', { name: 'data', volumeTemplate: { volumeConfig: { capacity: GIB } } }).expect(202);
    const vid = idOf(v.headers.location);
    const vhref = `/api/volumes/${vid}`;

    const empty = await as(h.app, 'alice', 'get', `/api/machines/${m1}/volumes`).expect(200);
    assert.equal(empty.body.resourceURI, `${CIMI}/MachineVolumeCollection`);
    assert.equal(empty.body.count, 0);
    const att = await as(h.app, 'alice', 'post', `/api/machines/${m1}/volumes`).send({ resourceURI: `${CIMI}/MachineVolume`, volume: { href: vhref }, initialLocation: 'vdc' }).expect(202);
    assert.match(att.headers.location, new RegExp(`/api/machines/${m1}/volumes/[0-9a-f-]{36}$`));
    assert.equal(att.body.initialLocation, 'vdc');
    assert.equal(att.body.state, 'ATTACHING');
    const listed = await as(h.app, 'alice', 'get', `/api/machines/${m1}/volumes`).expect(200);
    assert.equal(listed.body.machineVolumes.length, 1);
    assert.match(listed.body.machineVolumes[0].volume.href, new RegExp(`${vhref}$`));
    // The volume took its machine's host and waits for that host's agent to make the file.
    const got = await as(h.app, 'alice', 'get', vhref).expect(200);
    assert.equal(got.body.state, 'CREATING');
    assert.match(got.body.attachedTo.href, new RegExp(`/api/machines/${m1}$`));
    assert.equal(got.body.hostId, undefined);
    assert.equal((await as(h.app, 'root', 'get', '/api/quotas').expect(200)).status, 200);
    const onHost = await h.store.volumes.listOnHost('host-a');
    assert.equal(onHost.length, 1);
    assert.equal(onHost[0]!.attachment?.machineId, m1);
    const job = await as(h.app, 'alice', 'get', `/api/jobs/${idOf(att.headers['cimi-job-uri'])}`).expect(200);
    assert.equal(job.body.state, 'RUNNING');

    // Already attached, another machine: 409. Deleting it: 409. Another host: 409 naming the reason.
    const again = await as(h.app, 'alice', 'post', `/api/machines/${m2}/volumes`).send({ volume: { href: vhref } }).expect(409);
    assert.match(again.body.message, /already attached to machine/);
    const delRefused = await as(h.app, 'alice', 'delete', vhref).expect(409);
    assert.match(delRefused.body.message, /attached to machine .* detach it first/);
    const v2 = idOf((await createVolume('alice', { volumeTemplate: { volumeConfig: { capacity: GIB } } }).expect(202)).headers.location);
    await as(h.app, 'alice', 'post', `/api/machines/${m1}/volumes`).send({ volume: { href: `/api/volumes/${v2}` }, initialLocation: 'vdc' }).expect(409);
    await as(h.app, 'alice', 'post', `/api/machines/${m1}/volumes`).send({ volume: { href: `/api/volumes/${v2}` }, initialLocation: 'sda' }).expect(400);
    // XML in and out: a MachineVolume with the volume as an href attribute.
    const xml = await as(h.app, 'alice', 'post', `/api/machines/${m2}/volumes`).set('content-type', 'application/xml').set('accept', 'application/xml')
      .send(`<MachineVolume xmlns="${CIMI}"><volume href="/api/volumes/${v2}"/><initialLocation>vdd</initialLocation></MachineVolume>`).expect(202);
    assert.match(xml.text, /<MachineVolume[ >][\s\S]*<initialLocation>vdd<\/initialLocation>/);
    const xmlList = await as(h.app, 'alice', 'get', `/api/machines/${m2}/volumes`).set('accept', 'application/xml').expect(200);
    assert.match(xmlList.text, /MachineVolumeCollection[\s\S]*<initialLocation>vdd<\/initialLocation>/);
    const cross = await as(h.app, 'alice', 'post', `/api/machines/${far}/volumes`).send({ volume: { href: vhref } }).expect(409);
    assert.match(cross.body.message, /already attached/);

    // Another tenant: the machine's sub-collection and the volume are 404 / unknown.
    await as(h.app, 'bob', 'get', `/api/machines/${m1}/volumes`).expect(404);
    await as(h.app, 'bob', 'delete', `${att.headers.location.replace(/^.*\/api/, '/api')}`).expect(404);

    // The agent reports the file made and the attachment applied: ATTACHED, job SUCCESS.
    const cur = (await h.store.volumes.get(vid))!;
    await h.store.volumes.setStatus(vid, { state: 'AVAILABLE', observedGeneration: cur.generation, error: null, path: '/w/volumes/x.qcow2', hostId: 'host-a', updatedAt: Date.now() });
    assert.equal((await as(h.app, 'alice', 'get', att.headers.location.replace(/^.*\/api/, '/api')).expect(200)).body.state, 'ATTACHED');
    assert.equal((await as(h.app, 'alice', 'get', `/api/jobs/${idOf(att.headers['cimi-job-uri'])}`).expect(200)).body.state, 'SUCCESS');
    assert.equal((await as(h.app, 'alice', 'get', vhref).expect(200)).body.state, 'AVAILABLE');

    // Detach needs a stopped machine.
    const running = await placedMachine('host-a', 'STARTED');
    const v3 = idOf((await createVolume('alice', { volumeTemplate: { volumeConfig: { capacity: GIB } } }).expect(202)).headers.location);
    const a3 = await as(h.app, 'alice', 'post', `/api/machines/${running}/volumes`).send({ volume: { href: `/api/volumes/${v3}` } }).expect(202);
    const refused = await as(h.app, 'alice', 'delete', a3.headers.location.replace(/^.*\/api/, '/api')).expect(409);
    assert.match(refused.body.message, /stop the machine first/);

    const det = await as(h.app, 'alice', 'delete', att.headers.location.replace(/^.*\/api/, '/api')).expect(202);
    assert.equal(det.body.resourceURI, `${CIMI}/Job`);
    assert.equal((await as(h.app, 'alice', 'get', `/api/machines/${m1}/volumes`).expect(200)).body.count, 0);
    // Detached, it stays on host-a: a machine on host-b cannot have it.
    const hostRefused = await as(h.app, 'alice', 'post', `/api/machines/${far}/volumes`).send({ volume: { href: vhref } }).expect(409);
    assert.match(hostRefused.body.message, /another host .* no shared storage/);
    const asAdmin = await h.store.volumes.get(vid);
    assert.equal(asAdmin?.hostId, 'host-a');
    // Delete: accepted, DELETING until the agent removes the file and purges it.
    await as(h.app, 'alice', 'delete', vhref).expect(202);
    assert.equal((await as(h.app, 'alice', 'get', vhref).expect(200)).body.state, 'DELETING');
    assert.equal((await h.store.volumes.listOnHost('host-a')).find((x) => x.volumeId === vid)?.desiredState, 'DELETED');
  });

  it('a machine not on a host yet cannot take a volume (409 naming why)', async () => {
    const res = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'm', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    const v = idOf((await createVolume('alice', { volumeTemplate: { volumeConfig: { capacity: GIB } } }).expect(202)).headers.location);
    const r = await as(h.app, 'alice', 'post', `/api/machines/${idOf(res.headers.location)}/volumes`).send({ volume: { href: `/api/volumes/${v}` } }).expect(409);
    assert.match(r.body.message, /not on a host yet/);
    assert.equal((await h.store.volumes.get(v))?.attachment, null);
  });
});
