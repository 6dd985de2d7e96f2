/** The fleet gauges on /metrics (frontend/fleet-gauges.ts): figures from the bus, read once per min interval, not per scrape. */
import assert from 'node:assert/strict';
import { hostLivenessPolicy } from '../../../schema/host-health.js';
import { as, harness, type Harness } from './harness.js';

const liveness = hostLivenessPolicy({ downAfterMs: 5_000, fenceBudgetMs: 1_000, clockSkewMs: 500 });

describe('frontend: fleet gauges on /metrics', function () {
  this.timeout(20_000);
  let h: Harness;
  afterEach(async () => { await h.cleanup(); });

  async function fleet() {
    const now = Date.now();
    await h.store.hosts.register({ id: 'h1', name: 'h1', uri: 'test:///default', arch: 'x86_64', cpus: 8, memoryKiB: 8 * 1048576, labels: {} });
    await h.store.hosts.register({ id: 'h2', name: 'h2', uri: 'test:///default', arch: 'x86_64', cpus: 8, memoryKiB: 8 * 1048576, labels: {} });
    assert.ok(await h.store.hosts.acquireLease('h1', 'agent-h1', 30));
    await h.store.hosts.heartbeat({ hostId: 'h1', holder: 'agent-h1', renewed: now, fenceAfterMs: 2_000, fencedAt: null });
    await h.store.hosts.setState('h2', 'DISABLED');
    const base = { hostId: 'h1', ts: now, intervalMs: 10_000, cpus: 8, memoryKiB: 1, guestCpuUsed: 0, guestMemoryKiB: 0, load1: null, domains: {} };
    const m = (id: string, state: string) => ({ machineId: id, state, vcpus: 1, cpuUsed: 0, memoryKiB: 1, maxMemoryKiB: 1 });
    await h.store.monitoring.putLatest({ ...base, machines: [m('a', 'running'), m('b', 'running'), m('c', 'shutoff')] });
    // h2 has no lease (not up): its machines are not counted as in any current state.
    await h.store.monitoring.putLatest({ ...base, hostId: 'h2', machines: [m('d', 'running')] });
  }

  /** The scrape's sample lines of one metric, without HELP/TYPE. */
  const lines = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`)).sort();

  it('hosts by health and state, machines by sampled state; two scrapes inside the interval read the bus once', async () => {
    h = await harness({ hostLiveness: liveness, fleetGaugesMinIntervalMs: 60_000 });
    await fleet();
    let reads = 0;
    const hosts = h.store.hosts;
    const list = hosts.list.bind(hosts);
    hosts.list = () => { reads++; return list(); };
    const first = (await as(h.app, 'root', 'get', '/metrics').expect(200)).text;
    assert.deepEqual(lines(first, 'skybus_fleet_hosts'), ['skybus_fleet_hosts{health="unreachable",state="DISABLED"} 1', 'skybus_fleet_hosts{health="up",state="ENABLED"} 1'].sort());
    assert.deepEqual(lines(first, 'skybus_fleet_machines'), ['skybus_fleet_machines{state="running"} 2', 'skybus_fleet_machines{state="shutoff"} 1', 'skybus_fleet_machines{state="unknown"} 1'].sort());
    assert.equal(reads, 1);
    // A change on the bus inside the interval: the second scrape shows the cached figures, no new read.
    await h.store.hosts.setState('h1', 'DISABLED');
    const second = (await as(h.app, 'root', 'get', '/metrics').expect(200)).text;
    assert.equal(reads, 1);
    assert.deepEqual(lines(second, 'skybus_fleet_hosts'), lines(first, 'skybus_fleet_hosts'));
    // The monitoring histograms are declared on the same registry.
    assert.match(second, /# TYPE skybus_agent_sample_seconds histogram/);
    assert.match(second, /# TYPE skybus_bus_write_seconds histogram/);
  });

  it('once the interval has passed, a scrape reads the bus again', async () => {
    h = await harness({ hostLiveness: liveness, fleetGaugesMinIntervalMs: 1 });
    await fleet();
    await as(h.app, 'root', 'get', '/metrics').expect(200);
    await h.store.hosts.setState('h1', 'DISABLED');
    await new Promise((r) => setTimeout(r, 20));
    const text = (await as(h.app, 'root', 'get', '/metrics').expect(200)).text;
    assert.ok(lines(text, 'skybus_fleet_hosts').includes('skybus_fleet_hosts{health="up",state="DISABLED"} 1'));
  });
});
