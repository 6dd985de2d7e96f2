import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settleJob } from '../../../frontend/job-settlement.js';
import { displayState } from '../../../frontend/machine-view.js';
import { HypervisorAgent } from '../../../hypervisor-agent/agent.js';
import { agentConfig, type AgentConfigInput } from '../../../hypervisor-agent/config.js';
import { LibvirtHost } from '../../../hypervisor-agent/libvirt-host.js';
import { writeTestHost } from '../../../hypervisor-agent/test-host.js';
import { openStore, type BusStore } from '../../../schema/bus-store.js';
import { dayOf } from '../../../schema/store/telemetry.js';
import type { DesiredState, EventRecord, Job, Machine, MachineSpec } from '../../../schema/types.js';

const GiB = 1024 * 1024;
const spec = (): MachineSpec => ({ cpu: 1, memoryKiB: 256 * 1024, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} });

/**
 * A host whose chosen calls ('start <uuid>', 'suspend <uuid>') hang: they never return until the
 * test releases them (resolving: the call is then made; rejecting: it never was). Every call counted.
 */
class HangingHost extends LibvirtHost {
  readonly hang = new Set<string>();
  readonly calls: string[] = [];
  private readonly held: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private maybeHang(what: string, real: () => Promise<void>): Promise<void> {
    this.calls.push(what);
    if (!this.hang.has(what)) return real();
    return new Promise<void>((resolve, reject) => {
      this.held.push({ resolve: () => { real().then(resolve, reject); }, reject });
    });
  }
  override start(uuid: string): Promise<void> { return this.maybeHang(`start ${uuid}`, () => super.start(uuid)); }
  override suspend(uuid: string): Promise<void> { return this.maybeHang(`suspend ${uuid}`, () => super.suspend(uuid)); }
  override resume(uuid: string): Promise<void> { return this.maybeHang(`resume ${uuid}`, () => super.resume(uuid)); }
  override shutdown(uuid: string): Promise<void> { return this.maybeHang(`shutdown ${uuid}`, () => super.shutdown(uuid)); }
  override destroy(uuid: string): Promise<void> { return this.maybeHang(`destroy ${uuid}`, () => super.destroy(uuid)); }
  /** The hung calls return: with success (the start is made now) or with an error. */
  release(outcome: 'resolve' | 'reject'): void {
    this.hang.clear();
    for (const h of this.held.splice(0)) {
      if (outcome === 'resolve') h.resolve();
      else h.reject(new Error('the call was aborted'));
    }
  }
  count(what: string): number { return this.calls.filter((c) => c === what).length; }
}

describe('agent: libvirt call timeouts and transitional deadlines', function () {
  this.timeout(20_000);
  let dir: string;
  let store: BusStore;
  let clock: number;
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skybus-deadline-'));
    store = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
    clock = Date.now();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function setup(over: AgentConfigInput = {}): Promise<{ a: HypervisorAgent; lv: HangingHost }> {
    const config = agentConfig({
      hostId: 'h1', libvirtUri: writeTestHost(join(dir, 'h1.xml'), { cpus: 16, memoryKiB: 32 * GiB }),
      intervalMs: 60_000, leaseTtlSeconds: 120, stopGraceMs: 100, workDir: join(dir, 'work'), metricsEveryMs: 60_000,
      libvirtCallTimeoutMs: 200, deadlinesMs: { STARTING: 1500 }, ...over,
    });
    const lv = new HangingHost(config.libvirtUri);
    await lv.connect();
    cleanups.push(() => lv.close());
    const a = new HypervisorAgent({ store, config, libvirt: lv, now: () => clock }); // cycles by hand
    cleanups.push(async () => { lv.release('reject'); await a.stop(); });
    await a.runOnce(); // registers the host, takes the lease
    return { a, lv };
  }

  async function placed(desiredState: DesiredState = 'STARTED'): Promise<{ m: Machine; job: Job }> {
    const m = await store.machines.create({ tenant: 'acme', name: `m-${Math.random().toString(36).slice(2, 8)}`, spec: spec(), desiredState });
    const h = (await store.hosts.get('h1'))!;
    assert.ok((await store.hosts.claim(h, m.id, { cpus: 1, memoryKiB: 256 * 1024 })).ok);
    assert.ok(await store.machines.assignHost(m.id, 'h1'));
    const job = await store.jobs.create({
      tenant: 'acme', targetId: m.id, targetType: 'Machine', action: 'create', state: 'QUEUED', progress: 0, statusMessage: '', returnCode: 0,
      targetGeneration: m.generation, expectedState: desiredState,
    });
    return { m: (await store.machines.get(m.id))!, job };
  }

  const machine = async (id: string) => (await store.machines.get(id))!;
  const events = async (id: string): Promise<EventRecord[]> => (await store.telemetry.events('acme', dayOf(Date.now()), { limit: 500, pageState: null })).items.filter((e) => e.resource === id);

  it('a start that hangs: ERROR naming the call and host, Job FAILED, events; other machines converge meanwhile; after the deadline the reason says STARTING; a retry after the hang clears the error', async () => {
    const { a, lv } = await setup();
    const stuck = await placed();
    const fine = await placed();
    lv.hang.add(`start ${stuck.m.id}`);

    const t0 = Date.now();
    const first = await a.runOnce();
    assert.ok(Date.now() - t0 < 5000, 'the cycle did not wait for the hung call');
    const hung = /^create failed: libvirt virDomainCreate on host h1 did not return within 0\.2 s$/;
    assert.match((await machine(stuck.m.id)).status.error ?? '', hung);
    assert.ok(first.actions.some((x) => x.machineId === fine.m.id && x.action === 'create' && x.ok), JSON.stringify(first.actions));
    assert.equal((await machine(fine.m.id)).status.converged, true, 'the other machine converged in the same cycle');
    assert.equal((await machine(fine.m.id)).status.state, 'STARTED');

    // What a client sees: ERROR, and the create Job FAILED with the agent's reason.
    assert.equal(displayState(await machine(stuck.m.id)), 'ERROR');
    const failed = await settleJob(store, stuck.job);
    assert.equal(failed.state, 'FAILED');
    assert.match(failed.statusMessage, hung);
    assert.equal(displayState(await machine(fine.m.id)), 'STARTED');
    const failure = (await events(stuck.m.id)).filter((e) => e.outcome === 'Failure');
    assert.equal(failure.length, 1, JSON.stringify(failure));
    assert.match(String(failure[0].content.error), hung);

    // Still hung: no other call on that domain; a machine placed meanwhile converges in this cycle.
    const later = await placed();
    await a.runOnce();
    assert.equal((await machine(later.m.id)).status.converged, true);
    // (the domain, defined before the hung start, is seen shut off now: that state change is an event)
    const recorded = (await events(stuck.m.id)).length;
    await a.runOnce();
    await a.runOnce();
    assert.equal(lv.count(`start ${stuck.m.id}`), 1, 'no second start while the first is outstanding');
    assert.equal((await events(stuck.m.id)).length, recorded, 'the same failure is not recorded again');
    assert.match((await machine(stuck.m.id)).status.error ?? '', hung);

    // Past the STARTING deadline: the reason names the state, the host and the last action's failure; one event.
    clock += 2000;
    await a.runOnce();
    await a.runOnce();
    const late = (await machine(stuck.m.id)).status.error ?? '';
    assert.match(late, /^STARTING did not finish within 1\.5 s on host h1: last action create failed: libvirt virDomainCreate on host h1 did not return within 0\.2 s$/);
    const deadlineEvents = (await events(stuck.m.id)).filter((e) => e.content.deadline === 'STARTING');
    assert.equal(deadlineEvents.length, 1, JSON.stringify(deadlineEvents));
    assert.equal(deadlineEvents[0].content.error, late);
    assert.equal(displayState(await machine(stuck.m.id)), 'ERROR');
    assert.equal((await machine(fine.m.id)).status.error, null, 'the deadline is per machine');

    // The hung call returns with an error: the agent tries again, the start succeeds, the error clears.
    lv.release('reject');
    for (let i = 0; i < 20 && (await machine(stuck.m.id)).status.error !== null; i++) {
      await new Promise((r) => setTimeout(r, 20));
      await a.runOnce();
    }
    const after = await machine(stuck.m.id);
    assert.equal(after.status.error, null);
    assert.equal(after.status.converged, true);
    assert.equal(after.status.state, 'STARTED');
    assert.equal(lv.count(`start ${stuck.m.id}`), 2, 'exactly one retry once the hung call had returned');
    assert.equal(displayState(after), 'STARTED');
  });

  it('a stop asked while a pause hangs makes no call on the domain until the pause returns, then stops it', async () => {
    const { a, lv } = await setup();
    const { m } = await placed();
    await a.runOnce();
    assert.equal((await lv.lookup(m.id))?.state, 'running');
    lv.hang.add(`suspend ${m.id}`);
    await store.machines.updateSpec(m.id, (await machine(m.id)).generation, { desiredState: 'PAUSED' });
    await a.runOnce();
    assert.match((await machine(m.id)).status.error ?? '', /^pause failed: libvirt virDomainSuspend on host h1 did not return within 0\.2 s$/);
    await store.machines.updateSpec(m.id, (await machine(m.id)).generation, { desiredState: 'STOPPED' });
    await a.runOnce();
    await a.runOnce();
    assert.deepEqual(lv.calls.filter((c) => c.endsWith(m.id)), [`start ${m.id}`, `suspend ${m.id}`], 'nothing after the hung call');
    // At the new generation the hung call is still what blocks the machine, and says so.
    const st = (await machine(m.id)).status;
    assert.equal(st.observedGeneration, 3);
    assert.match(st.error ?? '', /libvirt virDomainSuspend on host h1 did not return within 0\.2 s/);
    assert.equal(displayState(await machine(m.id)), 'ERROR');

    lv.release('resolve'); // the pause happens after all: the guest is paused, and must be stopped
    for (let i = 0; i < 40 && !(await machine(m.id)).status.converged; i++) {
      await new Promise((r) => setTimeout(r, 20));
      clock += 200; // past the stop grace, so an ignored shutdown is forced
      await a.runOnce();
    }
    const after = await machine(m.id);
    assert.equal(after.status.converged, true, JSON.stringify(after.status));
    assert.equal(after.status.state, 'STOPPED');
    assert.equal(after.status.error, null);
    assert.equal((await lv.lookup(m.id))?.state, 'shutoff');
  });

  it('STOPPING past its deadline with no failing action: the reason says what libvirt still shows and after which action', async () => {
    const { a, lv } = await setup({ deadlinesMs: { STOPPING: 1000 }, stopGraceMs: 60_000 });
    const { m } = await placed();
    await a.runOnce();
    assert.equal((await lv.lookup(m.id))?.state, 'running');
    // A guest that ignores the power button, with a long grace: the agent waits, nothing fails.
    lv.shutdown = async (uuid: string) => { lv.calls.push(`shutdown ${uuid}`); };
    await store.machines.updateSpec(m.id, (await machine(m.id)).generation, { desiredState: 'STOPPED' });
    await a.runOnce();
    assert.equal((await machine(m.id)).status.error, null, 'within the deadline: no error, just STOPPING');
    assert.equal(displayState(await machine(m.id)), 'STOPPING');
    clock += 1500;
    await a.runOnce();
    const st = (await machine(m.id)).status;
    assert.equal(st.error, 'STOPPING did not finish within 1 s on host h1: the domain is still running after shutdown');
    assert.equal(displayState(await machine(m.id)), 'ERROR');
    // The grace ends: destroy converges it and the error goes.
    clock += 60_000;
    await a.runOnce();
    const done = (await machine(m.id)).status;
    assert.equal(done.converged, true);
    assert.equal(done.error, null);
    assert.equal(displayState(await machine(m.id)), 'STOPPED');
  });
});
