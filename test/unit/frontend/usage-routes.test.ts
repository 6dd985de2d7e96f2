import assert from 'node:assert/strict';
import type { UsageRecord } from '../../../schema/types.js';
import { as, harness, type Harness } from './harness.js';

const P = 300;
const day0 = Date.UTC(2026, 10, 2); // 2026-11-02
const rec = (tenant: string, machineId: string, periodIndex: number, over: Partial<UsageRecord> = {}): UsageRecord => ({
  tenant, machineId, periodStart: day0 + periodIndex * P * 1000, periodSeconds: P, hostId: 'h1', state: 'STARTED', vcpus: 2, memoryKiB: 2 * 1048576,
  cpuSeconds: 30, stateSeconds: { STARTED: P }, observedSeconds: P, ...over,
});

describe('usage reports over the API', function () {
  this.timeout(20_000);
  let h: Harness;
  before(async () => {
    h = await harness();
    const put = async (r: UsageRecord) => {
      await h.store.telemetry.putUsage(r);
      await h.store.telemetry.noteUsageTenant(new Date(r.periodStart).toISOString().slice(0, 10), r.tenant);
    };
    // acme/m1: periods 0, 1, (2 missing: the agent was down), 3 half observed. acme/m2: the last
    // period of the day and the first of the next (one report over two day partitions).
    await put(rec('acme', 'm1', 0));
    await put(rec('acme', 'm1', 1, { stateSeconds: { STARTED: 200, STOPPED: 100 } }));
    await put(rec('acme', 'm1', 3, { stateSeconds: { STARTED: 150 }, observedSeconds: 150 }));
    await put(rec('acme', 'm2', 287, { vcpus: 1, memoryKiB: 1048576, cpuSeconds: 3 }));
    await put(rec('acme', 'm2', 288, { vcpus: 1, memoryKiB: 1048576, cpuSeconds: 3 }));
    await put(rec('globex', 'g1', 0, { cpuSeconds: 99 }));
  });
  after(async () => { await h.cleanup(); });

  const range = `from=2026-11-02T00:00:00Z&to=2026-11-04T00:00:00Z`;

  it('a tenant\'s report: totals, per machine with gaps where nothing or part was observed, across days', async () => {
    const res = await as(h.app, 'alice', 'get', `/api/usage?${range}&by=machine`).expect(200);
    const [r] = res.body.reports;
    assert.equal(res.body.count, 1);
    assert.equal(r.tenant, 'acme');
    assert.equal(r.machines, 2);
    const hours = (sec: number) => Math.round((sec / 3600) * 1e6) / 1e6;
    const m1 = r.byMachine.find((m: { machineId: string }) => m.machineId === 'm1');
    assert.deepEqual(m1.totals, {
      records: 3, observedHours: hours(750), unobservedHours: hours(450), machineHoursByState: { STARTED: hours(650), STOPPED: hours(100) },
      vcpuHours: hours(2 * 750), gibHours: hours(2 * 750), cpuHoursUsed: hours(90),
    });
    // The missing period 2 and the half-observed period 3 are one stretch.
    assert.deepEqual(m1.gaps, [{ from: new Date(day0 + 2 * P * 1000).toISOString(), to: new Date(day0 + 4 * P * 1000).toISOString(), unobservedHours: hours(450) }]);
    const m2 = r.byMachine.find((m: { machineId: string }) => m.machineId === 'm2');
    assert.deepEqual([m2.totals.records, m2.totals.observedHours, m2.totals.vcpuHours, m2.totals.gibHours, m2.gaps], [2, hours(600), hours(600), hours(600), []], 'consecutive across midnight: no gap');
    assert.deepEqual([r.totals.records, r.totals.observedHours, r.totals.unobservedHours, r.totals.cpuHoursUsed], [5, hours(1350), hours(450), hours(96)]);
    // The range bounds periods by their start: the first hour alone leaves m2 out.
    const early = (await as(h.app, 'alice', 'get', '/api/usage?from=2026-11-02T00:00:00Z&to=2026-11-02T01:00:00Z').expect(200)).body.reports[0];
    assert.deepEqual([early.machines, early.totals.records], [1, 3]);
  });

  it('by=day: one entry per UTC day of the range, and the days add up to the totals (the gap counted on the day the next record starts)', async () => {
    const [r] = (await as(h.app, 'alice', 'get', `/api/usage?${range}&by=day`).expect(200)).body.reports;
    assert.deepEqual(r.byDay.map((d: { day: string }) => d.day), ['2026-11-02', '2026-11-03']);
    const hours = (sec: number) => Math.round((sec / 3600) * 1e6) / 1e6;
    const [d1, d2] = r.byDay.map((d: { totals: Record<string, number> }) => d.totals);
    // Day 1: m1's three records and m2's last period of the day; day 2: m2's first period.
    assert.deepEqual([d1.records, d2.records], [4, 1]);
    assert.deepEqual([d1.unobservedHours, d2.unobservedHours], [hours(450), 0]);
    assert.deepEqual(d2.machineHoursByState, { STARTED: hours(300) });
    for (const k of ['records', 'observedHours', 'unobservedHours', 'vcpuHours', 'gibHours', 'cpuHoursUsed']) {
      assert.ok(Math.abs(d1[k] + d2[k] - r.totals[k]) < 1e-5, `${k}: ${d1[k]} + ${d2[k]} vs ${r.totals[k]}`);
    }
    // The CSV has the day rows (the day's bounds) before the tenant's total row (the report's bounds).
    const csv = (await as(h.app, 'alice', 'get', `/api/usage?${range}&by=day&format=csv`).expect(200)).text.trim().split('\r\n');
    assert.equal(csv.length, 4);
    assert.match(csv[1]!, /^acme,,2026-11-02T00:00:00\.000Z,2026-11-03T00:00:00\.000Z,4,/);
    assert.match(csv[3]!, /^acme,,2026-11-02T00:00:00\.000Z,2026-11-04T00:00:00\.000Z,5,/);
    await as(h.app, 'alice', 'get', `/api/usage?${range}&by=week`).expect(400);
  });

  it('another tenant\'s usage is refused; every tenant is for admins, who see each one', async () => {
    await as(h.app, 'alice', 'get', `/api/usage?${range}&tenant=globex`).expect(403);
    await as(h.app, 'alice', 'get', `/api/usage?${range}&tenant=*`).expect(403);
    const own = await as(h.app, 'bob', 'get', `/api/usage?${range}`).expect(200);
    assert.deepEqual(own.body.reports.map((r: { tenant: string }) => r.tenant), ['globex']);
    const all = await as(h.app, 'root', 'get', `/api/usage?${range}`).expect(200);
    assert.deepEqual(all.body.reports.map((r: { tenant: string }) => r.tenant), ['acme', 'globex']);
    const one = await as(h.app, 'root', 'get', `/api/usage?${range}&tenant=globex`).expect(200);
    assert.equal(one.body.reports[0].totals.cpuHoursUsed, Math.round((99 / 3600) * 1e6) / 1e6);
  });

  it('CSV (a download) and XML carry the same totals', async () => {
    const csv = await as(h.app, 'alice', 'get', `/api/usage?${range}&by=machine&format=csv`).expect(200);
    assert.match(csv.headers['content-type'], /^text\/csv/);
    assert.match(csv.headers['content-disposition'], /^attachment; filename="?usage-acme-2026-11-02\.csv"?$/);
    const lines = csv.text.trim().split('\r\n').map((l) => l.split(','));
    const head = lines[0]!;
    assert.deepEqual(head.slice(0, 10), ['tenant', 'machine', 'from', 'to', 'records', 'observed_hours', 'unobserved_hours', 'vcpu_hours', 'gib_hours', 'cpu_hours_used']);
    const total = lines.find((l) => l[0] === 'acme' && l[1] === '')!;
    const json = (await as(h.app, 'alice', 'get', `/api/usage?${range}`).expect(200)).body.reports[0].totals;
    assert.equal(Number(total[head.indexOf('vcpu_hours')]), json.vcpuHours);
    assert.equal(Number(total[head.indexOf('hours_STOPPED')]), json.machineHoursByState.STOPPED);
    assert.equal(lines.length, 1 + 2 + 1, 'a row per machine and the tenant total');
    const viaAccept = await as(h.app, 'alice', 'get', `/api/usage?${range}`).set('accept', 'text/csv').expect(200);
    assert.equal(viaAccept.text, (await as(h.app, 'alice', 'get', `/api/usage?${range}&format=csv`).expect(200)).text);
    const xml = await as(h.app, 'alice', 'get', `/api/usage?${range}`).set('accept', 'application/xml').expect(200);
    assert.match(xml.text, new RegExp(`<vcpuHours>${json.vcpuHours}</vcpuHours>`));
  });

  it('bad input is a 400 with a CIMI error body, never a report', async () => {
    for (const q of ['', 'from=2026-11-02', 'from=yesterday&to=2026-11-03', 'from=2026-11-03&to=2026-11-02', 'from=2020-01-01&to=2026-01-01', `${range}&by=host`, `${range}&format=pdf`, `${range}&tenant=BAD%20NAME`]) {
      const res = await as(h.app, 'alice', 'get', `/api/usage?${q}`).expect(400);
      assert.equal(typeof res.body.message, 'string', q);
      assert.doesNotMatch(res.body.message, /at .*\.js/, 'no stack trace');
    }
  });
});
