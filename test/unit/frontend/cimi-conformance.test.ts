/**
 * Issue 9: a CIMI client written from DSP0263 works unchanged. Walks the CloudEntryPoint and every
 * collection and member reachable from it (following ids, hrefs and non-action operations), as a
 * tenant and as an admin, in JSON and in XML, through the spec-derived checker
 * (test/helpers/cimi-conformance.ts): every link resolves for the same user, names and namespaces
 * are the standard's, and every attribute Skybus adds is declared in the type's ResourceMetadata.
 * A resource type linked later (volumes, networks, ...) is walked and checked with no change here.
 */
import assert from 'node:assert/strict';
import { as, harness, idOf, type Harness } from './harness.js';
import {
  checkJson, checkXml, COMMON_ATTRIBUTES, ENTRY_POINT_LINKS, SKYBUS_COLLECTIONS, SKYBUS_ENTRY_POINT_LINKS, SKYBUS_TYPES, SPEC_ATTRIBUTES, SPEC_COLLECTIONS,
} from '../../helpers/cimi-conformance.js';
import { ed25519PublicKey } from '../../helpers/ssh-keys.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';
const MAX_URLS = 400;

function pathOf(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}

interface Walk { visited: Map<string, string>; problems: string[]; resources: { type: string; attributes: string[]; body?: Record<string, unknown>; at: string }[] }

/** Breadth-first over every link, GETting each as `user` in JSON and in XML. */
async function walk(h: Harness, user: string, start: string[]): Promise<Walk> {
  const visited = new Map<string, string>();
  const problems: string[] = [];
  const resources: Walk['resources'] = [];
  const queue = [...start];
  while (queue.length > 0) {
    const path = queue.shift()!;
    if (visited.has(path)) continue;
    assert.ok(visited.size < MAX_URLS, `more than ${MAX_URLS} URLs reachable: the walk is not converging`);
    const json = await as(h.app, user, 'get', path).set('Accept', 'application/json');
    if (json.status !== 200) { problems.push(`GET ${path} as ${user}: ${json.status} ${json.text.slice(0, 200)}`); visited.set(path, 'unresolvable'); continue; }
    const jr = checkJson(json.body, path);
    visited.set(path, jr.type ?? '?');
    problems.push(...jr.problems.map((p) => `JSON ${path}: ${p}`));
    resources.push(...jr.resources.map((r) => ({ ...r, at: path })));
    const xml = await as(h.app, user, 'get', path).set('Accept', 'application/xml');
    if (xml.status !== 200) problems.push(`GET ${path} as ${user} (XML): ${xml.status}`);
    else {
      const xr = checkXml(xml.text);
      problems.push(...xr.problems.map((p) => `XML ${path}: ${p}`));
      const want = jr.type;
      if (xr.type !== want) problems.push(`XML ${path}: type ${String(xr.type)}, JSON says ${String(want)}`);
      // (each supertest request has its own port: compare paths)
      const jsonLinks = new Set(jr.links.map(pathOf));
      for (const l of xr.links) if (!jsonLinks.has(pathOf(l))) problems.push(`XML ${path}: links ${l}, which JSON does not`);
    }
    for (const l of jr.links) {
      const p = pathOf(l);
      if (!visited.has(p)) queue.push(p);
    }
  }
  return { visited, problems, resources };
}

/** Every attribute a representation carries beyond DSP0263's must be declared in its type's ResourceMetadata, with its required flag honoured. */
async function checkExtensions(h: Harness, user: string, w: Walk): Promise<string[]> {
  const problems: string[] = [];
  const meta = new Map<string, { name: string; required: boolean }[]>();
  for (const r of w.resources) {
    if (r.type === 'CloudEntryPoint' || r.type === 'ResourceMetadata') continue;
    if (!meta.has(r.type)) {
      const res = await as(h.app, user, 'get', `/api/resourceMetadata/${r.type}`);
      if (res.status !== 200) { problems.push(`${r.type}: no ResourceMetadata (${res.status})`); meta.set(r.type, []); continue; }
      meta.set(r.type, res.body.attributes);
    }
    const declared = meta.get(r.type)!;
    const skybus = SKYBUS_TYPES.has(r.type);
    const spec = SPEC_ATTRIBUTES[r.type];
    if (!skybus && !spec) { problems.push(`${r.type}: add its DSP0263 attributes to SPEC_ATTRIBUTES (test/helpers/cimi-conformance.ts)`); continue; }
    const standard = new Set<string>([...COMMON_ATTRIBUTES, ...(spec ?? [])]);
    for (const a of r.attributes) {
      if (!standard.has(a) && !declared.some((d) => d.name === a)) problems.push(`${r.at}: ${r.type}.${a} is an extension attribute its ResourceMetadata does not declare`);
    }
    for (const d of declared) if (d.required && !r.attributes.includes(d.name)) problems.push(`${r.at}: ${r.type}.${d.name} is declared required but absent`);
  }
  return [...new Set(problems.map((p) => p.replace(/^[^:]*: /, '')))];
}

describe('CIMI conformance: a spec-following client walks everything reachable from the CloudEntryPoint', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => {
    h = await harness();
    // A host the machines run on, up (its agent's lease and heartbeat), for /api/hosts and the machines' hostHealth.
    await h.store.hosts.register({ id: 'h1', name: 'h1', uri: 'test:///default', arch: 'x86_64', cpus: 8, memoryKiB: 8 * 1048576, labels: { zone: 'a' } });
    await h.store.hosts.acquireLease('h1', 'agent-h1', 600);
    await h.store.hosts.heartbeat({ hostId: 'h1', holder: 'agent-h1', renewed: Date.now(), fenceAfterMs: 30_000, fencedAt: null });
    // Something of every kind for both users: machines in several states (one with a disk, placed and running), credentials, keys, jobs, events.
    for (const user of ['alice', 'root']) {
      const started = await as(h.app, user, 'post', '/api/machines').send({ name: `${user}-web`, machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
      const id = idOf(started.headers.location);
      await h.store.machines.assignHost(id, 'h1');
      await h.store.machines.setStatus(id, { state: 'STARTED', observedGeneration: 1, observedRestartSeq: 0, converged: true, error: null, hostId: 'h1', updatedAt: Date.now() });
      await as(h.app, user, 'post', '/api/machines').send({ name: `${user}-idle`, machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}`, initialState: 'STOPPED' } }).expect(202);
      await as(h.app, user, 'post', '/api/credentials').send({ name: `${user}-key`, credentialTemplate: { publicKey: ed25519PublicKey() } }).expect(201);
      await as(h.app, user, 'post', '/api/apiKeys').send({ name: `${user}-api` }).expect(201);
    }
  });
  after(async () => { await h.cleanup(); });

  for (const [user, extra] of [['alice', ['/api/quota']], ['root', ['/api/quota', '/api/quotas', '/api/auditEvents', '/api/hosts']]] as const) {
    it(`as ${user}: every representation conforms, every link resolves, every extension attribute is declared`, async () => {
      const w = await walk(h, user, ['/api/cloudEntryPoint', ...extra]);
      assert.deepEqual(w.problems, []);
      assert.ok(w.visited.size >= 40, `only ${w.visited.size} URLs reached`);
      const types = new Set(w.visited.values());
      for (const t of ['CloudEntryPoint', 'ResourceMetadataCollection', 'ResourceMetadata', 'MachineCollection', 'Machine', 'MachineDiskCollection', 'MachineDisk',
        'MachineVolumeCollection', 'MachineNetworkInterfaceCollection', 'MachineConfigurationCollection', 'MachineConfiguration', 'MachineImage', 'MachineTemplate',
        'CredentialCollection', 'Credential', 'JobCollection', 'Job', 'EventLog', 'EventCollection', 'ApiKeyCollection', 'ApiKey', 'Quota', ...(user === 'root' ? ['HostCollection', 'Host'] : [])]) {
        assert.ok(types.has(t), `the walk never reached a ${t} (reached: ${[...types].sort().join(', ')})`);
      }
      assert.deepEqual(await checkExtensions(h, user, w), []);
    });
  }

  it('the entry point links only collections that are served (of the type the link promises); the optional ones it does not link are clean 404s', async () => {
    const cep = (await as(h.app, 'alice', 'get', '/api/cloudEntryPoint').expect(200)).body;
    const links = { ...ENTRY_POINT_LINKS, ...SKYBUS_ENTRY_POINT_LINKS };
    for (const [attr, collType] of Object.entries(links)) {
      if (cep[attr] !== undefined) {
        const res = await as(h.app, 'alice', 'get', pathOf(cep[attr].href)).expect(200);
        assert.equal(res.body.resourceURI.split('/').pop(), collType, attr);
        const spec = SPEC_COLLECTIONS[collType] ?? SKYBUS_COLLECTIONS[collType];
        assert.ok(Array.isArray(res.body[spec.members]) || res.body.count === 0, `${attr}: members under '${spec.members}'`);
      } else {
        for (const accept of ['application/json', 'application/xml']) {
          const res = await as(h.app, 'alice', 'get', `/api/${attr}`).set('Accept', accept).expect(404);
          if (accept === 'application/json') { assert.equal(res.body.resourceURI, `${CIMI}/Error`); assert.equal(res.body.status, 404); }
          else assert.match(res.text, new RegExp(`<Error xmlns="${CIMI}">[\\s\\S]*<status>404</status>`));
        }
      }
    }
    assert.ok(cep.resourceMetadata?.href, 'resourceMetadata is linked');
  });

  it('the checker itself catches what a client would trip over', () => {
    const base = 'http://x/api';
    assert.deepEqual(checkJson({ resourceURI: `${CIMI}/MachineConfigurationCollection`, id: `${base}/machineConfigs`, count: 0, machineConfigurations: [] }).problems, []);
    assert.match(checkJson({ resourceURI: `${CIMI}/MachineConfigurationCollection`, id: `${base}/machineConfigs`, count: 0, machineConfigs: [] }).problems.join(), /named 'machineConfigurations', not 'machineConfigs'/);
    assert.match(checkJson({ resourceURI: `${CIMI}/Machine`, id: `${base}/machines/1`, operations: [{ rel: 'http://schemas.dmtf.org/cimi/1/action/explode', href: `${base}/machines/1/explode` }] }).problems.join(), /rel .* is neither/);
    assert.match(checkJson({ resourceURI: `${CIMI}/ApiKey`, id: `${base}/apiKeys/1` }).problems.join(), /not a DSP0263 type/);
    assert.match(checkJson({ resourceURI: `${CIMI}/Machine`, id: '/api/machines/1' }).problems.join(), /not an absolute URL/);
    assert.match(checkXml(`<MachineCollection xmlns="${CIMI}"><id>${base}/machines</id><count>0</count></MachineCollection>`).problems.join(), /<Collection resourceURI=/);
    assert.match(checkXml(`<Machine xmlns="${CIMI}"><resourceURI>${CIMI}/Machine</resourceURI><id>${base}/machines/1</id></Machine>`).problems.join(), /<resourceURI> child/);
    assert.match(checkXml(`<Collection resourceURI="${CIMI}/MachineCollection" xmlns="${CIMI}"><id>${base}/machines</id><count>1</count><machine><id>${base}/machines/1</id></machine></Collection>`).problems.join(), /unexpected element <machine>/);
    assert.match(checkXml(`<Machine><id>${base}/machines/1</id></Machine>`).problems.join(), /must be in http:\/\/schemas.dmtf.org\/cimi\/1/);
    const links = checkJson({ resourceURI: `${CIMI}/Machine`, id: `${base}/machines/1`, disks: { href: `${base}/machines/1/disks` }, operations: [{ rel: `${CIMI}/action/stop`, href: `${base}/machines/1/stop` }, { rel: 'edit', href: `${base}/machines/1` }] }).links;
    assert.deepEqual(links.sort(), [`${base}/machines/1`, `${base}/machines/1`, `${base}/machines/1/disks`].sort());
  });
});
