/**
 * Issue 9: the operations a Machine advertises are exactly the ones the API accepts. For every state
 * a machine can be seen in (each desired state × unplaced, placed and converging, converged, failed,
 * converged to another state than desired), every advertised operation is followed as a client
 * would (POST an Action to its href, DELETE or PUT the resource) and must be accepted, and every
 * other action (Skybus's and DSP0263's) and method must be refused.
 */
import assert from 'node:assert/strict';
import type request from 'supertest';
import { MACHINE_ACTIONS } from '../../../frontend/machine-view.js';
import type { DesiredState, MachineState } from '../../../schema/types.js';
import { as, harness, idOf, type Harness } from './harness.js';
import { ed25519PublicKey } from '../../helpers/ssh-keys.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';
const ALL_ACTIONS = ['start', 'stop', 'restart', 'pause', 'suspend', 'capture', 'snapshot', 'restore', 'export', 'import'];
type Situation = 'unplaced' | 'converging' | 'converged' | 'failed' | 'elsewhere';
const DESIRED: DesiredState[] = ['STARTED', 'STOPPED', 'PAUSED', 'SUSPENDED', 'DELETED'];
const SITUATIONS: Situation[] = ['unplaced', 'converging', 'converged', 'failed', 'elsewhere'];
/** What the agent reports for a converged machine of a desired state (DELETED: it is still being torn down). */
const REACHED: Record<DesiredState, MachineState> = { STARTED: 'STARTED', STOPPED: 'STOPPED', PAUSED: 'PAUSED', SUSPENDED: 'SUSPENDED', DELETED: 'STOPPED' };

function path(url: string): string { return new URL(url).pathname; }

describe('CIMI operations: advertised exactly when accepted, in every state', function () {
  this.timeout(300_000);
  let h: Harness;
  before(async () => { h = await harness(); });
  after(async () => { await h.cleanup(); });

  /** A machine of alice's in the given desired state and situation. */
  async function machineIn(desired: DesiredState, situation: Situation): Promise<string> {
    const created = await as(h.app, 'alice', 'post', '/api/machines').send({ machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    const id = idOf(created.headers.location);
    let m = (await h.store.machines.get(id))!;
    if (desired !== 'STARTED') {
      // The route to the desired state as a client would take it, straight on the spec.
      m = await h.store.machines.updateSpec(id, m.generation, { desiredState: desired });
    }
    if (situation === 'unplaced') return id;
    await h.store.machines.assignHost(id, 'h1');
    const reported = situation === 'elsewhere' ? (REACHED[desired] === 'STARTED' ? 'STOPPED' : 'STARTED') : REACHED[desired];
    if (situation === 'converging') {
      await h.store.machines.setStatus(id, { state: 'STARTED', observedGeneration: m.generation - 1, observedRestartSeq: 0, converged: false, error: null, hostId: 'h1', updatedAt: Date.now() });
    } else {
      await h.store.machines.setStatus(id, { state: reported, observedGeneration: m.generation, observedRestartSeq: 0, converged: true, error: situation === 'failed' ? 'qemu exited' : null, hostId: 'h1', updatedAt: Date.now() });
    }
    return id;
  }

  function follow(rel: string, href: string, machine?: string): request.Test {
    // CIMI capture: POST a MachineImage naming the machine to the machineImages collection (the op's href).
    if (rel === `${CIMI}/action/capture` && machine) return as(h.app, 'alice', 'post', path(href)).set('Content-Type', 'application/json').send({ resourceURI: `${CIMI}/MachineImage`, name: 'captured', imageLocation: { href: `/api/machines/${machine}` } });
    if (rel === 'delete') return as(h.app, 'alice', 'delete', path(href));
    if (rel === 'edit') return as(h.app, 'alice', 'put', path(href)).set('Content-Type', 'application/json').send({ name: 'edited' });
    return as(h.app, 'alice', 'post', path(href)).set('Content-Type', 'application/json').send({ resourceURI: `${CIMI}/Action`, action: rel });
  }

  it('every advertised operation is accepted, every other one refused (JSON and XML advertise the same)', async () => {
    let accepted = 0;
    let refused = 0;
    const shownStates = new Set<string>();
    for (const desired of DESIRED) {
      for (const situation of SITUATIONS) {
        const probe = await machineIn(desired, situation);
        const view = (await as(h.app, 'alice', 'get', `/api/machines/${probe}`).expect(200)).body;
        const where = `${desired}/${situation} (shown ${view.state})`;
        shownStates.add(view.state);
        const ops: { rel: string; href: string }[] = view.operations;
        const xml = await as(h.app, 'alice', 'get', `/api/machines/${probe}`).set('Accept', 'application/xml').expect(200);
        const xmlRels = [...xml.text.matchAll(/<operation rel="([^"]+)"/g)].map((x) => x[1]);
        assert.deepEqual(xmlRels, ops.map((o) => o.rel), `${where}: XML operations`);
        // Advertised: accepted, each on a fresh machine in the same state.
        for (const op of ops) {
          const id = await machineIn(desired, situation);
          const href = op.href.replace(probe, id);
          const res = await follow(op.rel, href, id);
          assert.ok(res.status === 200 || res.status === 202, `${where}: advertised ${op.rel} → ${res.status} ${res.text}`);
          accepted++;
        }
        // Not advertised: refused (and nothing changes).
        const advertised = new Set(ops.map((o) => (o.rel.startsWith(`${CIMI}/action/`) ? o.rel.slice(`${CIMI}/action/`.length) : o.rel)));
        for (const action of [...ALL_ACTIONS, 'delete', 'edit']) {
          if (advertised.has(action)) continue;
          const id = await machineIn(desired, situation);
          const before = (await h.store.machines.get(id))!;
          const url = `http://x/api/machines/${id}`;
          const res = action === 'delete' || action === 'edit' ? await follow(action, url) : await follow(`${CIMI}/action/${action}`, `${url}/${action}`);
          assert.ok(res.status >= 400 && res.status < 500, `${where}: ${action} is not advertised but got ${res.status}`);
          if ((MACHINE_ACTIONS as readonly string[]).includes(action) || action === 'delete' || action === 'edit') assert.equal(res.status, 409, `${where}: ${action}: ${res.text}`);
          assert.equal((await h.store.machines.get(id))!.generation, before.generation, `${where}: a refused ${action} changed the machine`);
          refused++;
        }
      }
    }
    // Every state a client can see was covered.
    for (const s of ['CREATING', 'STARTING', 'STARTED', 'STOPPING', 'STOPPED', 'PAUSED', 'SUSPENDED', 'DELETING', 'ERROR']) assert.ok(shownStates.has(s), `never saw ${s}`);
    assert.ok(accepted > 50 && refused > 50, `${accepted} accepted, ${refused} refused`);
  });

  it('the body form (POST an Action to the machine itself) agrees with the advertised operations', async () => {
    const id = await machineIn('STOPPED', 'converged');
    const view = (await as(h.app, 'alice', 'get', `/api/machines/${id}`).expect(200)).body;
    assert.deepEqual(view.operations.map((o: { rel: string }) => o.rel.split('/').pop()), ['start', 'capture', 'delete', 'edit']);
    await as(h.app, 'alice', 'post', `/api/machines/${id}`).set('Content-Type', 'application/json').send({ resourceURI: `${CIMI}/Action`, action: `${CIMI}/action/stop` }).expect(409);
    await as(h.app, 'alice', 'post', `/api/machines/${id}`).set('Content-Type', 'application/json').send({ resourceURI: `${CIMI}/Action`, action: `${CIMI}/action/start` }).expect(202);
  });

  it('catalog items and credentials advertise delete exactly when a DELETE would succeed (not while a template names them)', async () => {
    const rels = async (p: string) => (await as(h.app, 'root', 'get', p).expect(200)).body.operations.map((o: { rel: string }) => o.rel);
    // The harness's configuration and image are named by its template: delete would be a 409.
    for (const p of [`/api/machineConfigs/${h.catalog.config}`, `/api/machineImages/${h.catalog.image}`]) {
      assert.deepEqual(await rels(p), [], p);
      await as(h.app, 'root', 'delete', p).expect(409);
    }
    const list = (await as(h.app, 'root', 'get', '/api/machineConfigs').expect(200)).body;
    assert.deepEqual(list.machineConfigurations.find((c: { id: string }) => c.id.endsWith(h.catalog.config)).operations, []);
    const spare = await as(h.app, 'root', 'post', '/api/machineConfigs').send({ name: 'spare', cpu: 1, memory: 1048576 }).expect(201);
    assert.deepEqual(await rels(path(spare.body.id)), ['delete']);
    await as(h.app, 'root', 'delete', path(spare.body.id)).expect(200);
    // A credential a template names
    const cred = await as(h.app, 'root', 'post', '/api/credentials').send({ name: 'k', credentialTemplate: { publicKey: ed25519PublicKey() } }).expect(201);
    assert.deepEqual(await rels(path(cred.body.id)), ['delete']);
    const tpl = await as(h.app, 'root', 'post', '/api/machineTemplates').send({ name: 't', machineConfig: { href: `/api/machineConfigs/${h.catalog.config}` }, machineImage: { href: `/api/machineImages/${h.catalog.image}` }, credential: { href: cred.body.id } }).expect(201);
    assert.deepEqual(await rels(path(cred.body.id)), []);
    assert.deepEqual((await as(h.app, 'root', 'get', '/api/credentials').expect(200)).body.credentials[0].operations, []);
    await as(h.app, 'root', 'delete', path(cred.body.id)).expect(409);
    assert.deepEqual(await rels(path(tpl.body.id)), ['delete']);
    await as(h.app, 'root', 'delete', path(tpl.body.id)).expect(200);
    assert.deepEqual(await rels(path(cred.body.id)), ['delete']);
    await as(h.app, 'root', 'delete', path(cred.body.id)).expect(200);
  });
});
