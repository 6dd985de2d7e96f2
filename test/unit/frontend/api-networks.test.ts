/**
 * Networks and machine network interfaces through the API (docs/networks.md): admin create/delete,
 * everyone reads, JSON and XML, collection queries, bad input refused with nothing written, a
 * machine's interfaces in its spec and its sub-collection, and 409 on deleting a network in use.
 */
import assert from 'node:assert/strict';
import { as, footprint, harness, idOf, type Harness } from './harness.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';
const groups = [{ hostLabels: { zone: 'a' }, libvirtNetwork: 'default' }];

describe('Networks API', function () {
  this.timeout(30_000);
  let h: Harness;
  beforeEach(async () => { h = await harness(); });
  afterEach(async () => { await h.cleanup(); });

  const createNet = (user: string, name: string, body: Record<string, unknown> = {}) =>
    as(h.app, user, 'post', '/api/networks').send({ resourceURI: `${CIMI}/NetworkCreate`, name, networkTemplate: { networkConfig: { networkType: 'PUBLIC' }, hostGroups: groups }, ...body });
  const createMachine = (user: string, nics: unknown) =>
    as(h.app, user, 'post', '/api/machines').send({ name: 'vm', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}`, networkInterfaces: nics } });

  it('admin creates (201 + Location); everyone lists and reads; host groups shown to admins only; entry point links it', async () => {
    const ep = await as(h.app, 'alice', 'get', '/api/cloudEntryPoint').expect(200);
    assert.match(ep.body.networks.href, /\/api\/networks$/);
    const c = await createNet('root', 'public', { description: 'outside', properties: { tier: 'web' } }).expect(201);
    assert.match(c.headers.location, /\/api\/networks\/[0-9a-f-]{36}$/);
    assert.equal(c.body.resourceURI, `${CIMI}/Network`);
    assert.equal(c.body.id, c.headers.location);
    assert.equal(c.body.state, 'STARTED');
    assert.equal(c.body.networkType, 'PUBLIC');
    assert.deepEqual(c.body.hostGroups, groups);
    assert.deepEqual(c.body.operations, [{ rel: 'delete', href: c.body.id }]);
    await createNet('root', 'backend', { networkTemplate: { networkConfig: { networkType: 'private' }, hostGroups: [{ libvirtNetwork: 'br-back' }] } }).expect(201);

    const list = await as(h.app, 'alice', 'get', '/api/networks').expect(200);
    assert.equal(list.body.resourceURI, `${CIMI}/NetworkCollection`);
    assert.equal(list.body.count, 2);
    assert.deepEqual(list.body.networks.map((n: { name: string }) => n.name), ['public', 'backend']);
    assert.deepEqual(list.body.operations, []); // no add for users
    for (const n of list.body.networks) { assert.equal(n.hostGroups, undefined); assert.deepEqual(n.operations, []); }
    const adminList = await as(h.app, 'root', 'get', '/api/networks').expect(200);
    assert.deepEqual(adminList.body.operations, [{ rel: 'add', href: adminList.body.id }]);
    assert.deepEqual(adminList.body.networks[1].hostGroups, [{ hostLabels: {}, libvirtNetwork: 'br-back' }]);

    const f = await as(h.app, 'bob', 'get', '/api/networks').query({ $filter: "networkType='PRIVATE'", $select: 'name,state' }).expect(200);
    assert.equal(f.body.count, 1);
    assert.equal(f.body.networks[0].name, 'backend');
    assert.equal(f.body.networks[0].state, 'STARTED');
    assert.equal(f.body.networks[0].created, undefined);
    const page = await as(h.app, 'bob', 'get', '/api/networks').query({ $orderby: 'name:desc', $first: 2, $last: 2 }).expect(200);
    assert.deepEqual(page.body.networks.map((n: { name: string }) => n.name), ['backend']);
    const got = await as(h.app, 'bob', 'get', `/api/networks/${idOf(c.headers.location)}`).expect(200);
    assert.equal(got.body.description, 'outside');
    assert.deepEqual(got.body.properties, { tier: 'web' });
  });

  it('XML in and out: NetworkCreate with hostGroup/hostLabel elements, Network and NetworkCollection', async () => {
    const xml = await as(h.app, 'root', 'post', '/api/networks').set('content-type', 'application/xml').set('accept', 'application/xml').send(
      `<NetworkCreate xmlns="${CIMI}"><name>x</name><networkTemplate><networkConfig><networkType>PRIVATE</networkType></networkConfig>`
      + '<hostGroup><hostLabel key="zone">a</hostLabel><hostLabel key="rack">2</hostLabel><libvirtNetwork>default</libvirtNetwork></hostGroup>'
      + '<hostGroup><libvirtNetwork>other</libvirtNetwork></hostGroup></networkTemplate></NetworkCreate>',
    ).expect(201);
    assert.match(xml.text, /<Network[ >]/);
    assert.match(xml.text, /<hostGroup>\s*<hostLabel key="zone">a<\/hostLabel>\s*<hostLabel key="rack">2<\/hostLabel>\s*<libvirtNetwork>default<\/libvirtNetwork>/);
    const n = (await h.store.networks.get(idOf(xml.headers.location)))!;
    assert.deepEqual(n.hostGroups, [{ hostLabels: { zone: 'a', rack: '2' }, libvirtNetwork: 'default' }, { hostLabels: {}, libvirtNetwork: 'other' }]);
    assert.equal(n.networkType, 'PRIVATE');
    const list = await as(h.app, 'alice', 'get', '/api/networks').set('accept', 'application/xml').expect(200);
    assert.match(list.text, /NetworkCollection/);
    assert.match(list.text, /<Network>[\s\S]*<name>x<\/name>/);
  });

  it('bad input is a 4xx CIMI error and writes nothing; users may not create or delete', async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ networkTemplate: undefined }, /networkTemplate is required/],
      [{ networkTemplate: { hostGroups: [] } }, /at least one host group/],
      [{ networkTemplate: { hostGroups: groups, mtu: 1500 } }, /unknown field 'mtu'/],
      [{ networkTemplate: { hostGroups: [{ libvirtNetwork: 'a/b' }] } }, /libvirtNetwork must be/],
      [{ networkTemplate: { hostGroups: [{ libvirtNetwork: '' }] } }, /libvirtNetwork is required/],
      [{ networkTemplate: { hostGroups: [{ libvirtNetwork: 'x', hostLabels: { z: 1 } }] } }, /must be a string/],
      [{ networkTemplate: { hostGroups: [{ libvirtNetwork: 'x', extra: 1 }] } }, /unknown field 'extra'/],
      [{ networkTemplate: { networkConfig: { networkType: 'WEIRD' }, hostGroups: groups } }, /networkType must be one of PUBLIC, PRIVATE/],
      [{ networkTemplate: { hostGroups: Array.from({ length: 17 }, () => groups[0]) } }, /more than 16/],
      [{ networkTemplate: { href: '/api/networkTemplates/x' } }, /no NetworkTemplates/],
      [{ name: 'a\nb' }, /control characters/],
    ];
    for (const [body, msg] of bad) {
      const r = await createNet('root', 'n', body).expect(400);
      assert.match(r.body.message, msg, JSON.stringify(body));
      assert.equal(r.body.status, 400);
    }
    await as(h.app, 'root', 'post', '/api/networks').send({ networkTemplate: { hostGroups: groups } }).expect(400); // no name
    await createNet('alice', 'mine').expect(403);
    assert.equal((await h.store.networks.list()).length, 0);
    const n = await createNet('root', 'kept').expect(201);
    await as(h.app, 'alice', 'delete', `/api/networks/${idOf(n.headers.location)}`).expect(403);
    await as(h.app, 'root', 'get', '/api/networks/not-an-id').expect(404);
    await as(h.app, 'root', 'delete', '/api/networks/01a20867-e166-774b-a077-daa86ce705ad').expect(404);
    assert.equal((await h.store.networks.list()).length, 1);
  });

  it('a machine names its networks: spec copies the host groups, the interfaces sub-collection shows them, MAC once the agent reported it', async () => {
    const pub = idOf((await createNet('root', 'public').expect(201)).headers.location);
    const back = idOf((await createNet('root', 'back', { networkTemplate: { hostGroups: [{ hostLabels: { rack: '1' }, libvirtNetwork: 'br1' }] } }).expect(201)).headers.location);
    const created = await createMachine('alice', [{ network: { href: `http://x/api/networks/${pub}` } }, { network: { href: `/api/networks/${back}` } }]).expect(202);
    const id = idOf(created.headers.location);
    assert.match(created.body.networkInterfaces.href, new RegExp(`/api/machines/${id}/networkInterfaces$`));
    const m = (await h.store.machines.get(id))!;
    assert.deepEqual(m.spec.networkInterfaces, [
      { network: pub, networkName: 'public', hostGroups: groups },
      { network: back, networkName: 'back', hostGroups: [{ hostLabels: { rack: '1' }, libvirtNetwork: 'br1' }] },
    ]);
    assert.deepEqual((await h.store.networks.users(pub)).map((u) => u.machineId), [id]);

    const coll = await as(h.app, 'alice', 'get', `/api/machines/${id}/networkInterfaces`).expect(200);
    assert.equal(coll.body.resourceURI, `${CIMI}/MachineNetworkInterfaceCollection`);
    assert.equal(coll.body.count, 2);
    const [nic0, nic1] = coll.body.networkInterfaces;
    assert.equal(nic0.resourceURI, `${CIMI}/MachineNetworkInterface`);
    assert.match(nic0.network.href, new RegExp(`/api/networks/${pub}$`));
    assert.equal(nic0.state, 'STANDBY');
    assert.equal(nic0.macAddress, undefined);
    assert.match(nic1.id, new RegExp(`/networkInterfaces/1$`));

    // What the agent writes once the domain is defined and running.
    await h.store.machines.assignHost(id, 'h1');
    await h.store.machines.setStatus(id, {
      state: 'STARTED', observedGeneration: 1, observedRestartSeq: 0, converged: true, error: null, hostId: 'h1', updatedAt: Date.now(),
      networkInterfaces: [{ network: pub, macAddress: '52:54:00:12:34:56', addresses: ['192.168.122.7'] }, { network: back, macAddress: '52:54:00:12:34:57', addresses: [] }],
    });
    const one = await as(h.app, 'alice', 'get', `/api/machines/${id}/networkInterfaces/0`).expect(200);
    assert.equal(one.body.macAddress, '52:54:00:12:34:56');
    assert.equal(one.body.state, 'ACTIVE');
    assert.deepEqual(one.body.addresses, [{ ip: '192.168.122.7', protocol: 'IPv4', allocation: 'dynamic' }]);
    const f = await as(h.app, 'alice', 'get', `/api/machines/${id}/networkInterfaces`).query({ $filter: "macAddress='52:54:00:12:34:57'", $select: 'macAddress' }).expect(200);
    assert.equal(f.body.count, 1);
    assert.equal(f.body.networkInterfaces[0].macAddress, '52:54:00:12:34:57');
    assert.equal(f.body.networkInterfaces[0].network, undefined);
    const xml = await as(h.app, 'alice', 'get', `/api/machines/${id}/networkInterfaces`).set('accept', 'application/xml').expect(200);
    assert.match(xml.text, /<MachineNetworkInterface>[\s\S]*<macAddress>52:54:00:12:34:56<\/macAddress>/);
    assert.match(xml.text, /<address>\s*<ip>192.168.122.7<\/ip>/);
    await as(h.app, 'alice', 'get', `/api/machines/${id}/networkInterfaces/2`).expect(404);
    await as(h.app, 'bob', 'get', `/api/machines/${id}/networkInterfaces`).expect(404);

    // In use: 409 naming the machine, nothing deleted; once the machine is purged, 200.
    const busy = await as(h.app, 'root', 'delete', `/api/networks/${pub}`).expect(409);
    assert.match(busy.body.message, new RegExp(`used by 1 machine: ${id} \\(tenant acme\\)`));
    assert.equal((await h.store.networks.get(pub))?.state, 'STARTED');
    await h.store.machines.purge((await h.store.machines.get(id))!);
    await as(h.app, 'root', 'delete', `/api/networks/${pub}`).expect(200);
    await as(h.app, 'alice', 'get', `/api/networks/${pub}`).expect(404);
  });

  it('a network for one tenant (Skybus extension `tenant`): only that tenant sees and uses it', async () => {
    const c = await createNet('root', 'globex-lan', { tenant: 'globex' }).expect(201);
    assert.equal(c.body.tenant, 'globex');
    const id = idOf(c.headers.location);
    assert.equal((await as(h.app, 'alice', 'get', '/api/networks').expect(200)).body.count, 0);
    await as(h.app, 'alice', 'get', `/api/networks/${id}`).expect(404);
    const mine = await as(h.app, 'bob', 'get', `/api/networks/${id}`).expect(200);
    assert.equal(mine.body.tenant, undefined); // who else could see it is the operator's business
    await createMachine('alice', [{ network: { href: `/api/networks/${id}` } }]).expect(400);
    await createMachine('bob', [{ network: { href: `/api/networks/${id}` } }]).expect(202);
    await createNet('root', 'x', { tenant: '' }).expect(400);
    // Operators see (and may delete) every network; they may not put their own machines on a tenant's.
    const all = await as(h.app, 'root', 'get', '/api/networks').query({ $filter: "tenant='globex'" }).expect(200);
    assert.equal(all.body.count, 1);
    await createMachine('root', [{ network: { href: `/api/networks/${id}` } }]).expect(400);
  });

  it('a machine without interfaces has an empty sub-collection', async () => {
    const created = await createMachine('alice', undefined).expect(202);
    const coll = await as(h.app, 'alice', 'get', `/api/machines/${idOf(created.headers.location)}/networkInterfaces`).expect(200);
    assert.equal(coll.body.count, 0);
    assert.deepEqual(coll.body.networkInterfaces, []);
  });

  it('bad networkInterfaces refuse the create (400) and write nothing', async () => {
    const pub = idOf((await createNet('root', 'public').expect(201)).headers.location);
    const priv = (await h.store.networks.create({ name: 'globex-only', hostGroups: groups, tenant: 'globex' })).id;
    const before = await footprint(h.store, 'acme');
    const bad: [unknown, RegExp][] = [
      [{ network: { href: `/api/networks/${pub}` } }, /must be an array/],
      [[{}], /network is required/],
      [[{ network: { href: `/api/networks/${pub}` }, macAddress: 'x' }], /unknown field 'macAddress'/],
      [[{ network: { name: 'inline' } }], /by href/],
      [[{ network: { href: '/api/machines/x' } }], /must reference \/api\/networks/],
      [[{ network: { href: '/api/networks/01a20867-e166-774b-a077-daa86ce705ad' } }], /no such Network/],
      [[{ network: { href: `/api/networks/${priv}` } }], /no such Network/], // another tenant's
      [Array.from({ length: 9 }, () => ({ network: { href: `/api/networks/${pub}` } })), /more than 8/],
    ];
    for (const [nics, msg] of bad) {
      const r = await createMachine('alice', nics).expect(400);
      assert.match(r.body.message, msg, JSON.stringify(nics));
    }
    assert.deepEqual(await footprint(h.store, 'acme'), before);
    assert.deepEqual(await h.store.networks.users(pub), []);
    // globex may use its own.
    await createMachine('bob', [{ network: { href: `/api/networks/${priv}` } }]).expect(202);
  });

  it('a network turning DELETING between the lookup and the write refuses the create (409) and leaves nothing', async () => {
    const pub = idOf((await createNet('root', 'public').expect(201)).headers.location);
    const before = await footprint(h.store, 'acme');
    const quota = await as(h.app, 'alice', 'get', '/api/quota').expect(200);
    // A delete set DELETING just after the create's lookup: the lookup (patched) still saw STARTED,
    // the store's SERIAL re-read at create sees DELETING.
    await h.store.driver.put('networks', { id: pub, state: 'DELETING' });
    const real = h.store.networks.get.bind(h.store.networks);
    h.store.networks.get = async (id, opts) => { const n = await real(id, opts); return n ? { ...n, state: 'STARTED' } : n; };
    const r = await createMachine('alice', [{ network: { href: `/api/networks/${pub}` } }]).expect(409);
    assert.match(r.body.message, /being deleted/);
    h.store.networks.get = real;
    assert.deepEqual(await footprint(h.store, 'acme'), before);
    assert.deepEqual(await h.store.networks.users(pub), []);
    assert.deepEqual((await as(h.app, 'alice', 'get', '/api/quota').expect(200)).body.usage, quota.body.usage);
  });
});
