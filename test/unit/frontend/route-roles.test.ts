/**
 * Walks the route table (frontend/routes/route-roles.ts): every declared route is mounted, every
 * mounted route is declared (defineRoute refuses undeclared ones at start-up), and every route
 * enforces its role; then, for every route that takes an id, another tenant's id is answered
 * exactly like a missing one (issue 8: authorization and tenancy).
 */
import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import { defineRoute } from '../../../frontend/routes/route-table.js';
import { ROUTE_ROLES, type Method } from '../../../frontend/routes/route-roles.js';
import { as, harness, idOf, type Harness } from './harness.js';
import { ed25519PublicKey } from '../../helpers/ssh-keys.js';

const MISSING = '01a20867-e166-774b-a077-daa86ce705ad';
const CIMI = 'http://schemas.dmtf.org/cimi/1';

/** A concrete path for a template, and a body that is valid for it, so only the role decides. */
function concrete(template: string, ids: Record<string, string | undefined>): string {
  return template.replace(':id', ids.id ?? MISSING).replace(':memberId', '0').replace(':eventId', ids.eventId ?? MISSING).replace(':action', 'stop').replace(':tenant', ids.tenant ?? 'acme');
}

function send(h: Harness, method: Method, path: string, user: string | null): request.Test {
  const t = user ? as(h.app, user, method, path) : request(h.app)[method](path);
  if (method === 'post' || method === 'put') {
    const body = path.endsWith('/stop') || /\/machines\/[^/]+$/.test(path) ? { resourceURI: `${CIMI}/Action`, action: `${CIMI}/action/stop` } : {};
    return t.set('Content-Type', 'application/json').send(body);
  }
  return t;
}

describe('frontend: the route table', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => { h = await harness(); });
  after(async () => { await h.cleanup(); });

  const entries = Object.entries(ROUTE_ROLES).flatMap(([template, methods]) => Object.entries(methods).map(([m, role]) => ({ template, method: m as Method, role })));

  it('every declared route and method is mounted (never "no resource" or 405)', async () => {
    for (const { template, method } of entries) {
      const res = await send(h, method, concrete(template, {}), 'root');
      assert.notEqual(res.status, 405, `${method} ${template}: ${res.text}`);
      assert.ok(!(res.status === 404 && /no resource at/.test(res.body.message ?? '')), `${method} ${template} is declared but not mounted`);
    }
  });

  it('a route that is not declared cannot be mounted', () => {
    const r = express.Router();
    assert.throws(() => defineRoute(r, '/api', '/undeclared', { get: (_q, s) => { s.end(); } }), /not declared in frontend\/routes\/route-roles\.ts/);
    assert.throws(() => defineRoute(r, '/api', '/jobs', { delete: (_q, s) => { s.end(); } }), /DELETE \/api\/jobs is not declared/);
  });

  it('every route enforces its role: no credentials → 401 (public routes excepted), a user on an admin route → 403', async () => {
    for (const { template, method, role } of entries) {
      const path = concrete(template, {});
      const anon = await send(h, method, path, null);
      if (role === 'public') assert.notEqual(anon.status, 401, `${method} ${template} is public`);
      else assert.equal(anon.status, 401, `${method} ${template} without credentials: ${anon.status} ${anon.text}`);
      if (role === 'admin' || role === 'metrics') {
        const user = await send(h, method, path, 'alice');
        assert.equal(user.status, 403, `${method} ${template} as a user: ${user.status} ${user.text}`);
      }
    }
  });

  it('another tenant\'s ids are indistinguishable from missing ones on every route that takes an id, and absent from every collection', async () => {
    const created = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'alice-secret', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    const ids: Record<string, string> = {
      '/api/machines/:id': idOf(created.headers.location),
      '/api/machines/:id/:action': idOf(created.headers.location),
      '/api/jobs/:id': idOf(created.headers['cimi-job-uri']),
      '/api/jobs/:id/stop': idOf(created.headers['cimi-job-uri']),
      '/api/machines/:id/eventLog': idOf(created.headers.location),
      '/api/machines/:id/eventLog/events': idOf(created.headers.location),
      '/api/machines/:id/networkInterfaces': idOf(created.headers.location),
      '/api/machines/:id/networkInterfaces/:nic': idOf(created.headers.location),
    };
    // The machine's sub-collections and their members (frontend/machine-sub-collections.ts).
    for (const t of Object.keys(ROUTE_ROLES)) if (/^\/api\/machines\/:id\/(disks|volumes|networkInterfaces)/.test(t)) ids[t] = idOf(created.headers.location);
    // A network only one tenant may see (the store allows it; docs/networks.md).
    ids['/api/networks/:id'] = (await h.store.networks.create({ name: 'alice-secret-net', hostGroups: [{ hostLabels: {}, libvirtNetwork: 'default' }], tenant: 'acme' })).id;
    // An event of that machine, at its URL in the machine's EventLog.
    ids['/api/machines/:id/eventLog/events/:eventId'] = idOf(created.headers.location);
    const events = await as(h.app, 'alice', 'get', `/api/machines/${idOf(created.headers.location)}/eventLog/events`).expect(200);
    const eventId = idOf(events.body.events[0].id);
    // Catalog items may belong to one tenant (a tenant's own images): those are tenant-owned too.
    const cfg = await h.store.catalog.create('machineConfig', 'acme-only', 'acme', { description: '', properties: {}, cpu: 1, memory: 1048576, cpuArch: 'x86_64', disks: [] });
    const img = await h.store.catalog.create('machineImage', 'acme-only', 'acme', { description: '', properties: {}, imageLocation: '/a.qcow2', format: 'qcow2', initrd: null, kernelCmdline: null, cpuArch: 'x86_64' });
    const tpl = await h.store.catalog.create('machineTemplate', 'acme-only', 'acme', { description: '', properties: {}, machineConfig: cfg.id, machineImage: img.id, initialState: 'STARTED', userData: null });
    Object.assign(ids, { '/api/machineConfigs/:id': cfg.id, '/api/machineImages/:id': img.id, '/api/machineTemplates/:id': tpl.id });
    const key = await as(h.app, 'alice', 'post', '/api/apiKeys').send({ name: 'alice-key' }).expect(201);
    ids['/api/apiKeys/:id'] = idOf(key.headers.location);
    const cred = await as(h.app, 'alice', 'post', '/api/credentials').send({ name: 'alice-secret-cred', credentialTemplate: { publicKey: ed25519PublicKey() } }).expect(201);
    ids['/api/credentials/:id'] = idOf(cred.headers.location);
    // Volumes (docs/volumes.md): a placed machine of alice's with one attached, and tenant-owned volume catalog items.
    const vm = idOf(created.headers.location);
    await h.store.machines.assignHost(vm, 'host-a');
    const vol = await as(h.app, 'alice', 'post', '/api/volumes').send({ name: 'alice-secret-vol', volumeTemplate: { volumeConfig: { capacity: 1048576 } } }).expect(202);
    const mv = await as(h.app, 'alice', 'post', `/api/machines/${vm}/volumes`).send({ volume: { href: vol.headers.location } }).expect(202);
    const vcfg = await h.store.catalog.create('volumeConfig', 'acme-only', 'acme', { description: '', properties: {}, capacity: 1048576, format: 'qcow2' });
    const vtpl = await h.store.catalog.create('volumeTemplate', 'acme-only', 'acme', { description: '', properties: {}, volumeConfig: vcfg.id });
    Object.assign(ids, {
      '/api/volumes/:id': idOf(vol.headers.location), '/api/machines/:id/volumes': vm, '/api/machines/:id/volumes/:mvid': vm, '/api/machines/:id/metrics': vm,
      '/api/volumeConfigs/:id': vcfg.id, '/api/volumeTemplates/:id': vtpl.id,
    });
    assert.ok(mv.headers.location.includes(vm));
    // ResourceMetadata is the same for every tenant: its ids are type names, not tenant-owned.
    const byTenant = entries.filter((e) => e.template.includes(':id') && e.role === 'user' && !e.template.startsWith('/api/resourceMetadata/'));
    assert.ok(byTenant.length >= 7);
    for (const { template, method } of byTenant) {
      const real = ids[template];
      assert.ok(real, `no tenant-owned id for ${template}: add one to this test`);
      const theirs = await send(h, method, concrete(template, { id: real, eventId }), 'bob');
      const missing = await send(h, method, concrete(template, { id: MISSING }), 'bob');
      assert.equal(theirs.status, missing.status, `${method} ${template}`);
      assert.equal(theirs.status, 404, `${method} ${template}`);
      assert.deepEqual(Object.keys(theirs.body).sort(), Object.keys(missing.body).sort(), `${method} ${template}`);
      assert.equal(theirs.body.message.replaceAll(real, 'ID').replaceAll(eventId, 'ID'), missing.body.message.replaceAll(MISSING, 'ID'), `${method} ${template}`);
    }
    // Collections, counts and filters on any field never show the other tenant's members.
    for (const [coll, filter] of [['machines', "name='alice-secret'"], ['jobs', "action='create'"], ['events', "type!='x'"], ['apiKeys', "name='alice-key'"], ['credentials', "name='alice-secret-cred'"], ['networks', "name='alice-secret-net'"], ['volumes', "name='alice-secret-vol'"], ['volumeConfigs', "name='acme-only'"], ['volumeTemplates', "name='acme-only'"], ['machineConfigs', "name='acme-only'"], ['machineImages', "name='acme-only'"], ['machineTemplates', "name='acme-only'"]] as const) {
      const res = await as(h.app, 'bob', 'get', `/api/${coll}`).query({ $filter: filter }).expect(200);
      assert.equal(res.body.count, 0, `${coll} ${filter}`);
      assert.doesNotMatch(JSON.stringify(res.body), /alice-secret|alice-key/);
    }
    // The machine is still alice's and unchanged by bob's attempts.
    const m = (await h.store.machines.get(ids['/api/machines/:id']))!;
    assert.equal(m.desiredState, 'STARTED');
    assert.equal(m.generation, 1);
  });
});
