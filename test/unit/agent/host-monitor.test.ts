/**
 * The host monitor (hypervisor-agent/host-monitor.ts) on libvirt's test driver: every interval ONE
 * host_samples row carrying all the host's machines plus the host_latest row (counted at the driver);
 * a failed write is kept and sent next interval, never thrown; the finished hour's rollup is written
 * from the stored samples, and a restarted monitor rewrites that same row.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfig, type AgentConfig } from '../../../hypervisor-agent/config.js';
import { HostMonitor, MAX_BACKLOG } from '../../../hypervisor-agent/host-monitor.js';
import { LibvirtCallGuard } from '../../../hypervisor-agent/libvirt-call-guard.js';
import { LibvirtHost } from '../../../hypervisor-agent/libvirt-host.js';
import { writeTestHost } from '../../../hypervisor-agent/test-host.js';
import { silentLogger } from '../../../observability/logger.js';
import { openStore, type BusStore } from '../../../schema/bus-store.js';
import { newId } from '../../../schema/ids.js';
import { HOUR_MS, hourOf } from '../../../schema/store/monitoring.js';
import type { Row, TableDriver, WriteOptions } from '../../../schema/table-driver.js';
import { countingStore, type RowCall } from '../../helpers/counting-driver.js';

const HOST = 'mon-h1';
const GiB = 1024 * 1024;
const INTERVAL = 10_000;

function domainXml(name: string, uuid: string, vcpus: number, memoryKiB: number): string {
  return `<domain type='test'><name>${name}</name><uuid>${uuid}</uuid><memory unit='KiB'>${memoryKiB}</memory>`
    + `<currentMemory unit='KiB'>${memoryKiB}</currentMemory><vcpu>${vcpus}</vcpu><os><type arch='x86_64'>hvm</type></os></domain>`;
}

/** A driver whose writes to the named tables fail while they are in `failing` (a bus that does not take them). */
function failingDriver(d: TableDriver, failing: Set<string>): TableDriver {
  return new Proxy(d, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (prop !== 'put' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
      return async (table: string, row: Row, opts?: WriteOptions) => {
        if (failing.has(table)) throw new Error(`injected: ${table} write refused`);
        return (v as TableDriver['put']).call(target, table, row, opts);
      };
    },
  });
}

describe('agent: host monitor on the libvirt test driver', function () {
  this.timeout(30_000);
  let dir: string;
  let bus: BusStore;
  let lv: LibvirtHost;
  let config: AgentConfig;
  let calls: RowCall[];
  let watched: BusStore;
  const failing = new Set<string>();
  let clock: number;
  let leader: boolean;
  const running = newId();
  const stopped = newId();

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skybus-monitor-'));
    bus = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
    failing.clear();
    ({ store: watched, calls } = countingStore(failingDriver(bus.driver, failing)));
    config = agentConfig({ hostId: HOST, libvirtUri: writeTestHost(join(dir, 'h1.xml'), { cpus: 8, memoryKiB: 16 * GiB }), workDir: join(dir, 'work'), monitorIntervalMs: INTERVAL });
    lv = new LibvirtHost(config.libvirtUri);
    await lv.connect();
    await lv.define(domainXml(`skybus-${running}`, running, 2, 256 * 1024));
    await lv.define(domainXml(`skybus-${stopped}`, stopped, 1, 128 * 1024));
    const foreign = newId();
    await lv.define(domainXml('someone-elses-vm', foreign, 1, 64 * 1024));
    await lv.start(running);
    await lv.start(foreign);
    clock = 494_000 * HOUR_MS + 100_000;
    leader = true;
  });
  afterEach(async () => {
    await lv.close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const monitor = () => new HostMonitor({
    store: watched, config, host: lv, calls: new LibvirtCallGuard(HOST, config.libvirtCallTimeoutMs, silentLogger()), log: silentLogger(),
    now: () => clock, mayWrite: () => leader, loadAverage: () => 0.25,
  });
  const writes = () => calls.filter((c) => c.method === 'put' || c.method === 'putAll' || c.method === 'cas').map((c) => c.table);
  const stored = (since: number, until: number) => bus.monitoring.samples(HOST, { since, until });

  it('writes ONE host_samples row per interval carrying every machine, and the host_latest row', async () => {
    const m = monitor();
    const t1 = clock;
    const r1 = await m.tick();
    assert.deepEqual(writes().sort(), ['host_latest', 'host_samples'], 'two writes an interval, whatever the number of machines');
    assert.equal(r1.samplesWritten, 1);
    assert.equal(r1.latestWritten, true);
    assert.deepEqual(r1.rollupsWritten, []);
    const [first] = (await stored(t1, t1 + 1)).items;
    assert.ok(first);
    assert.deepEqual(first.machines.map((x) => x.machineId), [running, stopped].sort(), 'our machines only, the foreign domain is not one');
    assert.deepEqual(first.domains, { running: 2, shutoff: 1 }, 'host figures count every domain');
    assert.equal(first.cpus, 8);
    assert.equal(first.memoryKiB, 16 * GiB);
    assert.equal(first.guestMemoryKiB, 256 * 1024 + 64 * 1024, 'active domains only');
    assert.equal(first.load1, 0.25);
    assert.equal(first.guestCpuUsed, null, 'no rate before a second reading');
    const byId = new Map(first.machines.map((x) => [x.machineId, x]));
    assert.equal(byId.get(running)?.cpuUsed, null);
    assert.equal(byId.get(running)?.state, 'running');
    assert.equal(byId.get(running)?.vcpus, 2);
    assert.equal(byId.get(stopped)?.cpuUsed, 0, 'a machine that is off uses nothing');
    assert.equal(byId.get(stopped)?.memoryKiB, 0);
    assert.deepEqual(await bus.monitoring.latest(HOST), first);

    calls.length = 0;
    clock += INTERVAL;
    const r2 = await m.tick();
    assert.deepEqual(writes().sort(), ['host_latest', 'host_samples']);
    assert.equal(r2.samplesWritten, 1);
    const rows = (await stored(t1, clock + 1)).items;
    assert.deepEqual(rows.map((s) => s.ts), [clock, t1]);
    for (const s of rows) assert.equal(s.machines.length, 2);
    const rate = rows[0]!.machines.find((x) => x.machineId === running)?.cpuUsed;
    assert.ok(typeof rate === 'number' && rate >= 0 && rate <= 2, `a rate from the second reading (got ${String(rate)})`);
    assert.equal((await bus.monitoring.latest(HOST))?.ts, clock);
    assert.equal((await bus.monitoring.latestAll()).length, 1, 'one latest row for the host');
  });

  it('a failed sample write is kept and sent next interval before the new one, without throwing', async () => {
    const m = monitor();
    failing.add('host_samples');
    const t1 = clock;
    const r1 = await m.tick();
    assert.equal(r1.samplesWritten, 0);
    assert.equal(r1.backlog, 1);
    assert.equal(r1.latestWritten, true, 'the latest row does not wait for the samples');
    assert.deepEqual((await stored(t1, t1 + 1)).items, []);
    failing.delete('host_samples');
    clock += INTERVAL;
    const r2 = await m.tick();
    assert.equal(r2.samplesWritten, 2);
    assert.equal(r2.backlog, 0);
    assert.deepEqual((await stored(t1, clock + 1)).items.map((s) => s.ts), [clock, t1]);
  });

  it('a failed latest write is overtaken by the next one; nothing is thrown', async () => {
    const m = monitor();
    failing.add('host_latest');
    const r1 = await m.tick();
    assert.equal(r1.latestWritten, false);
    assert.equal(r1.samplesWritten, 1);
    assert.equal(await bus.monitoring.latest(HOST), null);
    failing.delete('host_latest');
    clock += INTERVAL;
    assert.equal((await m.tick()).latestWritten, true);
    assert.equal((await bus.monitoring.latest(HOST))?.ts, clock);
  });

  it('while the bus refuses samples one write is tried per interval and the backlog is bounded', async () => {
    const m = monitor();
    failing.add('host_samples');
    const t0 = clock;
    for (let i = 0; i < MAX_BACKLOG + 3; i++) {
      calls.length = 0;
      const r = await m.tick();
      assert.equal(writes().filter((t) => t === 'host_samples').length, 1, 'stops at the first refused write');
      assert.equal(r.backlog, Math.min(i + 1, MAX_BACKLOG));
      clock += INTERVAL;
    }
    failing.delete('host_samples');
    const r = await m.tick();
    assert.equal(r.samplesWritten, MAX_BACKLOG, 'the kept samples and the new one, oldest dropped');
    const times = (await stored(t0, clock + 1)).items.map((s) => s.ts);
    assert.deepEqual(times, Array.from({ length: MAX_BACKLOG }, (_, i) => clock - i * INTERVAL));
  });

  it('once the hour is over its rollup is written from the stored samples; a restarted monitor rewrites that same row', async () => {
    const hour = hourOf(clock);
    const m = monitor();
    assert.deepEqual((await m.tick()).rollupsWritten, [], 'the previous hour has no samples: no rollup');
    clock += INTERVAL;
    await m.tick();
    clock = (hour + 1) * HOUR_MS + 5_000;
    calls.length = 0;
    const r = await m.tick();
    assert.deepEqual(r.rollupsWritten, [hour]);
    assert.deepEqual(writes().sort(), ['host_latest', 'host_rollups', 'host_samples']);
    const rollup = await bus.monitoring.rollup(HOST, hour);
    assert.equal(rollup?.samples, 2);
    assert.equal(rollup?.firstTs, hour * HOUR_MS + 100_000);
    assert.equal(rollup?.lastTs, hour * HOUR_MS + 100_000 + INTERVAL);
    assert.deepEqual(rollup?.machines.map((x) => x.machineId), [running, stopped].sort());
    assert.deepEqual(rollup?.load1, { min: 0.25, avg: 0.25, max: 0.25 });
    clock += INTERVAL;
    assert.deepEqual((await m.tick()).rollupsWritten, [], 'written once per hour by a running monitor');

    clock += INTERVAL;
    const restarted = monitor();
    assert.deepEqual((await restarted.tick()).rollupsWritten, [hour], 'a restart rewrites the previous hour');
    assert.deepEqual(await bus.monitoring.rollup(HOST, hour), rollup, 'the same values');
    const rows = (bus.driver as unknown as { raw(sql: string, ...p: unknown[]): unknown[] }).raw('SELECT * FROM host_rollups WHERE host_id = ?', HOST);
    assert.equal(rows.length, 1, 'the same key: one row');
  });

  it('writes nothing when this agent may not write for the host, and nothing when libvirt cannot be read', async () => {
    leader = false;
    const r = await monitor().tick();
    assert.equal(r.skipped, 'not-lease-holder');
    assert.deepEqual(writes(), []);
    leader = true;
    const broken = new HostMonitor({
      store: watched, config, calls: new LibvirtCallGuard(HOST, config.libvirtCallTimeoutMs, silentLogger()), log: silentLogger(), now: () => clock, mayWrite: () => true,
      host: { nodeInfo: () => lv.nodeInfo(), listDomains: () => Promise.reject(new Error('libvirtd went away')) },
    });
    const b = await broken.tick();
    assert.equal(b.skipped, 'libvirt');
    assert.deepEqual(writes(), [], 'no sample is made up for an interval not observed');
  });
});
