import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HypervisorAgent } from '../../../hypervisor-agent/agent.js';
import { agentConfig, type AgentConfigInput } from '../../../hypervisor-agent/config.js';
import { buildDomainXml, machinePaths } from '../../../hypervisor-agent/domain-xml.js';
import { LibvirtHost, type DomainSnapshot } from '../../../hypervisor-agent/libvirt-host.js';
import { writeTestHost } from '../../../hypervisor-agent/test-host.js';
import { SkybusMetrics } from '../../../observability/metrics.js';
import { openStore, type BusStore } from '../../../schema/bus-store.js';
import { newId } from '../../../schema/ids.js';
import { dayOf } from '../../../schema/store/telemetry.js';
import type { DesiredState, ImageRef, Machine, MachineSpec } from '../../../schema/types.js';
import { until as poll } from '../../helpers/until.js';

const GiB = 1024 * 1024;
const kernel: ImageRef = { id: 'img-k', name: 'tiny', format: 'kernel', location: '/nonexistent/vmlinuz', initrd: '/nonexistent/initrd', cmdline: 'console=ttyS0', cpuArch: 'x86_64' };

function spec(cpu = 1, memoryKiB = 256 * 1024, image: ImageRef | null = null): MachineSpec {
  return { cpu, memoryKiB, cpuArch: 'x86_64', image, disks: [], userData: 'aGVsbG8=', requirements: {} };
}

const until = <T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 5000) => poll(what, timeoutMs, fn, 20);

/** A guest that ignores the ACPI power button (the test driver's shutdown always succeeds at once). */
class StubbornHost extends LibvirtHost {
  shutdowns = 0;
  override async shutdown(): Promise<void> { this.shutdowns++; }
}

/** A host whose define fails for chosen machines (counting the attempts), with a message that can be changed. */
class FaultyHost extends LibvirtHost {
  failing = new Set<string>();
  reason = 'injected define failure';
  readonly attempts = new Map<string, number>();
  override async define(xml: string): Promise<void> {
    for (const id of this.failing) {
      if (!xml.includes(id)) continue;
      this.attempts.set(id, (this.attempts.get(id) ?? 0) + 1);
      throw new Error(`${this.reason} for ${id}`);
    }
    return super.define(xml);
  }
}

/** A host whose define takes a while (a slow disk, a busy libvirtd). */
class SlowHost extends LibvirtHost {
  delayMs = 0;
  override async define(xml: string): Promise<void> {
    await new Promise((r) => setTimeout(r, this.delayMs));
    return super.define(xml);
  }
}

describe('agent: reconciling libvirt test-driver hosts', function () {
  this.timeout(20_000);
  let dir: string;
  let store: BusStore;
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skybus-agent-'));
    store = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function config(hostId: string, over: AgentConfigInput = {}) {
    return agentConfig({
      hostId, libvirtUri: writeTestHost(join(dir, `${hostId}.xml`), { cpus: 16, memoryKiB: 32 * GiB }),
      intervalMs: 60_000, leaseTtlSeconds: 120, stopGraceMs: 150, workDir: join(dir, 'work', hostId), metricsEveryMs: 10, ...over,
    });
  }

  async function agent(hostId: string, over: AgentConfigInput = {}, libvirt?: LibvirtHost, metrics?: SkybusMetrics): Promise<HypervisorAgent> {
    const a = new HypervisorAgent({ store, config: config(hostId, over), libvirt, metrics });
    cleanups.push(() => a.stop());
    await a.start();
    return a;
  }

  async function host(hostId: string, over: AgentConfigInput = {}): Promise<LibvirtHost> {
    const h = new LibvirtHost(config(hostId, over).libvirtUri);
    await h.connect();
    cleanups.push(() => h.close());
    return h;
  }

  /** A machine created through the store and "placed" on the host (claim + assign), as placement does. */
  async function placed(hostId: string, desiredState: DesiredState = 'STARTED', s: MachineSpec = spec()): Promise<Machine> {
    const m = await store.machines.create({ tenant: 'acme', name: `m-${Math.random().toString(36).slice(2, 8)}`, spec: s, desiredState });
    const h = await store.hosts.get(hostId);
    assert.ok(h, 'host registered');
    const c = await store.hosts.claim(h, m.id, { cpus: s.cpu, memoryKiB: s.memoryKiB });
    assert.ok(c.ok, 'claim');
    assert.ok(await store.machines.assignHost(m.id, hostId));
    return (await store.machines.get(m.id))!;
  }

  async function change(id: string, ch: { desiredState?: DesiredState; restartSeq?: number }): Promise<Machine> {
    const m = (await store.machines.get(id))!;
    return store.machines.updateSpec(id, m.generation, ch);
  }

  async function dom(lv: LibvirtHost, id: string): Promise<DomainSnapshot | null> {
    return lv.lookup(id);
  }

  async function status(id: string) {
    return (await store.machines.get(id))!.status;
  }

  async function settled(a: HypervisorAgent, id: string, state: string, rounds = 10) {
    for (let i = 0; i < rounds; i++) {
      await a.runOnce();
      const m = await store.machines.get(id);
      if (m && m.status.state === state && m.status.converged && m.status.observedGeneration === m.generation) return m;
    }
    const m = await store.machines.get(id);
    throw new Error(`machine ${id} did not settle at ${state}: ${JSON.stringify(m?.status)}`);
  }

  it('registers the host with libvirt capacity and labels, holds the lease and announces itself', async () => {
    const a = await agent('h1', { labels: { zone: 'a' } });
    const h = await store.hosts.get('h1');
    assert.equal(h?.cpus, 16);
    assert.equal(h?.memoryKiB, 32 * GiB);
    assert.deepEqual(h?.labels, { zone: 'a' });
    assert.equal(h?.arch, 'x86_64');
    assert.ok(a.hasLease);
    const leases = await store.hosts.leases();
    assert.equal(leases.find((l) => l.hostId === 'h1')?.holder, a.holder);
    const svc = await store.services.list('agent');
    assert.ok(svc.some((s) => s.instanceId === a.holder && s.info.hostId === 'h1'));
  });

  it('defines and starts machines with the right size, writes status, and spares unchanged status writes', async () => {
    const shared = await host('h1');
    const a = await agent('h1', {}, shared);
    const m1 = await placed('h1', 'STARTED', spec(2, 512 * 1024, kernel));
    const m2 = await placed('h1', 'STOPPED', spec(1, 128 * 1024));
    const r = await a.runOnce();
    assert.deepEqual(r.actions.map((x) => x.action).sort(), ['create', 'define']);
    const d1 = await dom(shared, m1.id);
    assert.equal(d1?.state, 'running');
    assert.equal(d1?.vcpus, 2);
    assert.equal(d1?.maxMemoryKiB, 512 * 1024);
    assert.equal(d1?.name, `skybus-${m1.id}`);
    const xml = await shared.xml(m1.id);
    assert.match(xml, /<kernel>\/nonexistent\/vmlinuz<\/kernel>/);
    assert.match(xml, /skybus.userdata=aGVsbG8=/);
    assert.equal((await dom(shared, m2.id))?.state, 'shutoff');
    const s1 = await status(m1.id);
    assert.equal(s1.state, 'STARTED');
    assert.equal(s1.converged, true);
    assert.equal(s1.observedGeneration, m1.generation);
    assert.equal(s1.hostId, 'h1');
    assert.equal(s1.error, null);
    assert.equal((await status(m2.id)).state, 'STOPPED');
    await new Promise((res) => setTimeout(res, 20)); // past metricsEveryMs
    const again = await a.runOnce();
    assert.equal(again.actions.length, 0);
    assert.equal(again.statusWrites, 0, 'nothing changed: no status writes');
    // monitoring and accounting
    await a.monitorOnce();
    const sampled = (await store.monitoring.latest('h1'))?.machines.find((x) => x.machineId === m1.id);
    assert.ok(sampled, 'the host\'s latest sample carries the machine');
    assert.equal(sampled.state, 'running');
    assert.equal(sampled.memoryKiB, 512 * 1024);
    const usage = await store.telemetry.usage('acme', dayOf(Date.now()));
    const u = usage.find((x) => x.machineId === m1.id);
    assert.ok(u);
    assert.equal(u.periodStart % (300 * 1000), 0);
    assert.equal(u.vcpus, 2);
    const events = await store.telemetry.events('acme', dayOf(Date.now()));
    assert.ok(events.items.some((e) => e.resource === m1.id && e.content.action === 'create'));
  });

  it('re-writes every status on a periodic full resync (repairing a status changed behind its back)', async () => {
    const a = await agent('h1', { fullResyncEvery: 3 });
    const qcowImage: ImageRef = { id: 'img-q', name: 'disk', format: 'qcow2', location: '/nonexistent/base.qcow2', initrd: null, cmdline: null, cpuArch: 'x86_64' };
    const m = await placed('h1', 'STARTED', spec(1, 128 * 1024, qcowImage));
    await settled(a, m.id, 'STARTED');
    const good = await status(m.id);
    await store.machines.setStatus(m.id, { ...good, state: 'STOPPED', converged: false });
    const writes: number[] = [];
    for (let i = 0; i < 3; i++) writes.push((await a.runOnce()).statusWrites);
    assert.ok(writes.filter((w) => w === 1).length === 1 && writes.filter((w) => w === 0).length === 2, `one resync write in 3 cycles: ${writes}`);
    assert.equal((await status(m.id)).state, 'STARTED');
    assert.match(await a.libvirt.xml(m.id), /root\.qcow2/);
  });

  it('stop, start, pause, resume, suspend (save), restore, restart', async () => {
    const shared = await host('h1');
    const a = await agent('h1', {}, shared);
    const m = await placed('h1');
    await settled(a, m.id, 'STARTED');
    const id0 = (await dom(shared, m.id))!.id;

    await change(m.id, { desiredState: 'STOPPED' });
    await settled(a, m.id, 'STOPPED');
    assert.equal((await dom(shared, m.id))?.state, 'shutoff');

    await change(m.id, { desiredState: 'STARTED' });
    await settled(a, m.id, 'STARTED');

    await change(m.id, { desiredState: 'PAUSED' });
    await settled(a, m.id, 'PAUSED');
    assert.equal((await dom(shared, m.id))?.state, 'paused');

    await change(m.id, { desiredState: 'STARTED' });
    await settled(a, m.id, 'STARTED');
    assert.equal((await dom(shared, m.id))?.state, 'running');

    const saveFile = machinePaths(a.config.workDir, m.id).saveFile;
    await change(m.id, { desiredState: 'SUSPENDED' });
    await settled(a, m.id, 'SUSPENDED');
    assert.equal((await dom(shared, m.id))?.state, 'shutoff');
    assert.ok(existsSync(saveFile), 'saved to a file in workDir');

    await change(m.id, { desiredState: 'STARTED' });
    await settled(a, m.id, 'STARTED');
    assert.ok(!existsSync(saveFile), 'save file consumed by restore');

    const before = (await dom(shared, m.id))!.id;
    assert.notEqual(before, id0);
    const restarted = await change(m.id, { restartSeq: 1 });
    const s = await settled(a, m.id, 'STARTED');
    assert.equal(s.status.observedRestartSeq, 1);
    assert.equal(s.status.observedGeneration, restarted.generation);
    assert.notEqual((await dom(shared, m.id))!.id, before, 'a restart gives the domain a new id');
    const r = await a.runOnce();
    assert.equal(r.actions.length, 0, 'restart done once');
  });

  it('stops gracefully, then forces after the grace period when the guest ignores shutdown', async () => {
    const cfg = config('h1', { stopGraceMs: 300 });
    const stubborn = new StubbornHost(cfg.libvirtUri);
    await stubborn.connect();
    cleanups.push(() => stubborn.close());
    const a = await agent('h1', { stopGraceMs: 300 }, stubborn);
    const m = await placed('h1');
    await settled(a, m.id, 'STARTED');
    await change(m.id, { desiredState: 'STOPPED' });
    const r1 = await a.runOnce();
    assert.deepEqual(r1.actions.map((x) => x.action), ['shutdown']);
    assert.equal((await dom(stubborn, m.id))?.state, 'running');
    const st = await status(m.id);
    assert.equal(st.converged, false);
    assert.equal(st.state, 'STARTED');
    const r2 = await a.runOnce();
    assert.equal(r2.actions.length, 0, 'waiting within the grace period');
    // During the grace period the button is pressed again every third of it (a guest may miss one
    // press), then the guest is forced off once the grace period is over.
    const seen: string[] = [];
    const pressed = Date.now();
    while (!seen.includes('destroy')) {
      assert.ok(Date.now() - pressed < 5_000, `never forced: ${seen.join(',')}`);
      await new Promise((res) => setTimeout(res, 20));
      seen.push(...(await a.runOnce()).actions.map((x) => x.action));
    }
    assert.ok(Date.now() - pressed >= 300 - 5, 'not forced before the grace period');
    assert.deepEqual(seen.filter((x) => x !== 'shutdown'), ['destroy']);
    assert.ok(stubborn.shutdowns >= 2 && stubborn.shutdowns <= 3, `pressed ${stubborn.shutdowns} times in a 300 ms grace period`);
    assert.equal((await dom(stubborn, m.id))?.state, 'shutoff');
    assert.equal((await status(m.id)).state, 'STOPPED');
    assert.equal((await status(m.id)).converged, true);
  });

  it('deletes: domain gone, claim released exactly once, rows purged', async () => {
    const shared = await host('h1');
    const a = await agent('h1', {}, shared);
    const m = await placed('h1', 'STARTED', spec(4, GiB));
    await settled(a, m.id, 'STARTED');
    assert.equal((await store.hosts.get('h1'))?.usedCpus, 4);
    await change(m.id, { desiredState: 'DELETED' });
    const r = await a.runOnce();
    assert.deepEqual(r.actions.map((x) => x.action), ['delete', 'finishDelete']);
    assert.equal(await dom(shared, m.id), null);
    assert.equal(await store.machines.get(m.id), null);
    assert.deepEqual(await store.machines.listOnHost('h1'), []);
    const h = (await store.hosts.get('h1'))!;
    assert.equal(h.usedCpus, 0);
    assert.equal(h.usedMemoryKiB, 0);
    assert.deepEqual(h.allocations, {});
    assert.equal(await store.hosts.release('h1', m.id), false, 'nothing left to release');
    assert.ok(!existsSync(machinePaths(a.config.workDir, m.id).dir), 'files removed');
    await a.runOnce();
    assert.equal((await store.hosts.get('h1'))!.usedCpus, 0, 'not released twice');
  });

  it('stops acting in a cycle that outlasts the safe part of its lease, and goes on after renewing', async () => {
    const cfg = config('h1', { leaseTtlSeconds: 3, intervalMs: 1000 });
    const slow = new SlowHost(cfg.libvirtUri);
    await slow.connect();
    cleanups.push(() => slow.close());
    const a = new HypervisorAgent({ store, config: cfg, libvirt: slow }); // no loop: cycles by hand
    cleanups.push(() => a.stop());
    await a.runOnce(); // registers the host, takes the lease
    const ms = [await placed('h1'), await placed('h1'), await placed('h1')];
    slow.delayMs = 1200; // two defines take longer than 2 s, two thirds of the 3 s lease
    const first = await a.runOnce();
    assert.equal(first.actions.length, 2, 'the third machine waits for the next renewal');
    slow.delayMs = 0;
    await a.runOnce();
    for (const m of ms) assert.equal((await dom(slow, m.id))?.state, 'running');
  });

  it('isolates a failing machine, reports the error, retries and recovers', async () => {
    const cfg = config('h1');
    const faulty = new FaultyHost(cfg.libvirtUri);
    await faulty.connect();
    cleanups.push(() => faulty.close());
    const a = await agent('h1', {}, faulty);
    const bad = await placed('h1');
    const good = await placed('h1');
    faulty.failing.add(bad.id);
    await a.runOnce();
    assert.equal((await dom(faulty, good.id))?.state, 'running');
    const sb = await status(bad.id);
    assert.equal(sb.state, 'ERROR');
    assert.match(sb.error ?? '', /create failed: injected define failure/);
    assert.equal(sb.observedGeneration, bad.generation);
    await a.runOnce();
    assert.match((await status(bad.id)).error ?? '', /injected/, 'error stays visible while failing');
    faulty.failing.clear();
    await settled(a, bad.id, 'STARTED');
    assert.equal((await status(bad.id)).error, null);
  });

  describe('a machine whose action keeps failing', () => {
    async function failingSetup(over: AgentConfigInput = {}) {
      const cfg = config('h1', { intervalMs: 1000, ...over });
      const faulty = new FaultyHost(cfg.libvirtUri);
      await faulty.connect();
      cleanups.push(() => faulty.close());
      const a = await agent('h1', { intervalMs: 1000, ...over }, faulty);
      const bad = await placed('h1');
      faulty.failing.add(bad.id);
      return { a, faulty, bad };
    }

    async function failureEvents(id: string) {
      const page = await store.telemetry.events('acme', dayOf(Date.now()), { limit: 1000 });
      return page.items.filter((e) => e.resource === id && e.outcome === 'Failure').sort((x, y) => x.ts - y.ts);
    }

    it('failing identically for 30 cycles: exactly one event and far fewer than 30 libvirt attempts, the error stays in status', async () => {
      const { a, faulty, bad } = await failingSetup();
      const good = await placed('h1');
      const N = 30;
      for (let i = 0; i < N; i++) await a.runOnce();
      const attempts = faulty.attempts.get(bad.id) ?? 0;
      assert.ok(attempts >= 2 && attempts <= 8, `backed off: ${attempts} define attempts in ${N} cycles`);
      const events = await failureEvents(bad.id);
      assert.equal(events.length, 1, `one event for one unchanging error, got ${events.length}`);
      assert.match(String(events[0]!.content.error), /create failed: injected define failure/);
      const st = await status(bad.id);
      assert.equal(st.state, 'ERROR');
      assert.equal(st.observedGeneration, bad.generation);
      assert.match(st.error ?? '', /create failed: injected define failure/, 'status.error shows the current error');
      assert.equal((await dom(faulty, good.id))?.state, 'running', 'the other machine is not held back');
    });

    it('a changed error is recorded as a second event', async () => {
      const { a, faulty, bad } = await failingSetup();
      for (let i = 0; i < 5; i++) await a.runOnce();
      assert.equal((await failureEvents(bad.id)).length, 1);
      faulty.reason = 'Domain title can\'t contain newlines';
      for (let i = 0; i < 20 && !/newlines/.test((await status(bad.id)).error ?? ''); i++) await a.runOnce();
      assert.match((await status(bad.id)).error ?? '', /create failed: Domain title can't contain newlines/, 'the new error reached status');
      for (let i = 0; i < 10; i++) await a.runOnce();
      const events = await failureEvents(bad.id);
      assert.equal(events.length, 2, `one event per distinct error, got ${events.length}`);
      assert.match(String(events[1]!.content.error), /newlines/);
    });

    it('a spec change resets the back-off: the new generation is acted on in the next cycle', async () => {
      const { a, faulty, bad } = await failingSetup();
      const attemptedIn: boolean[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await a.runOnce();
        attemptedIn.push(r.actions.some((x) => x.machineId === bad.id));
      }
      assert.ok(attemptedIn.includes(false), `backing off before the change: ${attemptedIn}`);
      const before = faulty.attempts.get(bad.id) ?? 0;
      const changed = await change(bad.id, { desiredState: 'STOPPED' });
      const r = await a.runOnce();
      assert.deepEqual(r.actions.filter((x) => x.machineId === bad.id).map((x) => x.action), ['define'], 'acted on at once');
      assert.equal(faulty.attempts.get(bad.id), before + 1);
      const st = await status(bad.id);
      assert.equal(st.observedGeneration, changed.generation);
      assert.match(st.error ?? '', /define failed/);
      faulty.failing.clear();
      const r2 = await a.runOnce();
      assert.deepEqual(r2.actions.filter((x) => x.machineId === bad.id).map((x) => x.action), ['define'], 'retried in the next cycle: the new generation failed only once');
      assert.equal((await status(bad.id)).state, 'STOPPED');
      assert.equal((await status(bad.id)).error, null);
    });

    it('a restarted agent meeting the same error on the bus does not record it again', async () => {
      const { a, faulty, bad } = await failingSetup();
      for (let i = 0; i < 3; i++) await a.runOnce();
      await a.stop();
      const again = await agent('h1', { intervalMs: 1000 }, faulty);
      const before = faulty.attempts.get(bad.id) ?? 0;
      for (let i = 0; i < 3; i++) await again.runOnce();
      assert.ok((faulty.attempts.get(bad.id) ?? 0) > before, 'the new agent tried');
      assert.equal((await failureEvents(bad.id)).length, 1);
      assert.match((await status(bad.id)).error ?? '', /injected define failure/);
    });

    it('a name with a newline written straight into the bus still converges, with a sanitised title', async () => {
      const shared = await host('h1');
      const a = await agent('h1', {}, shared);
      const m = await store.machines.create({ tenant: 'acme', name: 'web\nserver\r\u0007one', spec: spec(), desiredState: 'STARTED' });
      const h = (await store.hosts.get('h1'))!;
      assert.ok((await store.hosts.claim(h, m.id, { cpus: 1, memoryKiB: spec().memoryKiB })).ok);
      assert.ok(await store.machines.assignHost(m.id, 'h1'));
      await settled(a, m.id, 'STARTED', 3);
      assert.equal((await dom(shared, m.id))?.state, 'running');
      assert.match(await shared.xml(m.id), /<title>web server one<\/title>/);
      assert.equal((await status(m.id)).error, null);
    });
  });

  it('two agents on two private hosts at once, with their loops running', async () => {
    const h1 = await host('h1');
    const h2 = await host('h2');
    const a1 = await agent('h1', { intervalMs: 30 }, h1);
    const a2 = await agent('h2', { intervalMs: 30 }, h2);
    const on1 = [await placed('h1'), await placed('h1')];
    const on2 = [await placed('h2'), await placed('h2', 'PAUSED'), await placed('h2', 'STOPPED')];
    for (const m of [...on1, ...on2]) {
      await until(`machine ${m.id} converged`, async () => { const s = await status(m.id); return s.converged && s.observedGeneration === m.generation; });
    }
    const names1 = (await h1.listDomains()).map((d) => d.uuid).sort();
    const names2 = (await h2.listDomains()).map((d) => d.uuid).sort();
    assert.deepEqual(names1, on1.map((m) => m.id).sort());
    assert.deepEqual(names2, on2.map((m) => m.id).sort());
    assert.equal((await status(on2[1]!.id)).state, 'PAUSED');
    assert.equal((await status(on2[2]!.id)).state, 'STOPPED');
    assert.ok(a1.hasLease && a2.hasLease);
  });

  it('a restarted agent adopts running guests without restarting them, and finishes work left mid-way', async () => {
    const shared = await host('h1'); // the "libvirtd": outlives both agents
    const a1 = new HypervisorAgent({ store, config: config('h1'), libvirt: shared });
    await a1.start();
    const ms = [await placed('h1'), await placed('h1'), await placed('h1')];
    await a1.runOnce();
    await a1.runOnce();
    const ids = new Map<string, number | null>();
    for (const m of ms) ids.set(m.id, (await dom(shared, m.id))!.id);
    await a1.stop();
    // work arrives while no agent runs
    await change(ms[2]!.id, { desiredState: 'STOPPED' });
    const late = await placed('h1');
    const a2 = await agent('h1', {}, shared);
    await settled(a2, ms[2]!.id, 'STOPPED');
    await settled(a2, late.id, 'STARTED');
    for (const m of ms.slice(0, 2)) {
      const d = await dom(shared, m.id);
      assert.equal(d?.state, 'running');
      assert.equal(d?.id, ids.get(m.id), 'same domain id: the guest was not restarted');
      assert.equal((await status(m.id)).converged, true);
    }
    const all = (await shared.listDomains()).filter((d) => d.name.startsWith('skybus-'));
    assert.equal(all.length, 4, 'no duplicate domains');
    assert.equal(new Set(all.map((d) => d.name)).size, 4);
  });

  it('accounting continues across an agent restart instead of counting the period again from zero', async () => {
    const shared = await host('h1');
    const pause = () => new Promise((res) => setTimeout(res, 40));
    const a1 = await agent('h1', {}, shared);
    const m = await placed('h1');
    await settled(a1, m.id, 'STARTED');
    for (let i = 0; i < 3; i++) { await pause(); await a1.runOnce(); }
    const record = async () => (await store.telemetry.usage('acme', dayOf(Date.now()))).filter((u) => u.machineId === m.id);
    const [before] = await record();
    assert.ok(before && before.cpuSeconds > 0, 'CPU time was counted');
    await a1.stop();
    const a2 = await agent('h1', {}, shared);
    await pause();
    await a2.runOnce();
    const after = (await record()).find((u) => u.periodStart === before.periodStart);
    if (after) assert.ok(after.cpuSeconds >= before.cpuSeconds, `period restarted from zero: ${after.cpuSeconds} < ${before.cpuSeconds}`);
  });

  it('reports an orphan domain, and destroys it under the destroy policy', async () => {
    const shared = await host('h1');
    const orphanId = newId();
    const xml = buildDomainXml({
      hostId: 'h1', machineId: orphanId, tenant: 'acme', name: 'ghost', spec: spec(), desiredState: 'STARTED', restartSeq: 0, generation: 1,
    }, { domainType: 'test', prefix: 'skybus-', workDir: join(dir, 'work', 'h1'), hostId: 'h1' });
    await shared.define(xml);
    await shared.start(orphanId);
    await shared.define(xml.replace(`<name>skybus-${orphanId}</name>`, '<name>not-ours</name>').replace(`<uuid>${orphanId}</uuid>`, `<uuid>${newId()}</uuid>`));

    const reporter = new HypervisorAgent({ store, config: config('h1', { orphanPolicy: 'report' }), libvirt: shared });
    await reporter.start();
    const r = await reporter.runOnce();
    assert.deepEqual(r.orphans, [`skybus-${orphanId}`]);
    await reporter.runOnce();
    assert.equal((await dom(shared, orphanId))?.state, 'running', 'report policy leaves it alone');
    const ev = await store.telemetry.events('acme', dayOf(Date.now()));
    assert.ok(ev.items.some((e) => e.resource === orphanId && e.type === 'alarm' && e.content.reason === 'orphan domain'));
    await reporter.stop();

    const destroyer = await agent('h1', { orphanPolicy: 'destroy' }, shared);
    await destroyer.runOnce();
    assert.equal(await dom(shared, orphanId), null, 'destroyed and undefined');
    const names = (await shared.listDomains()).map((d) => d.name);
    assert.deepEqual(names, ['not-ours'], 'domains without the prefix are never touched');
  });

  it('ignores the test driver default host\'s predefined domain', async () => {
    const a = await agent('shared-default', { libvirtUri: 'test:///default', orphanPolicy: 'destroy' });
    const r1 = await a.runOnce();
    const r2 = await a.runOnce();
    assert.deepEqual([...r1.orphans, ...r2.orphans], []);
    const names = (await a.libvirt.listDomains()).map((d) => d.name);
    assert.ok(names.includes('test'));
  });

  it('a crashed holder\'s lease lapses after its TTL; the old holder then stops acting', async () => {
    const shared = await host('h1');
    const first = new HypervisorAgent({ store, config: config('h1', { intervalMs: 100, leaseTtlSeconds: 1 }), libvirt: shared });
    cleanups.push(() => first.stop());
    await first.runOnce(); // driven by hand, no loop: it "crashes" by simply not running again
    assert.ok(first.hasLease);
    const m = await placed('h1');
    await first.runOnce();
    // "crash": the first agent stops renewing without letting go
    const second = new HypervisorAgent({ store, config: config('h1', { intervalMs: 100, leaseTtlSeconds: 1 }), libvirt: shared });
    cleanups.push(() => second.stop());
    await second.start();
    assert.equal(second.hasLease, false);
    await until('lease lapsed and taken over', async () => (await second.runOnce()).leaseHeld, 5000);
    const r = await first.runOnce();
    assert.equal(r.leaseHeld, false, 'lost the lease: not acting');
    assert.equal(first.hasLease, false);
    await change(m.id, { desiredState: 'STOPPED' });
    await first.runOnce();
    assert.equal((await dom(shared, m.id))?.state, 'running', 'the old holder did nothing');
    await settled(second, m.id, 'STOPPED');
  });

  it('a lease held by another live agent blocks a second agent for the same host', async () => {
    const metrics = new SkybusMetrics();
    const first = await agent('h1', {}, undefined, metrics);
    const m = await placed('h1');
    await first.runOnce();
    const otherLibvirt = await host('h1');
    const second = new HypervisorAgent({ store, config: config('h1'), libvirt: otherLibvirt });
    cleanups.push(() => second.stop());
    await second.start();
    assert.equal(second.hasLease, false);
    const r = await second.runOnce();
    assert.equal(r.leaseHeld, false);
    assert.equal(r.actions.length, 0);
    assert.deepEqual(await otherLibvirt.listDomains(), [], 'the blocked agent did nothing');
    assert.equal((await store.hosts.leases()).find((l) => l.hostId === 'h1')?.holder, first.holder);
    await first.stop();
    const r2 = await second.runOnce();
    assert.equal(r2.leaseHeld, true, 'free once the holder let go');
    assert.equal((await dom(otherLibvirt, m.id))?.state, 'running');
    const text = await metrics.registry.metrics();
    assert.match(text, /skybus_agent_actions_total\{action="create",outcome="ok"\} 1/);
  });
});
