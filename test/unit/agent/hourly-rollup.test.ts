/**
 * Hourly rollups from an hour's stored samples (hypervisor-agent/hourly-rollup.ts): min/avg/max of
 * the host's and each machine's figures, exact over known values, unknown values left out, samples
 * of other hours ignored, and the same samples in any order giving the same rollup (a restarted agent
 * recomputes and rewrites the same key with the same values).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { rollupHour, summarize } from '../../../hypervisor-agent/hourly-rollup.js';
import { freshness } from '../../../schema/store/monitoring.js';
import type { HostSample, MachineSample } from '../../../schema/types.js';

const HOUR = 3_600_000;
const hour = 494_000;
const at = (s: number) => hour * HOUR + s * 1000;

function m(id: string, cpuUsed: number | null, memoryKiB: number): MachineSample {
  return { machineId: id, state: 'running', vcpus: 2, cpuUsed, memoryKiB, maxMemoryKiB: 1_048_576 };
}

function s(ts: number, over: Partial<HostSample> = {}): HostSample {
  return { hostId: 'h1', ts, intervalMs: 10_000, cpus: 8, memoryKiB: 16_000_000, guestCpuUsed: 1, guestMemoryKiB: 1000, load1: null, domains: {}, machines: [], ...over };
}

describe('agent: hourly rollup', () => {
  it('summarize gives exact min, max and the mean to a thousandth; nothing for no values', () => {
    assert.deepEqual(summarize([3, 1, 2]), { min: 1, avg: 2, max: 3 });
    assert.deepEqual(summarize([0.1, 0.2]), { min: 0.1, avg: 0.15, max: 0.2 });
    assert.deepEqual(summarize([1, 1, 2]), { min: 1, avg: 1.333, max: 2 });
    assert.deepEqual(summarize([5]), { min: 5, avg: 5, max: 5 });
    assert.equal(summarize([]), null);
  });

  it("min/avg/max of the host's and each machine's figures over the hour's samples, unknown values left out", () => {
    const samples = [
      s(at(0), { guestCpuUsed: null, guestMemoryKiB: 1000, load1: 0.5, machines: [m('m-a', null, 100), m('m-b', 0.5, 400)] }),
      s(at(10), { guestCpuUsed: 2, guestMemoryKiB: 3000, load1: null, machines: [m('m-a', 1, 300)] }),
      s(at(20), { guestCpuUsed: 1, guestMemoryKiB: 2000, load1: 1.5, cpus: 16, memoryKiB: 32_000_000, machines: [m('m-a', 2, 200), m('m-b', null, 600)] }),
      s(at(-10), { guestCpuUsed: 100, guestMemoryKiB: 99_999, machines: [m('m-z', 9, 9)] }), // the hour before
      s(at(3600), { guestCpuUsed: 100, machines: [m('m-z', 9, 9)] }), // the hour after
    ];
    assert.deepEqual(rollupHour('h1', hour, samples), {
      hostId: 'h1', hour, samples: 3, firstTs: at(0), lastTs: at(20), cpus: 16, memoryKiB: 32_000_000,
      guestCpuUsed: { min: 1, avg: 1.5, max: 2 },
      guestMemoryKiB: { min: 1000, avg: 2000, max: 3000 },
      load1: { min: 0.5, avg: 1, max: 1.5 },
      machines: [
        { machineId: 'm-a', samples: 3, cpuUsed: { min: 1, avg: 1.5, max: 2 }, memoryKiB: { min: 100, avg: 200, max: 300 } },
        { machineId: 'm-b', samples: 2, cpuUsed: { min: 0.5, avg: 0.5, max: 0.5 }, memoryKiB: { min: 400, avg: 500, max: 600 } },
      ],
    });
  });

  it('no samples in the hour is no rollup; rates never known are null', () => {
    assert.equal(rollupHour('h1', hour, [s(at(-1)), s(at(3600))]), null);
    const r = rollupHour('h1', hour, [s(at(5), { guestCpuUsed: null, machines: [m('m-a', null, 1)] })]);
    assert.equal(r?.guestCpuUsed, null);
    assert.equal(r?.load1, null);
    assert.equal(r?.machines[0]?.cpuUsed, null);
  });

  it('a recomputation from the same samples (a restarted agent, rows read newest first) gives the same key and values', () => {
    const samples = Array.from({ length: 360 }, (_, i) => s(at(i * 10), {
      guestCpuUsed: (i * 37) % 11 / 7, guestMemoryKiB: 1000 + ((i * 13) % 17), load1: i % 5 === 0 ? null : i / 100,
      machines: [m('m-b', i === 0 ? null : ((i * 7) % 3) / 3, 500 + i), ...(i % 2 ? [m('m-a', 0.25, 42)] : [])],
    }));
    const first = rollupHour('h1', hour, samples);
    const again = rollupHour('h1', hour, [...samples].reverse());
    assert.ok(first);
    assert.deepEqual(again, first);
    assert.equal(again?.hour, hour);
    assert.equal(again?.hostId, 'h1');
  });

  it('property: avg lies between min and max, min and max are the extremes, order does not matter', () => {
    const value = fc.double({ min: 0, max: 1e6, noNaN: true });
    fc.assert(fc.property(fc.array(value, { minLength: 1, maxLength: 200 }), (vs) => {
      const r = summarize(vs)!;
      assert.ok(r.min <= r.avg && r.avg <= r.max, JSON.stringify(r));
      assert.equal(r.min, Math.min(...vs));
      assert.equal(r.max, Math.max(...vs));
    }));
    fc.assert(fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 359 }), { minLength: 1, maxLength: 60 }),
      fc.array(fc.option(fc.double({ min: 0, max: 64, noNaN: true }), { nil: null }), { minLength: 60, maxLength: 60 }),
      (slots, cpus) => {
        const samples = slots.map((slot, i) => s(at(slot * 10), { guestCpuUsed: cpus[i]!, machines: [m('m-a', cpus[i]!, 100 + slot)] }));
        const r = rollupHour('h1', hour, samples)!;
        assert.equal(r.samples, slots.length);
        assert.equal(r.machines[0]?.samples, slots.length);
        for (const t of [r.guestCpuUsed, r.machines[0]!.cpuUsed, r.guestMemoryKiB, r.machines[0]!.memoryKiB]) if (t) assert.ok(t.min <= t.avg && t.avg <= t.max);
        assert.deepEqual(rollupHour('h1', hour, [...samples].reverse()), r);
      },
    ));
  });

  it('a sample is stale past three of its intervals, by its own time', () => {
    assert.deepEqual(freshness({ ts: 1_000, intervalMs: 10_000 }, 31_000), { ageMs: 30_000, stale: false });
    assert.deepEqual(freshness({ ts: 1_000, intervalMs: 10_000 }, 31_001), { ageMs: 30_001, stale: true });
  });
});
