import assert from 'node:assert/strict';
import { loadFromSamples, loadNote } from '../../../placement/host-load-view.js';
import type { HostSample } from '../../../schema/types.js';

const sample = (over: Partial<HostSample> = {}): HostSample => ({
  hostId: 'h1', ts: 100_000, intervalMs: 10_000, cpus: 8, memoryKiB: 1000, guestCpuUsed: 2, guestMemoryKiB: 250, load1: null, domains: {}, machines: [], ...over,
});

describe('placement: host load from monitoring samples', () => {
  it('shares of the host: busy guest vCPUs over CPUs, guest memory over memory', () => {
    assert.deepEqual(loadFromSamples([sample()], 100_000).get('h1'), { cpu: 0.25, memory: 0.25 });
  });

  it('before two cpuTime readings the load average stands in; with neither the host is left to allocation', () => {
    assert.deepEqual(loadFromSamples([sample({ guestCpuUsed: null, load1: 4 })], 100_000).get('h1'), { cpu: 0.5, memory: 0.25 });
    assert.equal(loadFromSamples([sample({ guestCpuUsed: null, load1: null })], 100_000).has('h1'), false);
  });

  it('a sample older than three of its intervals is stale and not used; one within is', () => {
    assert.equal(loadFromSamples([sample()], 100_000 + 30_000).has('h1'), true);
    assert.equal(loadFromSamples([sample()], 100_000 + 30_001).has('h1'), false);
  });

  it('explain names the hosts weighed by allocation', () => {
    const load = loadFromSamples([sample(), sample({ hostId: 'h2', ts: 1 })], 100_000);
    assert.match(loadNote(['h1', 'h2', 'h3'], load), /^load-aware: 1 of 3 hosts weighed by their latest monitoring sample; 2 without a fresh one \(h2, h3\) weighed by allocation/);
    assert.match(loadNote(['h1'], load), /^load-aware: all 1 hosts weighed/);
  });
});
