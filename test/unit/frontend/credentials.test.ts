/**
 * Credentials (SSH public keys) through the API: life cycle in JSON and XML, collection queries,
 * tenant isolation, bad input refused with nothing written, 409 while a template names one, and the
 * machine spec's user data being the documented NoCloud document (docs/guest-data.md).
 */
import assert from 'node:assert/strict';
import { credentialCloudConfig } from '../../../frontend/nocloud-user-data.js';
import { ed25519PublicKey, rsaPublicKey } from '../../helpers/ssh-keys.js';
import { as, harness, idOf, type Harness } from './harness.js';

const CREATE = 'http://schemas.dmtf.org/cimi/1/CredentialCreate';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | null) => Buffer.from(s ?? '', 'base64').toString('utf8');

describe('Credentials API', function () {
  this.timeout(30_000);
  let h: Harness;
  const key = ed25519PublicKey('alice@laptop');
  beforeEach(async () => { h = await harness(); });
  afterEach(async () => { await h.cleanup(); });

  const createCred = (user: string, name: string, publicKey: string) =>
    as(h.app, user, 'post', '/api/credentials').send({ resourceURI: CREATE, name, credentialTemplate: { publicKey } });
  const count = async () => (await h.store.catalog.list('credential')).length;

  it('create (201 + Location), get, list with $filter/$select, delete (200, then 404); JSON and XML; linked from the entry point', async () => {
    const ep = await request(h, 'get', '/api/cloudEntryPoint');
    assert.match(ep.body.credentials.href, /\/api\/credentials$/);
    const c = await createCred('alice', 'laptop', `${key}\n`).expect(201);
    assert.match(c.headers.location, /\/api\/credentials\/[0-9a-f-]{36}$/);
    assert.equal(c.body.resourceURI, 'http://schemas.dmtf.org/cimi/1/Credential');
    assert.equal(c.body.id, c.headers.location);
    assert.equal(c.body.publicKey, key);
    assert.deepEqual(c.body.operations, [{ rel: 'delete', href: c.body.id }]);
    const got = await as(h.app, 'alice', 'get', `/api/credentials/${idOf(c.headers.location)}`).expect(200);
    assert.equal(got.body.publicKey, key);
    await createCred('alice', 'other', ed25519PublicKey()).expect(201);

    const list = await as(h.app, 'alice', 'get', '/api/credentials').expect(200);
    assert.equal(list.body.resourceURI, 'http://schemas.dmtf.org/cimi/1/CredentialCollection');
    assert.equal(list.body.count, 2);
    assert.deepEqual(list.body.operations, [{ rel: 'add', href: list.body.id }]);
    const filtered = await as(h.app, 'alice', 'get', '/api/credentials').query({ $filter: "name='laptop'", $select: 'name,publicKey' }).expect(200);
    assert.equal(filtered.body.count, 1);
    assert.equal(filtered.body.credentials[0].publicKey, key);
    assert.equal(filtered.body.credentials[0].created, undefined);
    const page = await as(h.app, 'alice', 'get', '/api/credentials').query({ $orderby: 'name:desc', $first: 1, $last: 1 }).expect(200);
    assert.equal(page.body.credentials.length, 1);
    assert.equal(page.body.credentials[0].name, 'other');

    const xml = await as(h.app, 'alice', 'post', '/api/credentials').set('content-type', 'application/xml').set('accept', 'application/xml')
      .send(`<CredentialCreate xmlns="http://schemas.dmtf.org/cimi/1"><name>xml</name><credentialTemplate><publicKey>${key}</publicKey></credentialTemplate></CredentialCreate>`).expect(201);
    assert.match(xml.text, /<Credential[ >][\s\S]*<publicKey>ssh-ed25519 [A-Za-z0-9+/=]+ alice@laptop<\/publicKey>/);
    const xmlList = await as(h.app, 'alice', 'get', '/api/credentials').set('accept', 'application/xml').expect(200);
    assert.match(xmlList.text, /CredentialCollection/);
    assert.equal((xmlList.text.match(/<publicKey>/g) ?? []).length, 3);

    await as(h.app, 'alice', 'delete', `/api/credentials/${idOf(c.headers.location)}`).expect(200);
    await as(h.app, 'alice', 'get', `/api/credentials/${idOf(c.headers.location)}`).expect(404);
    // Anyone of the tenant may see and delete the tenant's credentials (they are the tenant's, not one user's).
    await as(h.app, 'root', 'get', `/api/credentials/${idOf(xml.headers.location)}`).expect(404);
  });

  it("another tenant's credential is answered exactly like a missing one, and never listed", async () => {
    const c = await createCred('alice', 'alice-secret-key', key).expect(201);
    const id = idOf(c.headers.location);
    const missing = '00000000-0000-7000-8000-00000000abcd';
    for (const method of ['get', 'delete'] as const) {
      const theirs = await as(h.app, 'bob', method, `/api/credentials/${id}`);
      const none = await as(h.app, 'bob', method, `/api/credentials/${missing}`);
      assert.equal(theirs.status, 404);
      assert.equal(none.status, 404);
      assert.equal(theirs.body.message.replace(id, 'ID'), none.body.message.replace(missing, 'ID'));
    }
    const list = await as(h.app, 'bob', 'get', '/api/credentials').query({ $filter: "name='alice-secret-key'" }).expect(200);
    assert.equal(list.body.count, 0);
    // Nor may bob give it to his machine: the same 400 as a credential that does not exist.
    const before = await count();
    const use = await as(h.app, 'bob', 'post', '/api/machines').send({ machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}`, credential: { href: `/api/credentials/${id}` } } }).expect(400);
    const useMissing = await as(h.app, 'bob', 'post', '/api/machines').send({ machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}`, credential: { href: `/api/credentials/${missing}` } } }).expect(400);
    assert.equal(use.body.message, useMissing.body.message);
    assert.equal((await h.store.machines.listByTenant('globex', { limit: 10, pageState: null })).items.length, 0);
    assert.equal(await count(), before);
    assert.ok(await h.store.catalog.get('credential', id), 'still there after bob tried to delete it');
  });

  it('bad input is a 400 naming the field, and nothing is written', async () => {
    const ed = ed25519PublicKey();
    const cases: [unknown, RegExp][] = [
      [{ name: 'x' }, /^CredentialCreate\.credentialTemplate is required/],
      [{ credentialTemplate: {} }, /^CredentialCreate\.credentialTemplate\.publicKey is required/],
      [{ credentialTemplate: { publicKey: 'ssh-dss AAAA' } }, /^CredentialCreate\.credentialTemplate\.publicKey must start with a key type/],
      [{ credentialTemplate: { publicKey: `ssh-rsa ${ed.split(' ')[1]}` } }, /^CredentialCreate\.credentialTemplate\.publicKey key data does not begin with its type/],
      [{ credentialTemplate: { publicKey: `${ed}\n${ed}` } }, /^CredentialCreate\.credentialTemplate\.publicKey must be one line/],
      [{ credentialTemplate: { publicKey: ed, password: 'x' } }, /^unknown field 'password' in CredentialCreate\.credentialTemplate/],
      [{ credentialTemplate: { href: '/api/credentialTemplates/1' } }, /keeps no CredentialTemplates/],
      [{ credentialTemplate: { publicKey: ed }, userName: 'root' }, /^unknown field 'userName' in CredentialCreate/],
      [{ resourceURI: 'http://schemas.dmtf.org/cimi/1/MachineCreate', credentialTemplate: { publicKey: ed } }, /resourceURI must be .*CredentialCreate/],
      [{ name: 'a\u0000b', credentialTemplate: { publicKey: ed } }, /^CredentialCreate\.name contains/],
    ];
    for (const [body, why] of cases) {
      const res = await as(h.app, 'alice', 'post', '/api/credentials').send(body as object);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.status} ${res.text}`);
      assert.match(res.body.message, why);
    }
    assert.equal(await count(), 0);
  });

  it('a tenant may hold at most 100 credentials (409 beyond, nothing written)', async () => {
    for (let i = 0; i < 100; i++) await h.store.catalog.create('credential', `k${i}`, 'acme', { description: '', properties: {}, publicKey: key });
    const res = await createCred('alice', 'one-too-many', key).expect(409);
    assert.match(res.body.message, /has 100 credentials, the most it may have is 100/);
    assert.equal(await count(), 100);
    await createCred('bob', 'other-tenant', key).expect(201);
  });

  it('a credential named by a MachineTemplate cannot be deleted (409) until the template is gone', async () => {
    const c = await createCred('root', 'ops-key', key).expect(201);
    const tpl = await as(h.app, 'root', 'post', '/api/machineTemplates').send({ name: 'with-key', machineConfig: { href: `/api/machineConfigs/${h.catalog.config}` }, machineImage: { href: `/api/machineImages/${h.catalog.image}` }, credential: { href: c.headers.location } }).expect(201);
    assert.equal(idOf(tpl.body.credential.href), idOf(c.headers.location));
    const del = await as(h.app, 'root', 'delete', `/api/credentials/${idOf(c.headers.location)}`).expect(409);
    assert.match(del.body.message, /is used by 1 MachineTemplate: 'with-key'/);
    // A template may only name its creator's tenant's credential.
    const alices = await createCred('alice', 'a', key).expect(201);
    const bad = await as(h.app, 'root', 'post', '/api/machineTemplates').send({ machineConfig: { href: `/api/machineConfigs/${h.catalog.config}` }, machineImage: { href: `/api/machineImages/${h.catalog.image}` }, credential: { href: alices.headers.location } }).expect(400);
    assert.match(bad.body.message, /^MachineTemplate\.credential: no such Credential/);
    // A tenant's machine from that template gets the template's key.
    const m = await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: tpl.headers.location } }).expect(202);
    assert.equal(unb64((await h.store.machines.get(idOf(m.headers.location)))!.spec.userData), credentialCloudConfig([key], false));
    await as(h.app, 'root', 'delete', `/api/machineTemplates/${idOf(tpl.headers.location)}`).expect(200);
    await as(h.app, 'root', 'delete', `/api/credentials/${idOf(c.headers.location)}`).expect(200);
  });

  describe('machine create with a credential: the spec carries the documented NoCloud user data', () => {
    const specOf = async (res: { headers: Record<string, string> }) => (await h.store.machines.get(idOf(res.headers.location)))!.spec;

    it('without own user data: exactly the #cloud-config with ssh_authorized_keys', async () => {
      const c = await createCred('alice', 'laptop', key).expect(201);
      const res = await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}`, credential: { href: c.body.id } } }).expect(202);
      const doc = unb64((await specOf(res)).userData);
      assert.equal(doc, `#cloud-config\nssh_authorized_keys:\n  - "${key}"\n`);
      // Inline (CIMI allows any template part inline) gives the same document.
      const inline = await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}`, credential: { publicKey: key } } }).expect(202);
      assert.equal(unb64((await specOf(inline)).userData), doc);
      // No credential: the user data is untouched, as before.
      const plain = await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}`, userData: b64('#!/bin/sh\necho hi\n') } }).expect(202);
      assert.equal(unb64((await specOf(plain)).userData), '#!/bin/sh\necho hi\n');
    });

    it('with own user data: a MIME multipart with the tenant part first, then the keys with merge_how', async () => {
      const own = '#!/bin/sh\necho hello\n';
      const res = await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}`, userData: b64(own), credential: { publicKey: key } } }).expect(202);
      const doc = unb64((await specOf(res)).userData);
      const boundary = /^Content-Type: multipart\/mixed; boundary="(skybus-[0-9a-f]{24})"\nMIME-Version: 1\.0\n\n/.exec(doc)?.[1];
      assert.ok(boundary, doc);
      assert.equal(doc, [
        `Content-Type: multipart/mixed; boundary="${boundary}"`, 'MIME-Version: 1.0', '',
        `--${boundary}`,
        'Content-Type: text/x-shellscript; charset="utf-8"', 'Content-Transfer-Encoding: 8bit', 'Content-Disposition: attachment; filename="user-data"', '',
        '#!/bin/sh', 'echo hello',
        `--${boundary}`,
        'Content-Type: text/cloud-config; charset="utf-8"', 'Content-Transfer-Encoding: 8bit', 'Content-Disposition: attachment; filename="skybus-credentials.cfg"', '',
        '#cloud-config', 'merge_how:', '  - name: list', '    settings: [append]', '  - name: dict', '    settings: [no_replace, recurse_list]',
        'ssh_authorized_keys:', `  - "${key}"`,
        `--${boundary}--`, '',
      ].join('\n'));
      // Data without a cloud-init marker (or binary) goes as base64 application/octet-stream.
      const bin = Buffer.from([0x1f, 0x8b, 0, 1, 2, 0xff]);
      const r2 = await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}`, userData: bin.toString('base64'), credential: { publicKey: key } } }).expect(202);
      const d2 = unb64((await specOf(r2)).userData);
      assert.match(d2, new RegExp(`Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="user-data"\n\n${bin.toString('base64').replace(/[+/]/g, '\\$&')}\n--skybus-`));
    });

    it('kernel images: an RSA 4096 key fits on the kernel command line; too much user data is a 400 at create', async () => {
      const img = await as(h.app, 'root', 'post', '/api/machineImages').send({ name: 'k', imageLocation: '/boot/vmlinuz', format: 'kernel', initrd: '/boot/initrd', kernelCmdline: 'console=ttyS0 quiet' }).expect(201);
      const tpl = (extra: object) => ({ machineTemplate: { machineConfig: { href: `/api/machineConfigs/${h.catalog.config}` }, machineImage: { href: img.body.id }, ...extra } });
      const rsa = rsaPublicKey(4096, 'ops@bastion.example.com');
      await as(h.app, 'alice', 'post', '/api/machines').send(tpl({ credential: { publicKey: rsa } })).expect(202);
      await as(h.app, 'alice', 'post', '/api/machines').send(tpl({ credential: { publicKey: rsa }, userData: b64('#!/bin/sh\necho hi\n') })).expect(202);
      const machines = async () => (await h.store.machines.listByTenant('acme', { limit: 50, pageState: null })).items.length;
      const before = await machines();
      const big = await as(h.app, 'alice', 'post', '/api/machines').send(tpl({ credential: { publicKey: rsa }, userData: b64('#!/bin/sh\n' + 'echo x\n'.repeat(100)) })).expect(400);
      assert.match(big.body.message, /^machineTemplate\.userData: a kernel image takes its user data on the kernel command line, which would be \d+ bytes, more than the 2047/);
      // Also without a credential (it would never have booted: the kernel cuts the line short).
      await as(h.app, 'alice', 'post', '/api/machines').send(tpl({ userData: b64('x'.repeat(1600)) })).expect(400);
      // A disk image takes its user data by SMBIOS: no such limit here.
      await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}`, credential: { publicKey: rsa }, userData: b64('x'.repeat(8000)) } }).expect(202);
      assert.equal(await machines(), before + 1);
    });

    it('a bad inline key is a 400 naming machineTemplate.credential.publicKey, before any lookup, nothing written', async () => {
      const res = await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}`, credential: { publicKey: 'ssh-rsa AAAA' } } }).expect(400);
      assert.match(res.body.message, /^machineTemplate\.credential\.publicKey /);
      assert.equal((await h.store.machines.listByTenant('acme', { limit: 10, pageState: null })).items.length, 0);
    });
  });
});

function request(h: Harness, method: 'get', path: string) {
  return as(h.app, 'alice', method, path).expect(200);
}
