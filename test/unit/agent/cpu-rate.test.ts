/**
 * CPU rate from two cumulative cpuTime readings on the monotonic clock (hypervisor-agent/cpu-rate.ts):
 * never invented (no previous reading, a counter that went down, a restarted domain, time that did
 * not move give null), 0 for a domain that is off, capped at the domain's vCPUs.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { roundRate, vcpusBusy, type CpuReading } from '../../../hypervisor-agent/cpu-rate.js';

const reading = (cpuTimeNs: number, atMs: number, domainId: number | null = 7): CpuReading => ({ cpuTimeNs, atMs, domainId });

describe('agent: CPU rate from two cpuTime readings', () => {
  it('is the CPU time used over the elapsed monotonic time, in vCPUs', () => {
    // 15 s of CPU in 10 s: one and a half vCPUs busy.
    assert.equal(vcpusBusy(reading(5e9, 1_000), reading(20e9, 11_000), 4), 1.5);
    assert.equal(vcpusBusy(reading(0, 0), reading(0, 10_000), 2), 0, 'an idle running domain');
    assert.equal(vcpusBusy(reading(1e9, 500.25), reading(1.5e9, 1_500.25), 1), 0.5, 'fractional monotonic times');
  });

  it('the first reading of a domain is unknown, not zero', () => {
    assert.equal(vcpusBusy(undefined, reading(10e9, 1_000), 2), null);
  });

  it('a counter that went down (a reset) is unknown', () => {
    assert.equal(vcpusBusy(reading(50e9, 1_000), reading(2e9, 11_000), 2), null);
  });

  it('no elapsed time (or time going back) is unknown, never a division by zero', () => {
    assert.equal(vcpusBusy(reading(1e9, 5_000), reading(2e9, 5_000), 2), null);
    assert.equal(vcpusBusy(reading(1e9, 5_000), reading(2e9, 4_000), 2), null);
    assert.equal(vcpusBusy(reading(1e9, 5_000), reading(2e9, Number.NaN), 2), null);
  });

  it('a domain restarted between readings (another domain id) is unknown, however its counter moved', () => {
    assert.equal(vcpusBusy(reading(1e9, 0, 3), reading(9e9, 10_000, 4), 2), null);
    assert.equal(vcpusBusy(reading(1e9, 0, null), reading(9e9, 10_000, 4), 2), null, 'started since the last reading');
  });

  it('a domain that is off uses nothing, with or without a previous reading', () => {
    assert.equal(vcpusBusy(undefined, reading(9e9, 10_000, null), 2), 0);
    assert.equal(vcpusBusy(reading(1e9, 0, 3), reading(9e9, 10_000, null), 2), 0);
  });

  it('jitter above the vCPU count is capped at it', () => {
    assert.equal(vcpusBusy(reading(0, 0), reading(20.2e9, 10_000), 2), 2);
  });

  it('property: a known rate lies in [0, vcpus] and matches Δcpu / Δt', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: 0, max: 1e11 }), fc.integer({ min: 0, max: 1e7 }), fc.integer({ min: 1, max: 600_000 }), fc.integer({ min: 1, max: 64 }),
      (cpu0, used, t0, dt, vcpus) => {
        const r = vcpusBusy(reading(cpu0, t0), reading(cpu0 + used, t0 + dt), vcpus);
        assert.ok(r !== null);
        assert.ok(r >= 0 && r <= vcpus);
        assert.ok(Math.abs(r - Math.min(used / (dt * 1e6), vcpus)) < 1e-9);
      },
    ));
  });

  it('rates are stored to a thousandth of a vCPU; unknown stays unknown', () => {
    assert.equal(roundRate(1.23456), 1.235);
    assert.equal(roundRate(0.0004), 0);
    assert.equal(roundRate(null), null);
  });
});
