import assert from 'node:assert/strict';
import { settle } from '../../../frontend/job-settlement.js';
import { displayState, machineView } from '../../../frontend/machine-view.js';
import type { Principal } from '../../../frontend/auth/authenticator.js';
import { placementConfig } from '../../../placement/config.js';
import { Placer } from '../../../placement/placer.js';
import { unplacedDeadline } from '../../../placement/unplaced-deadline.js';
import { silentLogger } from '../../../observability/logger.js';
import { SkybusMetrics } from '../../../observability/metrics.js';
import { dayOf } from '../../../schema/store/telemetry.js';
import type { Job, Machine } from '../../../schema/types.js';
import { as, harness, idOf, spec, type Harness } from '../frontend/harness.js';

function machine(over: Partial<Machine> = {}): Machine {
  return {
    id: 'm1', tenant: 'acme', name: 'm', description: '', properties: {}, spec: spec(), desiredState: 'STARTED', restartSeq: 0, generation: 1,
    created: 1000, updated: 1000, hostId: null, placement: null,
    status: { state: 'CREATING', observedGeneration: 0, observedRestartSeq: 0, converged: false, error: null, hostId: null, updatedAt: 1000 },
    ...over,
  } as Machine;
}

const job = (over: Partial<Job> = {}): Job => ({
  id: 'j1', tenant: 'acme', targetId: 'm1', targetType: 'Machine', action: 'create', state: 'QUEUED', progress: 0, statusMessage: '', returnCode: 0,
  targetGeneration: 1, expectedState: 'STARTED', created: 1000, updated: 1000, ...over,
});

describe('placement deadline (pure)', () => {
  it('the clock starts at creation, or now for a machine placed before; the reason is the tenant summary', () => {
    assert.deepEqual(unplacedDeadline(machine(), 'waiting for capacity', 60_999, 60_000), { waitingSince: 1000, error: null });
    assert.deepEqual(unplacedDeadline(machine(), 'waiting for capacity', 61_000, 60_000), { waitingSince: 1000, error: 'not placed within 60 s: waiting for capacity' });
    const placedBefore = machine({ placement: { attempts: 1, reason: null, summary: null, lastAttemptAt: 2000 } });
    assert.deepEqual(unplacedDeadline(placedBefore, 's', 500_000, 60_000), { waitingSince: 500_000, error: null });
    const waiting = machine({ placement: { attempts: 3, reason: '0 of 2 hosts: 2 not alive', summary: 's', lastAttemptAt: 2000, waitingSince: 400_000 } });
    assert.equal(unplacedDeadline(waiting, 's', 460_000, 60_000).error, 'not placed within 60 s: s');
  });

  it("displayState and settle: past placement's deadline ERROR and FAILED with its reason; a delete is still DELETING and its Job waits for placement's purge", () => {
    const late = machine({ placement: { attempts: 3, reason: '0 of 5 hosts: 5 without 2 free CPUs', summary: 'no capacity', lastAttemptAt: 9, deadlineError: 'not placed within 600 s: no capacity' } });
    assert.equal(displayState(late), 'ERROR');
    assert.deepEqual(settle(job(), late), { state: 'FAILED', statusMessage: 'not placed within 600 s: no capacity', progress: 100, returnCode: 1 });
    assert.equal(displayState(machine({ placement: { attempts: 1, reason: 'r', summary: 's', lastAttemptAt: 9, deadlineError: null } })), 'CREATING');
    assert.equal(settle(job(), machine()).state, 'QUEUED');
    const deleting = { ...late, desiredState: 'DELETED' as const, generation: 2 };
    assert.equal(displayState(deleting), 'DELETING');
    assert.equal(settle(job({ action: 'delete', expectedState: 'DELETED', targetGeneration: 2 }), deleting).state, 'QUEUED');
    // An agent's deadline reason at the machine's generation is ERROR and fails the Job the same way.
    const onHost = machine({ hostId: 'h1', status: { state: 'STOPPED', observedGeneration: 1, observedRestartSeq: 0, converged: false, error: 'STARTING did not finish within 300 s on host h1: the domain is still shutoff after start', hostId: 'h1', updatedAt: 5 } });
    assert.equal(displayState(onHost), 'ERROR');
    assert.equal(settle(job(), onHost).state, 'FAILED');
    assert.match(settle(job(), onHost).statusMessage, /^STARTING did not finish within 300 s on host h1/);
  });

  it('the tenant sees the summary only; an operator also sees the fleet\'s reason', () => {
    const late = machine({ placement: { attempts: 3, reason: '0 of 5 hosts: 5 without 2 free CPUs', summary: 'no capacity', lastAttemptAt: 9, deadlineError: 'not placed within 600 s: no capacity' } });
    const tenant = machineView(late, 'http://x/api', { user: 'alice', tenant: 'acme', roles: ['user'] } as unknown as Principal);
    assert.equal(tenant.state, 'ERROR');
    assert.equal(tenant.error, 'not placed within 600 s: no capacity');
    assert.equal(tenant.statusMessage, 'not placed within 600 s: no capacity');
    assert.doesNotMatch(JSON.stringify(tenant), /hosts|free CPUs/);
    const admin = machineView(late, 'http://x/api', { user: 'root', tenant: 'ops', roles: ['admin', 'user'] } as unknown as Principal);
    assert.equal(admin.placementReason, '0 of 5 hosts: 5 without 2 free CPUs');
  });
});

describe('placement deadline: a machine that fits nowhere', function () {
  this.timeout(20_000);
  let h: Harness;
  beforeEach(async () => { h = await harness(); });
  afterEach(async () => { await h.cleanup(); });

  it('past the deadline: ERROR, Job FAILED, one event, all in the tenant\'s terms; adding a host places it and clears the error', async () => {
    const res = await as(h.app, 'alice', 'post', '/api/machines').send({ name: 'big', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    const id = idOf(res.headers.location);
    const path = new URL(res.headers.location).pathname;
    const jobPath = new URL(res.headers['cimi-job-uri']).pathname;
    const placer = new Placer({ store: h.store, config: placementConfig({ instanceId: 'p1', unplacedDeadlineMs: 5000 }), log: silentLogger(), metrics: new SkybusMetrics() });
    const t0 = Date.now();

    await placer.runOnce(t0);
    assert.equal((await as(h.app, 'alice', 'get', path).expect(200)).body.state, 'CREATING', 'within the deadline');
    assert.equal((await as(h.app, 'alice', 'get', jobPath).expect(200)).body.state, 'QUEUED');

    await placer.runOnce(t0 + 6000);
    const m = (await as(h.app, 'alice', 'get', path).expect(200)).body;
    assert.equal(m.state, 'ERROR');
    assert.equal(m.statusMessage, 'not placed within 5 s: no host is available right now');
    const j = (await as(h.app, 'alice', 'get', jobPath).expect(200)).body;
    assert.equal(j.state, 'FAILED');
    assert.equal(j.statusMessage, 'not placed within 5 s: no host is available right now');
    await placer.runOnce(t0 + 20_000); // still nowhere: no second event
    const events = async () => (await h.store.telemetry.events('acme', dayOf(Date.now()), { limit: 500, pageState: null })).items.filter((e) => e.resource === id && e.content.deadline === 'CREATING');
    const ev = await events();
    assert.equal(ev.length, 1, JSON.stringify(ev));
    assert.equal(ev[0].content.error, 'not placed within 5 s: no host is available right now');
    assert.doesNotMatch(JSON.stringify(ev[0]), /0 of|hosts/);

    // A host appears (registered, with a live lease): placement keeps trying, places it, the error goes.
    await h.store.hosts.register({ id: 'h1', name: 'h1', uri: 'test:///default', arch: 'x86_64', cpus: 8, memoryKiB: 16 * 1024 * 1024, labels: {} });
    assert.ok(await h.store.hosts.acquireLease('h1', 'agent-h1', 60));
    await placer.runOnce(t0 + 200_000);
    const placed = (await h.store.machines.get(id))!;
    assert.equal(placed.hostId, 'h1');
    assert.equal(placed.placement?.deadlineError ?? null, null);
    const after = (await as(h.app, 'alice', 'get', path).expect(200)).body;
    assert.equal(after.state, 'STARTING');
    assert.equal(after.error, undefined);
    assert.equal((await as(h.app, 'alice', 'get', jobPath).expect(200)).body.state, 'FAILED', 'a failed Job stays failed');
  });
});
