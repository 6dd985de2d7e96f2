/** The host monitor's Prometheus histograms: each interval, and each bus write by table and outcome. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfig } from '../../../hypervisor-agent/config.js';
import { HostMonitor } from '../../../hypervisor-agent/host-monitor.js';
import { LibvirtCallGuard } from '../../../hypervisor-agent/libvirt-call-guard.js';
import { silentLogger } from '../../../observability/logger.js';
import { SkybusMetrics } from '../../../observability/metrics.js';
import { openStore, type BusStore } from '../../../schema/bus-store.js';

describe('agent: host monitor metrics', function () {
  this.timeout(20_000);
  let dir: string;
  let store: BusStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skybus-monitor-metrics-'));
    store = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
  });
  afterEach(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });

  const count = async (m: SkybusMetrics, name: string, labels: Record<string, string>) => {
    const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name)!;
    const v = (metric.values as { metricName?: string; labels: Record<string, unknown>; value: number }[])
      .find((x) => x.metricName === `${name}_count` && Object.entries(labels).every(([k, l]) => x.labels[k] === l));
    return v?.value ?? 0;
  };

  it('observes the interval and the writes to host_samples and host_latest (errors as outcome=error)', async () => {
    const metrics = new SkybusMetrics();
    const config = agentConfig({ hostId: 'h1', libvirtUri: 'test:///default', workDir: join(dir, 'work') });
    const log = silentLogger();
    const monitor = new HostMonitor({
      store, config, log, metrics, now: Date.now, mayWrite: () => true, loadAverage: () => null,
      calls: new LibvirtCallGuard('h1', 5_000, log),
      host: { nodeInfo: async () => ({ cpus: 4, memoryKiB: 4194304, arch: 'x86_64', model: 'x', hostname: 'h1' }), listDomains: async () => [] },
    });
    const tick = await monitor.tick();
    assert.equal(tick.latestWritten, true);
    assert.equal(await count(metrics, 'skybus_agent_sample_seconds', { host: 'h1' }), 1);
    assert.equal(await count(metrics, 'skybus_bus_write_seconds', { table: 'host_samples', outcome: 'ok' }), 1);
    assert.equal(await count(metrics, 'skybus_bus_write_seconds', { table: 'host_latest', outcome: 'ok' }), 1);
    // A failing bus write is still timed, as an error.
    store.monitoring.putLatest = async () => { throw new Error('bus down'); };
    await monitor.tick();
    assert.equal(await count(metrics, 'skybus_bus_write_seconds', { table: 'host_latest', outcome: 'error' }), 1);
    assert.equal(await count(metrics, 'skybus_agent_sample_seconds', { host: 'h1' }), 2);
  });
});
