/**
 * Issue 12, accounting exact on both stores: an agent on the libvirt test hypervisor with a clock the
 * test moves. A machine runs for known periods (stopped for a known stretch in between), its agent
 * is killed mid-period and restarted later, a record is written twice; the report equals the
 * expected totals to the second, counts nothing twice, and shows the time the agent was down as a gap.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tenantUsage } from '../../frontend/usage-report.js';
import { HypervisorAgent } from '../../hypervisor-agent/agent.js';
import { agentConfig } from '../../hypervisor-agent/config.js';
import { writeTestHost } from '../../hypervisor-agent/test-host.js';
import { dayOf } from '../../schema/store/telemetry.js';
import type { MachineSpec } from '../../schema/types.js';
import { onBothStores, type StoreFixture } from '../helpers/stores.js';

const GiB = 1024 * 1024;
const PERIOD_S = 300;
const spec: MachineSpec = { cpu: 2, memoryKiB: 1 * GiB, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} };

function accountingSuite(makeFixture: () => Promise<StoreFixture>) {
  let fx: StoreFixture;
  let dir: string;
  before(async function () { this.timeout(60_000); fx = await makeFixture(); dir = mkdtempSync(join(tmpdir(), 'skybus-usage-')); });
  after(async function () { this.timeout(60_000); if (fx) await fx.cleanup(); if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('a machine run, stopped, run again, its agent killed mid-period and restarted: the report is exact to the second and shows the gap', async function () {
    this.timeout(60_000);
    // The clock: a period boundary a little ahead of real time, moved by the test only.
    const t0 = (Math.ceil(Date.now() / (PERIOD_S * 1000)) + 1) * PERIOD_S * 1000;
    let now = t0 - 10_000; // the agent's first cycle (no machine yet) just before
    const config = agentConfig({
      hostId: 'acct-h1', libvirtUri: writeTestHost(join(dir, 'h1.xml'), { cpus: 16, memoryKiB: 32 * GiB }),
      intervalMs: 600_000, leaseTtlSeconds: 3600, workDir: join(dir, 'work'), metricsEveryMs: 10_000, accountingPeriodSeconds: PERIOD_S,
    });
    const startAgent = async () => {
      const a = new HypervisorAgent({ store: fx.store, config, now: () => now });
      await a.start();
      return a;
    };
    const a1 = await startAgent();
    now = t0;
    const m = await fx.store.machines.create({ tenant: 'acct', name: 'metered', spec, desiredState: 'STARTED' });
    const h = (await fx.store.hosts.get('acct-h1'))!;
    assert.ok((await fx.store.hosts.claim(h, m.id, { cpus: spec.cpu, memoryKiB: spec.memoryKiB })).ok);
    assert.ok(await fx.store.machines.assignHost(m.id, 'acct-h1'));
    const cycleUntil = async (a: HypervisorAgent, end: number, at?: Map<number, () => Promise<void>>) => {
      for (; now <= end; now += 10_000) {
        await at?.get(now - t0)?.();
        await a.runOnce();
      }
      now -= 10_000;
    };
    const setDesired = (desiredState: 'STARTED' | 'STOPPED') => async () => {
      const cur = (await fx.store.machines.get(m.id))!;
      await fx.store.machines.updateSpec(m.id, cur.generation, { desiredState });
    };
    // t0 .. t0+450 s: running, stopped from +150 s to +200 s (the cycles at those times act and report).
    await cycleUntil(a1, t0 + 450_000, new Map([[150_000, setDesired('STOPPED')], [200_000, setDesired('STARTED')]]));
    await a1.stop(); // killed mid-period: nothing after +450 s is observed until the restart
    now = t0 + 530_000; // restarted in the same period: it continues that period's record
    const a2 = await startAgent();
    await cycleUntil(a2, t0 + 900_000);
    await a2.stop();

    const day = dayOf(t0);
    const records = (await fx.store.telemetry.usage('acct', day)).filter((u) => u.machineId === m.id && u.periodStart < t0 + 900_000);
    assert.deepEqual(records.map((u) => [(u.periodStart - t0) / 1000, u.observedSeconds]), [[0, 300], [300, 150 + 70], [600, 300]], JSON.stringify(records));
    // A duplicate write of a period (an agent resending it) changes nothing.
    await fx.store.telemetry.putUsage(records[1]!);

    const report = await tenantUsage(fx.store, { tenant: 'acct', from: t0, to: t0 + 900_000, byMachine: true });
    const hours = (s: number) => Math.round((s / 3600) * 1e6) / 1e6;
    assert.equal(report.machines, 1);
    assert.equal(report.totals.records, 3, 'no record counted twice');
    assert.equal(report.totals.observedHours, hours(820));
    assert.equal(report.totals.unobservedHours, hours(80));
    assert.deepEqual(report.totals.machineHoursByState, { STARTED: hours(770), STOPPED: hours(50) });
    assert.equal(report.totals.vcpuHours, hours(2 * 820));
    assert.equal(report.totals.gibHours, hours(820));
    const cpuSeconds = records.reduce((a, u) => a + u.cpuSeconds, 0);
    assert.equal(report.totals.cpuHoursUsed, hours(cpuSeconds));
    const [mine] = report.byMachine!;
    assert.deepEqual(mine!.gaps, [{ from: t0 + 300_000, to: t0 + 600_000, unobservedHours: hours(80) }], 'the agent\'s absence is one gap');
    // The tenants index lists the tenant for that day.
    assert.ok((await fx.store.telemetry.usageTenants(day)).includes('acct'));

    // Once the day is over (and its grace), a report over the whole day reads its daily rollup,
    // written by the first such report: the same figures as from the records.
    const dayStart = Date.parse(`${day}T00:00:00Z`);
    const whole = { tenant: 'acct', from: dayStart, to: dayStart + 86_400_000, byMachine: true, now: dayStart + 2 * 86_400_000 };
    assert.equal(await fx.store.usageDaily.get('acct', day), null, 'no rollup before a report asks for the settled day');
    const fromRecords = await tenantUsage(fx.store, { ...whole, rollups: false });
    const first = await tenantUsage(fx.store, whole);
    assert.deepEqual(first, fromRecords);
    const rolled = (await fx.store.usageDaily.get('acct', day))!;
    assert.deepEqual(rolled.map((d) => [d.machineId, d.records]), [[m.id, fromRecords.totals.records]]);
    // The next report reads the rollup, not the records: a record changed behind its back does not show.
    await fx.store.telemetry.putUsage({ ...records[0]!, cpuSeconds: records[0]!.cpuSeconds + 3600 });
    assert.deepEqual(await tenantUsage(fx.store, whole), first);
    assert.notDeepEqual(await tenantUsage(fx.store, { ...whole, rollups: false }), first);
  });
}

describe('accounting and usage reports', function () {
  onBothStores(accountingSuite);
});
