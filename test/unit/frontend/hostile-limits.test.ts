/**
 * Issue 7, items 12 and 14: catalog items a template still uses cannot be deleted, and a tenant's
 * inline machine configuration is bounded by the operator's per-machine limits and by the fleet.
 */
import assert from 'node:assert/strict';
import { FRONTEND_DEFAULTS } from '../../../frontend/config.js';
import { as, footprint, harness, type Harness } from './harness.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';

describe('hostile deletes: a configuration or image a template uses is not deletable (issue 7.12)', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => { h = await harness(); });
  after(async () => { await h.cleanup(); });

  it('409 naming the template(s); the catalog unchanged; deletable once no template uses it', async () => {
    const second = await as(h.app, 'root', 'post', '/api/machineTemplates').send({ name: 'second-user', machineConfig: { href: h.catalog.config }, machineImage: { href: h.catalog.image } }).expect(201);
    const before = await footprint(h.store, 'ops');
    for (const [coll, id, type] of [['machineConfigs', h.catalog.config, 'MachineConfiguration'], ['machineImages', h.catalog.image, 'MachineImage']]) {
      for (const accept of ['application/json', 'application/xml']) {
        const res = await as(h.app, 'root', 'delete', `/api/${coll}/${id}`).set('Accept', accept);
        assert.equal(res.status, 409, `${coll}: ${res.text.slice(0, 200)}`);
        const text = res.text.replace(/&apos;/g, "'");
        assert.match(text, new RegExp(`${type} ${id} is used by 2 MachineTemplates`));
        assert.match(text, /'small-debian'/);
        assert.match(text, /'second-user'/);
        assert.match(text, new RegExp(`/api/machineTemplates/${h.catalog.template}`));
        if (accept === 'application/json') {
          assert.equal(res.body.resourceURI, `${CIMI}/Error`);
          assert.equal(res.body.code, 'CONFLICT');
        } else assert.match(text, /<code>CONFLICT<\/code>/);
      }
    }
    assert.deepEqual(await footprint(h.store, 'ops'), before);
    // Both templates still resolve, and a machine can still be created from one.
    await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    await as(h.app, 'root', 'delete', new URL(second.body.id).pathname).expect(200);
    assert.match((await as(h.app, 'root', 'delete', `/api/machineImages/${h.catalog.image}`).expect(409)).body.message, /used by 1 MachineTemplate: 'small-debian'/);
    await as(h.app, 'root', 'delete', `/api/machineTemplates/${h.catalog.template}`).expect(200);
    await as(h.app, 'root', 'delete', `/api/machineConfigs/${h.catalog.config}`).expect(200);
    await as(h.app, 'root', 'delete', `/api/machineImages/${h.catalog.image}`).expect(200);
  });
});

describe('hostile sizes: an inline machineConfig is bounded, and no machine larger than every host is accepted (issue 7.14)', function () {
  this.timeout(60_000);
  const limits = { ...FRONTEND_DEFAULTS.machineLimits, maxCpu: 8 };
  let h: Harness;
  let img: { href: string };
  before(async () => {
    h = await harness({ machineLimits: limits });
    img = { href: `/api/machineImages/${h.catalog.image}` };
  });
  after(async () => { await h.cleanup(); });

  const inline = (cfg: Record<string, unknown>) => ({ machineTemplate: { machineConfig: cfg, machineImage: img } });

  it('cpu 40, 17 disks, 9 disks, a 1 PiB disk, format vmdk, too much memory: 400 naming the field, nothing written', async () => {
    const before = await footprint(h.store, 'acme');
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['cpu 40', { cpu: 40, memory: 2048 }, /^machineTemplate\.machineConfig\.cpu: at most 8 vCPUs/],
      ['17 disks', { cpu: 1, memory: 2048, disks: Array.from({ length: 17 }, () => ({ capacity: 1 })) }, /^machineTemplate\.machineConfig\.disks has more than 16 entries/],
      ['9 disks', { cpu: 1, memory: 2048, disks: Array.from({ length: 9 }, () => ({ capacity: 1 })) }, /^machineTemplate\.machineConfig\.disks: at most 8 disks/],
      ['a 1 PiB disk', { cpu: 1, memory: 2048, disks: [{ capacity: 1 }, { capacity: 2 ** 40 }] }, /^machineTemplate\.machineConfig\.disks\[1\]\.capacity: at most/],
      ['format vmdk', { cpu: 1, memory: 2048, disks: [{ capacity: 1, format: 'vmdk' }] }, /^machineTemplate\.machineConfig\.disks\[0\]\.format must be one of qcow2, raw/],
      ['memory', { cpu: 1, memory: limits.maxMemoryKiB + 1 }, /^machineTemplate\.machineConfig\.memory: at most/],
    ];
    for (const [what, cfg, message] of cases) {
      for (const body of [inline(cfg), { machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}`, machineConfig: cfg } }]) {
        const res = await as(h.app, 'alice', 'post', '/api/machines').send(body);
        assert.equal(res.status, 400, `${what}: ${res.status} ${res.text.slice(0, 200)}`);
        assert.equal(res.body.resourceURI, `${CIMI}/Error`);
        assert.match(res.body.message, message, what);
      }
    }
    // The same as XML.
    const xml = await as(h.app, 'alice', 'post', '/api/machines').set('Content-Type', 'application/xml')
      .send(`<MachineCreate><machineTemplate><machineConfig><cpu>40</cpu><memory>2048</memory></machineConfig><machineImage href="${img.href}"/></machineTemplate></MachineCreate>`);
    assert.equal(xml.status, 400);
    assert.match(xml.body.message, /machineConfig\.cpu: at most 8 vCPUs/);
    assert.deepEqual(await footprint(h.store, 'acme'), before);
    // At the limits: accepted.
    await as(h.app, 'alice', 'post', '/api/machines').send(inline({ cpu: 8, memory: 2048, disks: Array.from({ length: 8 }, () => ({ capacity: limits.maxDiskKiB, format: 'raw' })) })).expect(202);
    // An operator's own inline configuration is the operator's call.
    await as(h.app, 'root', 'post', '/api/machines').send(inline({ cpu: 40, memory: 2048 })).expect(202);
  });

  it('tenantInlineConfig false: a tenant\'s inline machineConfig is 403; by href it is fine', async () => {
    const closed = await harness({ machineLimits: { ...FRONTEND_DEFAULTS.machineLimits, tenantInlineConfig: false } });
    try {
      const before = await footprint(closed.store, 'acme');
      const res = await as(closed.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { machineConfig: { cpu: 1, memory: 2048 }, machineImage: { href: `/api/machineImages/${closed.catalog.image}` } } });
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'FORBIDDEN');
      assert.match(res.body.message, /machineConfig: this cloud takes machine configurations by href only/);
      assert.deepEqual(await footprint(closed.store, 'acme'), before);
      await as(closed.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { machineConfig: { href: closed.catalog.config }, machineImage: { href: `/api/machineImages/${closed.catalog.image}` } } }).expect(202);
    } finally { await closed.cleanup(); }
  });

  it('larger than the largest registered host: 400; with no host registered: accepted; only hosts of another arch: 400', async () => {
    const host = { name: 'kvm1', uri: 'qemu:///system', labels: {} };
    const fleet = await harness();
    const empty = await harness();
    const arm = await harness();
    try {
      await fleet.store.hosts.register({ ...host, id: 'kvm1', arch: 'x86_64', cpus: 16, memoryKiB: 64 * 1024 * 1024 });
      await fleet.store.hosts.register({ ...host, id: 'kvm2', arch: 'x86_64', cpus: 4, memoryKiB: 128 * 1024 * 1024 });
      await arm.store.hosts.register({ ...host, id: 'arm1', arch: 'aarch64', cpus: 64, memoryKiB: 256 * 1024 * 1024 });
      const create = (x: Harness, cfg: Record<string, unknown>, user = 'alice') => as(x.app, user, 'post', '/api/machines').send({ machineTemplate: { machineConfig: cfg, machineImage: { href: `/api/machineImages/${x.catalog.image}` } } });
      const before = await footprint(fleet.store, 'acme');
      const cases = [
        [{ cpu: 17, memory: 2048 }, /17 vCPUs is more than any host in this cloud has/],
        [{ cpu: 1, memory: 128 * 1024 * 1024 + 1 }, /KiB of memory is more than any host/],
        // 16 vCPUs (kvm1 has them) and 128 GiB (kvm2 has it), but no one host has both.
        [{ cpu: 16, memory: 128 * 1024 * 1024 }, /16 vCPUs with 134217728 KiB of memory is more than any host/],
      ] as const;
      for (const [cfg, what] of cases) {
        for (const user of ['alice', 'root']) {
          const res = await create(fleet, cfg, user);
          assert.equal(res.status, 400, `${JSON.stringify(cfg)} as ${user}: ${res.text.slice(0, 200)}`);
          assert.match(res.body.message, what);
          assert.match(res.body.message, /^machineTemplate\.machineConfig/);
          assert.doesNotMatch(res.body.message, /kvm1|kvm2|2 hosts/);
        }
      }
      assert.deepEqual(await footprint(fleet.store, 'acme'), before);
      // What one host holds is accepted.
      await create(fleet, { cpu: 16, memory: 2048 }).expect(202);
      await create(fleet, { cpu: 1, memory: 128 * 1024 * 1024 }).expect(202);
      await create(empty, { cpu: 8, memory: 200 * 1024 * 1024 }).expect(202);
      const res = await as(arm.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: `/api/machineTemplates/${arm.catalog.template}` } });
      assert.equal(res.status, 400);
      assert.match(res.body.message, /this cloud has no hosts for x86_64 machines/);
    } finally {
      await fleet.cleanup();
      await empty.cleanup();
      await arm.cleanup();
    }
  });
});
