/**
 * Issue 12, "Exposing it" (docs/monitoring-api.md): a machine's latest sample inline (stale when old
 * or when its host is not up; one host_latest read per distinct host per collection request), the
 * metrics ranges of machines and hosts, the hosts' lease holder, heartbeat, agent version, enable and
 * disable, and the fleet gauges on /metrics, read from the bus once per interval.
 */
import assert from 'node:assert/strict';
import { hostLivenessPolicy } from '../../../schema/host-health.js';
import { HOUR_MS } from '../../../schema/store/monitoring.js';
import type { HostSample, Machine, MachineSample } from '../../../schema/types.js';
import { as, harness, spec, type Harness } from './harness.js';

const liveness = hostLivenessPolicy({ downAfterMs: 5_000, fenceBudgetMs: 1_000, clockSkewMs: 500 });
const INTERVAL = 10_000;

function sample(hostId: string, ts: number, machines: MachineSample[]): HostSample {
  return {
    hostId, ts, intervalMs: INTERVAL, cpus: 8, memoryKiB: 8 * 1048576, guestCpuUsed: 1.5, guestMemoryKiB: 2 * 1048576, load1: 0.75,
    domains: { running: machines.length }, machines,
  };
}
const entry = (machineId: string, cpuUsed: number | null = 0.5): MachineSample => ({ machineId, state: 'running', vcpus: 1, cpuUsed, memoryKiB: 1048576, maxMemoryKiB: 1048576 });

describe('frontend API: monitoring (latest samples, metrics ranges, hosts, fleet gauges)', function () {
  this.timeout(20_000);
  let h: Harness;
  beforeEach(async () => { h = await harness({ hostLiveness: liveness }); });
  afterEach(async () => { await h.cleanup(); });

  async function host(id: string, opts: { heartbeatAgoMs?: number; lease?: boolean } = {}) {
    await h.store.hosts.register({ id, name: id, uri: 'test:///default', arch: 'x86_64', cpus: 8, memoryKiB: 8 * 1048576, labels: {} });
    if (opts.lease !== false) assert.ok(await h.store.hosts.acquireLease(id, `agent-${id}`, 30));
    await h.store.hosts.heartbeat({ hostId: id, holder: `agent-${id}`, renewed: Date.now() - (opts.heartbeatAgoMs ?? 0), fenceAfterMs: 2_000, fencedAt: null });
  }
  async function machineOn(hostId: string | null, tenant = 'acme'): Promise<Machine> {
    const m = await h.store.machines.create({ tenant, name: 'm', spec: spec(), desiredState: 'STARTED' });
    if (hostId) {
      assert.ok(await h.store.machines.assignHost(m.id, hostId));
      await h.store.machines.setStatus(m.id, { state: 'STARTED', observedGeneration: 1, observedRestartSeq: 0, converged: true, error: null, hostId, updatedAt: Date.now() });
    }
    return (await h.store.machines.get(m.id))!;
  }

  it('a machine shows its entry of its host\'s latest sample; none without a host; stale when old, or when the host is down', async () => {
    await host('h1');
    const m = await machineOn('h1');
    const unplaced = await machineOn(null);
    const now = Date.now();
    await h.store.monitoring.putLatest(sample('h1', now - 2_000, [entry(m.id, 0.25)]));
    const v = (await as(h.app, 'alice', 'get', `/api/machines/${m.id}`).expect(200)).body;
    assert.equal(v.latestSample.cpuUsed, 0.25);
    assert.equal(v.latestSample.memory, 1048576);
    assert.equal(v.latestSample.state, 'running');
    assert.equal(v.latestSample.stale, false);
    assert.ok(v.latestSample.ageSeconds >= 1 && v.latestSample.ageSeconds < 60);
    assert.equal(v.latestSample.timestamp, new Date(now - 2_000).toISOString());
    assert.equal(v.metrics.href.endsWith(`/api/machines/${m.id}/metrics`), true);
    const u = (await as(h.app, 'alice', 'get', `/api/machines/${unplaced.id}`).expect(200)).body;
    assert.equal(u.latestSample, undefined);

    // Older than three intervals: stale, with its own time kept.
    await h.store.monitoring.putLatest(sample('h1', now - 4 * INTERVAL, [entry(m.id)]));
    const old = (await as(h.app, 'alice', 'get', `/api/machines/${m.id}`).expect(200)).body;
    assert.equal(old.latestSample.stale, true);
    assert.equal(old.latestSample.timestamp, new Date(now - 4 * INTERVAL).toISOString());
    // A null rate stays null (nothing invented).
    await h.store.monitoring.putLatest(sample('h1', Date.now(), [entry(m.id, null)]));
    assert.equal((await as(h.app, 'alice', 'get', `/api/machines/${m.id}`).expect(200)).body.latestSample.cpuUsed, null);
    // XML carries it too (a null rate as an absent element, as CIMI XML does for nulls).
    const xml = await as(h.app, 'alice', 'get', `/api/machines/${m.id}`).set('Accept', 'application/xml').expect(200);
    assert.match(xml.text, /<latestSample>[\s\S]*<state>running<\/state>[\s\S]*<\/latestSample>/);
    await h.store.monitoring.putSample(sample('h1', Date.now(), [entry(m.id, null)]));
    const xmlRange = await as(h.app, 'alice', 'get', `/api/machines/${m.id}/metrics`).set('Accept', 'application/xml').expect(200);
    assert.match(xmlRange.text, /<MachineMetrics[^>]*>/);
  });

  it('a fresh sample of a host that is down is stale all the same (the host health wins)', async () => {
    await host('h2', { heartbeatAgoMs: 60_000, lease: false });
    const m = await machineOn('h2');
    await h.store.monitoring.putLatest(sample('h2', Date.now(), [entry(m.id)]));
    const v = (await as(h.app, 'alice', 'get', `/api/machines/${m.id}`).expect(200)).body;
    assert.notEqual(v.hostHealth, 'up');
    assert.equal(v.latestSample.stale, true);
  });

  it('a collection reads each distinct host\'s latest once, and never scans host_latest', async () => {
    await host('h1');
    await host('h2');
    const ms = [await machineOn('h1'), await machineOn('h1'), await machineOn('h1'), await machineOn('h2'), await machineOn(null)];
    const now = Date.now();
    await h.store.monitoring.putLatest(sample('h1', now, ms.slice(0, 3).map((m) => entry(m.id))));
    await h.store.monitoring.putLatest(sample('h2', now, [entry(ms[3]!.id)]));
    const reads: string[] = [];
    const mon = h.store.monitoring;
    const latest = mon.latest.bind(mon);
    mon.latest = (id: string) => { reads.push(id); return latest(id); };
    mon.latestAll = () => { throw new Error('a machine collection must not scan host_latest'); };
    mon.latestPage = () => { throw new Error('a machine collection must not scan host_latest'); };
    const body = (await as(h.app, 'alice', 'get', '/api/machines').expect(200)).body;
    assert.equal(body.machines.length, 5);
    assert.deepEqual(reads.sort(), ['h1', 'h2']);
    assert.equal(body.machines.filter((x: { latestSample?: unknown }) => x.latestSample).length, 4);
  });

  it('GET /machines/:id/metrics: the tenant\'s samples, paged; hourly rollups; another tenant gets a 404; bad queries a 400 with a CIMI error', async () => {
    await host('h1');
    const m = await machineOn('h1');
    const other = await machineOn('h1', 'globex');
    const t0 = Date.now() - 30 * 60_000;
    for (let i = 0; i < 5; i++) await h.store.monitoring.putSample(sample('h1', t0 + i * INTERVAL, [entry(m.id, i / 10), entry(other.id)]));
    const all = (await as(h.app, 'alice', 'get', `/api/machines/${m.id}/metrics?from=${new Date(t0 - 1000).toISOString()}`).expect(200)).body;
    assert.equal(all.resourceURI, 'urn:skybus:cimi-extensions:1/MachineMetrics');
    assert.equal(all.count, 5);
    assert.deepEqual(all.samples.map((s: { cpuUsed: number }) => s.cpuUsed), [0.4, 0.3, 0.2, 0.1, 0]); // newest first
    assert.equal(all.samples[0].timestamp, new Date(t0 + 4 * INTERVAL).toISOString());
    // Paged: limit 2 gives a next link that continues where it stopped.
    const first = (await as(h.app, 'alice', 'get', `/api/machines/${m.id}/metrics?from=${t0 - 1000}&limit=2`).expect(200)).body;
    assert.equal(first.count, 2);
    assert.ok(first.next?.href);
    const nextPath = new URL(first.next.href, 'http://x').pathname + new URL(first.next.href, 'http://x').search;
    const second = (await as(h.app, 'alice', 'get', nextPath).expect(200)).body;
    assert.deepEqual(second.samples.map((s: { cpuUsed: number }) => s.cpuUsed), [0.2, 0.1]);
    // Admins read any machine's; another tenant gets exactly the 404 of a missing machine.
    assert.equal((await as(h.app, 'root', 'get', `/api/machines/${m.id}/metrics?from=${t0 - 1000}`).expect(200)).body.count, 5);
    const theirs = await as(h.app, 'bob', 'get', `/api/machines/${m.id}/metrics`).expect(404);
    const missing = await as(h.app, 'bob', 'get', '/api/machines/01a00000-0000-7000-8000-000000000000/metrics').expect(404);
    assert.equal(theirs.body.message.replace(m.id, 'X'), missing.body.message.replace('01a00000-0000-7000-8000-000000000000', 'X'));
    // Hourly rollups of the machine.
    const hour = Math.floor(t0 / HOUR_MS);
    await h.store.monitoring.putRollup({
      hostId: 'h1', hour, samples: 5, firstTs: t0, lastTs: t0 + 4 * INTERVAL, cpus: 8, memoryKiB: 8 * 1048576,
      guestCpuUsed: { min: 0, avg: 1, max: 2 }, guestMemoryKiB: { min: 1, avg: 1, max: 1 }, load1: null,
      machines: [{ machineId: m.id, samples: 5, cpuUsed: { min: 0, avg: 0.2, max: 0.4 }, memoryKiB: { min: 1048576, avg: 1048576, max: 1048576 } }],
    });
    const hourly = (await as(h.app, 'alice', 'get', `/api/machines/${m.id}/metrics?resolution=hour&from=${(hour - 1) * HOUR_MS}&to=${(hour + 2) * HOUR_MS}`).expect(200)).body;
    assert.equal(hourly.resolution, 'hour');
    assert.equal(hourly.count, 1);
    assert.deepEqual(hourly.samples[0].cpuUsed, { min: 0, avg: 0.2, max: 0.4 });
    // Bad input: 400 with a CIMI error body, nothing internal in it.
    for (const q of ['from=yesterday', 'from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', `from=${Date.now() - 72 * HOUR_MS}`, 'resolution=minute', 'limit=0', 'bogus=1', 'resolution=hour&page=1:']) {
      const bad = await as(h.app, 'alice', 'get', `/api/machines/${m.id}/metrics?${q}`).expect(400);
      assert.equal(bad.body.resourceURI, 'http://schemas.dmtf.org/cimi/1/Error', q);
      assert.doesNotMatch(JSON.stringify(bad.body), /at \w+ \(|\.js:\d+/, q);
    }
    // 72 hours is fine in hourly rollups.
    await as(h.app, 'alice', 'get', `/api/machines/${m.id}/metrics?resolution=hour&from=${Date.now() - 72 * HOUR_MS}`).expect(200);
  });

  it('hosts: use in the view (latest sample), lease holder, last heartbeat, agent version; enable and disable; metrics; admins only', async () => {
    await host('h1');
    const now = Date.now();
    await h.store.monitoring.putLatest(sample('h1', now, []));
    await h.store.monitoring.putSample(sample('h1', now, []));
    await h.store.services.announce({ role: 'agent', instanceId: 'agent-h1', address: 'h1', started: now, lastSeen: now, info: { hostId: 'h1', version: '0.1.0' } }, 60);
    const post = (user: string, path: string) => as(h.app, user, 'post', path).set('Content-Type', 'application/json').send({});
    const v = (await as(h.app, 'root', 'get', '/api/hosts/h1').expect(200)).body;
    assert.equal(v.leaseHolder, 'agent-h1');
    assert.ok(v.lastHeartbeat);
    assert.equal(v.agentVersion, '0.1.0');
    assert.equal(v.latestSample.cpuUsed, 1.5);
    assert.equal(v.latestSample.memoryUsed, 2 * 1048576);
    assert.equal(v.latestSample.load1, 0.75);
    assert.equal(v.latestSample.stale, false);
    const list = (await as(h.app, 'root', 'get', '/api/hosts').expect(200)).body;
    assert.equal(list.hosts[0].agentVersion, '0.1.0');
    assert.equal(list.hosts[0].latestSample.load1, 0.75);

    const disabled = (await post('root', '/api/hosts/h1/disable').expect(200)).body;
    assert.equal(disabled.state, 'DISABLED');
    assert.equal((await h.store.hosts.get('h1'))!.state, 'DISABLED');
    assert.equal((await post('root', '/api/hosts/h1/enable').expect(200)).body.state, 'ENABLED');
    await post('root', '/api/hosts/nope/enable').expect(404);
    const bad = await post('root', `/api/hosts/${'x'.repeat(300)}/disable`).expect(400);
    assert.equal(bad.body.resourceURI, 'http://schemas.dmtf.org/cimi/1/Error');
    await post('alice', '/api/hosts/h1/disable').expect(403);
    assert.equal((await h.store.hosts.get('h1'))!.state, 'ENABLED');

    const metrics = (await as(h.app, 'root', 'get', '/api/hosts/h1/metrics').expect(200)).body;
    assert.equal(metrics.count, 1);
    assert.equal(metrics.samples[0].load1, 0.75);
    await as(h.app, 'alice', 'get', '/api/hosts/h1/metrics').expect(403);
    await as(h.app, 'root', 'get', '/api/hosts/nope/metrics').expect(404);
    await as(h.app, 'root', 'get', '/api/hosts/h1/metrics?to=soon').expect(400);
  });
});
