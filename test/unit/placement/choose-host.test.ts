import assert from 'node:assert/strict';
import fc from 'fast-check';
import { backoffMs, capacityOf, chooseHosts, ownerOf } from '../../../placement/choose-host.js';
import type { Host, MachineSpec } from '../../../schema/types.js';

const ratios = { cpuAllocationRatio: 2, ramAllocationRatio: 1 };

const hostArb = fc.record({
  id: fc.stringMatching(/^h[0-9]{1,3}$/),
  cpus: fc.integer({ min: 1, max: 64 }),
  memoryKiB: fc.integer({ min: 1024, max: 1 << 26 }),
  usedCpus: fc.integer({ min: 0, max: 128 }),
  usedMemoryKiB: fc.integer({ min: 0, max: 1 << 26 }),
  arch: fc.constantFrom('x86_64', 'aarch64'),
  zone: fc.constantFrom('a', 'b'),
  state: fc.constantFrom('ENABLED', 'DISABLED'),
}).map((h): Host => ({
  id: h.id, name: h.id, uri: 'test:///default', arch: h.arch, cpus: h.cpus, memoryKiB: h.memoryKiB, labels: { zone: h.zone },
  state: h.state as Host['state'], generation: 0, usedCpus: h.usedCpus, usedMemoryKiB: h.usedMemoryKiB, allocations: {}, registered: 0, updated: 0,
}));

const specArb = fc.record({
  cpu: fc.integer({ min: 1, max: 16 }),
  memoryKiB: fc.integer({ min: 1024, max: 1 << 24 }),
  cpuArch: fc.constantFrom('x86_64', 'aarch64'),
  zone: fc.option(fc.constantFrom('a', 'b')),
}).map((s): MachineSpec => ({ cpu: s.cpu, memoryKiB: s.memoryKiB, cpuArch: s.cpuArch, image: null, disks: [], userData: null, requirements: s.zone ? { zone: s.zone } : {} }));

describe('placement: choosing hosts', () => {
  it('every candidate passes every filter, and no fitting host is left out', () => {
    fc.assert(fc.property(fc.uniqueArray(hostArb, { selector: (h) => h.id, maxLength: 12 }), specArb, fc.constantFrom('packing', 'striping'), fc.func(fc.boolean()), (hosts, spec, policy, aliveFn) => {
      const alive = new Set(hosts.filter((h) => aliveFn(h.id)).map((h) => h.id));
      const { candidates, reason } = chooseHosts(spec, hosts, alive, policy as 'packing' | 'striping', ratios);
      const ok = (h: Host) => alive.has(h.id) && h.state === 'ENABLED' && h.arch === spec.cpuArch
        && Object.entries(spec.requirements).every(([k, v]) => h.labels[k] === v)
        && h.usedCpus + spec.cpu <= capacityOf(h, ratios).cpus && h.usedMemoryKiB + spec.memoryKiB <= capacityOf(h, ratios).memoryKiB;
      assert.deepEqual(new Set(candidates.map((h) => h.id)), new Set(hosts.filter(ok).map((h) => h.id)));
      assert.equal(reason === null, candidates.length > 0);
    }), { numRuns: 500 });
  });

  it('packing puts the fullest host first, striping the emptiest', () => {
    const mk = (id: string, used: number): Host => ({ id, name: id, uri: '', arch: 'x86_64', cpus: 4, memoryKiB: 1 << 20, labels: {}, state: 'ENABLED', generation: 0, usedCpus: used, usedMemoryKiB: 0, allocations: {}, registered: 0, updated: 0 });
    const hosts = [mk('a', 1), mk('b', 5), mk('c', 3)];
    const spec: MachineSpec = { cpu: 1, memoryKiB: 1024, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} };
    const alive = new Set(['a', 'b', 'c']);
    assert.deepEqual(chooseHosts(spec, hosts, alive, 'packing', ratios).candidates.map((h) => h.id), ['b', 'c', 'a']);
    assert.deepEqual(chooseHosts(spec, hosts, alive, 'striping', ratios).candidates.map((h) => h.id), ['a', 'c', 'b']);
  });

  it('says why nothing fits', () => {
    const h: Host = { id: 'a', name: 'a', uri: '', arch: 'x86_64', cpus: 1, memoryKiB: 1024, labels: {}, state: 'ENABLED', generation: 0, usedCpus: 0, usedMemoryKiB: 0, allocations: {}, registered: 0, updated: 0 };
    const spec: MachineSpec = { cpu: 8, memoryKiB: 512, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} };
    assert.match(chooseHosts(spec, [h], new Set(['a']), 'packing', ratios).reason!, /1 without 8 free CPUs/);
    assert.match(chooseHosts(spec, [h], new Set(), 'packing', ratios).reason!, /1 not alive/);
    assert.equal(chooseHosts(spec, [], new Set(), 'packing', ratios).reason, 'no hosts registered');
  });

  it('back-off grows exponentially up to its cap', () => {
    assert.deepEqual([1, 2, 3, 4, 10].map((a) => backoffMs(a, 100, 1000)), [100, 200, 400, 800, 1000]);
  });

  it('each machine has exactly one owner among the placers, stable for a given set', () => {
    fc.assert(fc.property(fc.uuid(), fc.uniqueArray(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 5 }), (id, placers) => {
      const o = ownerOf(id, placers);
      assert.ok(o !== null && placers.includes(o));
      assert.equal(ownerOf(id, [...placers].reverse()), o);
    }));
  });
});
