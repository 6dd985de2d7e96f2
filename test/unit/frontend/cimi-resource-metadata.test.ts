/**
 * Issue 9: DSP0263 ResourceMetadata, discovered from the CloudEntryPoint: one entry per type Skybus
 * serves, with the extension attributes, capabilities and actions the code actually has.
 */
import assert from 'node:assert/strict';
import { INITIAL_STATES } from '../../../frontend/catalog-bodies.js';
import { MACHINE_ACTIONS } from '../../../frontend/machine-view.js';
import { as, harness, type Harness } from './harness.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';
const pathOf = (u: string) => new URL(u).pathname;
/** Each supertest request listens on its own port, and links carry it: compare without the origin. */
const portless = (v: unknown) => JSON.parse(JSON.stringify(v).replace(/http:\/\/127\.0\.0\.1:\d+/g, 'http://host'));

describe('CIMI ResourceMetadata', function () {
  this.timeout(20_000);
  let h: Harness;
  before(async () => { h = await harness(); });
  after(async () => { await h.cleanup(); });

  async function metadata(user: string): Promise<Record<string, Record<string, unknown>>> {
    const cep = (await as(h.app, user, 'get', '/api/cloudEntryPoint').expect(200)).body;
    const coll = (await as(h.app, user, 'get', pathOf(cep.resourceMetadata.href)).expect(200)).body;
    assert.equal(coll.resourceURI, `${CIMI}/ResourceMetadataCollection`);
    assert.equal(coll.count, coll.resourceMetadata.length);
    return Object.fromEntries(coll.resourceMetadata.map((m: Record<string, unknown>) => [m.name, m]));
  }

  it('one entry per served type, each readable at its id', async () => {
    const all = await metadata('alice');
    for (const t of ['Machine', 'MachineDisk', 'MachineVolume', 'MachineNetworkInterface', 'MachineConfiguration', 'MachineImage', 'MachineTemplate', 'Credential', 'Job', 'Event', 'EventLog', 'ApiKey']) {
      assert.ok(all[t], t);
      assert.deepEqual(portless((await as(h.app, 'alice', 'get', pathOf(all[t].id as string)).expect(200)).body), portless(all[t]));
    }
    assert.equal(all.Machine.typeUri, `${CIMI}/Machine`);
    assert.equal(all.ApiKey.typeUri, 'urn:skybus:cimi-extensions:1/ApiKey');
    await as(h.app, 'alice', 'get', '/api/resourceMetadata/System').expect(404);
    await as(h.app, 'alice', 'get', '/api/resourceMetadata').query({ $filter: "name='Machine'" }).expect(200).then((r) => assert.equal(r.body.count, 1));
    const xml = await as(h.app, 'alice', 'get', '/api/resourceMetadata/Machine').set('Accept', 'application/xml').expect(200);
    assert.match(xml.text, /^<\?xml[^>]*>\s*<ResourceMetadata xmlns="http:\/\/schemas.dmtf.org\/cimi\/1">/);
  });

  it('Machine: extension attributes with type and required, initial-state capabilities, the actions MACHINE_ACTIONS has', async () => {
    const m = (await metadata('alice')).Machine;
    const attrs = m.attributes as { name: string; namespace: string; type: string; required: boolean }[];
    const byName = Object.fromEntries(attrs.map((a) => [a.name, a]));
    assert.deepEqual(byName.desiredState, { name: 'desiredState', namespace: 'urn:skybus:cimi-extensions:1', type: 'string', required: true });
    for (const n of ['generation', 'observedGeneration']) assert.equal(byName[n].type, 'integer');
    assert.equal(byName.requirements.type, 'map');
    assert.equal(byName.placementReason.required, false);
    assert.equal(byName.hostId, undefined, 'hostId is shown to admins only, so only they see it declared');
    // What the CIMI test plans check of a capability: name, uri (unique), description, value.
    for (const c of m.capabilities as Record<string, unknown>[]) for (const k of ['name', 'uri', 'description', 'value']) assert.equal(typeof c[k], 'string', `${String(c.name)}.${k}`);
    const caps = Object.fromEntries((m.capabilities as { uri: string; value: string }[]).map((c) => [c.uri, c.value]));
    assert.equal(caps[`${CIMI}/capability/Machine/DefaultInitialState`], 'STARTED');
    assert.equal(caps[`${CIMI}/capability/Machine/InitialStates`], INITIAL_STATES.join(','));
    assert.equal(caps[`${CIMI}/capability/Machine/InitialStates`], 'STARTED,STOPPED');
    assert.deepEqual((m.actions as { uri: string }[]).map((a) => a.uri), MACHINE_ACTIONS.map((a) => `${CIMI}/action/${a}`));
    const root = (await metadata('root')).Machine;
    assert.ok((root.attributes as { name: string }[]).some((a) => a.name === 'hostId'));
  });

  it('Job: the stop action; types without actions list none', async () => {
    const all = await metadata('alice');
    assert.deepEqual((all.Job.actions as { uri: string }[]).map((a) => a.uri), [`${CIMI}/action/stop`]);
    assert.deepEqual(all.Credential.actions, []);
  });

  it('optional collections Skybus does not serve are 404 CIMI errors, never linked', async () => {
    const cep = (await as(h.app, 'alice', 'get', '/api/cloudEntryPoint').expect(200)).body;
    for (const c of ['systems', 'systemTemplates', 'meters', 'eventLogs', 'volumes', 'networks', 'addresses', 'forwardingGroups', 'credentialTemplates']) {
      if (cep[c]) continue; // served by then (a later feature): the conformance walk checks it
      const res = await as(h.app, 'alice', 'get', `/api/${c}`).expect(404);
      assert.equal(res.body.resourceURI, `${CIMI}/Error`);
      assert.equal(res.body.status, 404);
    }
  });
});
