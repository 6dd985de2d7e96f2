/**
 * The claim-and-bind protocol under random races and faults (fast-check, fixed seed), on the
 * embedded store: 2-4 placers, each on its own view of the bus whose every call is delayed by a
 * random number of event-loop turns (so their steps interleave differently in every run), and
 * whose writes fail at random for a while (a placer dying half-way through a batch). After every
 * round no host is over capacity and its allocations add up to its usage; once the faults stop
 * and the placers settle, every machine is bound at most once, holds exactly one allocation, on
 * the host it is bound to (and none when unbound), its binding row agrees, and a machine left
 * unplaced fits on no host.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UnavailableError } from '../../../errors/registry.js';
import { silentLogger } from '../../../observability/logger.js';
import { SkybusMetrics } from '../../../observability/metrics.js';
import { placementConfig } from '../../../placement/config.js';
import { Placer } from '../../../placement/placer.js';
import { BusStore } from '../../../schema/bus-store.js';
import type { TableDriver } from '../../../schema/table-driver.js';
import type { MachineSpec } from '../../../schema/types.js';
import { embeddedFixture } from '../../helpers/stores.js';

const WRITES = new Set(['put', 'putAll', 'cas', 'casInsertAll', 'remove']);
const CALLS = new Set([...WRITES, 'get', 'select', 'scan']);

/** A view of the driver whose calls yield a random number of turns first, and whose writes may fail. */
function jitteryView(driver: TableDriver, seed: number, faults: { on: boolean; rate: number }): BusStore {
  let x = seed >>> 0 || 1;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
  const view = new Proxy(driver, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      if (prop === 'close') return async () => undefined;
      if (!CALLS.has(String(prop))) return v.bind(target);
      return async (...args: unknown[]) => {
        for (let i = Math.floor(rnd() * 4); i > 0; i--) await new Promise((r) => setImmediate(r));
        if (faults.on && WRITES.has(String(prop)) && rnd() < faults.rate) throw new UnavailableError('injected fault');
        return v.apply(target, args);
      };
    },
  });
  return new BusStore(view);
}

const scenario = fc.record({
  hosts: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
  machines: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 1, maxLength: 12 }),
  placers: fc.integer({ min: 2, max: 4 }),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  faultRate: fc.constantFrom(0, 0.05, 0.2),
  takeover: fc.boolean(),
});

describe('claim protocol: racing placers with random interleavings and faults', function () {
  it('never over capacity; after faults stop, each machine bound once with exactly one allocation where it is bound', async function () {
    this.timeout(300_000);
    await fc.assert(fc.asyncProperty(scenario, async (sc) => {
      const fx = await embeddedFixture();
      const faults = { on: true, rate: sc.faultRate };
      try {
        const { store } = fx;
        for (const [i, cpus] of sc.hosts.entries()) {
          await store.hosts.register({ id: `h${i}`, name: `h${i}`, uri: 'test:///default', arch: 'x86_64', cpus, memoryKiB: 1 << 24, labels: {} });
          await store.hosts.acquireLease(`h${i}`, 'test', 600);
        }
        const spec = (cpu: number): MachineSpec => ({ cpu, memoryKiB: 1024, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} });
        const ids: string[] = [];
        for (const [i, cpu] of sc.machines.entries()) ids.push((await store.machines.create({ tenant: 't', name: `m${i}`, spec: spec(cpu), desiredState: 'STARTED' })).id);
        const cfg = { cpuAllocationRatio: 1, ramAllocationRatio: 1, backoffBaseMs: 1, backoffMaxMs: 1, fullResyncMs: 1 };
        const ps = Array.from({ length: sc.placers }, (_, i) => new Placer({
          store: jitteryView(store.driver, sc.seed + i * 7919, faults), log: silentLogger(), metrics: new SkybusMetrics(),
          config: placementConfig({ ...cfg, instanceId: `p${i}` }),
        }));
        // With takeover every placer takes every machine (the worst case); without, each its own.
        let t = Date.now() + (sc.takeover ? 60_000 : 0);
        const checkCapacity = async (when: string) => {
          for (const h of await store.hosts.list()) {
            assert.ok(h.usedCpus <= h.cpus, `${when}: ${h.id} over capacity (${h.usedCpus} > ${h.cpus})`);
            assert.equal(Object.values(h.allocations).reduce((a, x) => a + x.cpus, 0), h.usedCpus, `${when}: ${h.id} allocations and usage disagree`);
          }
        };
        for (let round = 0; round < 6; round++) {
          await Promise.all(ps.map((p) => p.runOnce(t += 25).catch(() => undefined)));
          await checkCapacity(`faulty round ${round}`);
        }
        faults.on = false;
        // Settling: past the membership refresh and the takeover time, so views of the placer list
        // agree and no machine waits for an owner that saw a different list.
        t += 25_000;
        for (let round = 0; round < 6; round++) {
          await Promise.all(ps.map((p) => p.runOnce(t += 25)));
          await checkCapacity(`round ${round}`);
        }
        const hosts = await store.hosts.list();
        const where = new Map<string, string[]>();
        for (const h of hosts) for (const mid of Object.keys(h.allocations)) where.set(mid, [...(where.get(mid) ?? []), h.id]);
        for (const [i, id] of ids.entries()) {
          const m = (await store.machines.get(id))!;
          const held = where.get(id) ?? [];
          if (m.hostId) {
            assert.deepEqual(held, [m.hostId], `machine ${i} bound to ${m.hostId} but allocated on ${JSON.stringify(held)}`);
            assert.equal((await store.machines.bindings.get(id, m.created))?.hostId, m.hostId);
          } else {
            assert.deepEqual(held, [], `unbound machine ${i} holds capacity on ${JSON.stringify(held)}`);
            const fitsSomewhere = hosts.some((h) => h.cpus - h.usedCpus >= sc.machines[i]!);
            assert.ok(!fitsSomewhere, `machine ${i} (${sc.machines[i]} CPU) left unplaced while a host has room`);
          }
        }
        for (const p of ps) await p.stop();
      } finally {
        await fx.cleanup();
      }
    }), { numRuns: 40, seed: 11 });
  });
});
