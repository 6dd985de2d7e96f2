/**
 * Placement invariants under operator policies (fast-check, fixed seeds): whatever the policy (weigher,
 * ratios, host groups, per-host limits) and the fleet, every candidate passes every filter with the
 * ratios of its own host group, no host that passes is left out, the verdicts explain gives agree with
 * the candidates, anti-affinity never offers a host holding a member, affinity only the anchor, and the
 * order is the weigher's (ties by id).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { capacityOf, groupTag, judgeHosts, placeOn } from '../../../placement/choose-host.js';
import { compilePolicy, defaultPolicy, type PolicyDoc } from '../../../placement/policy.js';
import type { Allocation, Host, MachineSpec } from '../../../schema/types.js';

const hostArb = fc.record({
  id: fc.stringMatching(/^h[0-9]{1,3}$/),
  cpus: fc.integer({ min: 1, max: 32 }),
  usedCpus: fc.integer({ min: 0, max: 64 }),
  tier: fc.constantFrom('dense', 'plain', 'gold'),
  state: fc.constantFrom('ENABLED', 'ENABLED', 'DISABLED'),
  members: fc.integer({ min: 0, max: 2 }),
  recent: fc.integer({ min: 0, max: 4 }),
}).map((h): Host => {
  const allocations: Record<string, Allocation> = {};
  for (let i = 0; i < h.members; i++) allocations[`${h.id}-m${i}`] = { cpus: 0, memoryKiB: 0, claimId: 'c', group: groupTag('acme', i === 0 ? 'web' : 'other') };
  return {
    id: h.id, name: h.id, uri: '', arch: 'x86_64', cpus: h.cpus, memoryKiB: 1 << 24, labels: { tier: h.tier }, state: h.state as Host['state'],
    generation: 0, usedCpus: h.usedCpus, usedMemoryKiB: 0, allocations, registered: 0, updated: 0,
  };
});

const policyArb = fc.record({
  weigher: fc.constantFrom('packing', 'striping', 'load-aware'),
  cpu: fc.constantFrom(0.5, 1, 2, 4),
  dense: fc.option(fc.constantFrom(4, 8, 16)),
  perHost: fc.option(fc.integer({ min: 1, max: 3 })),
}).map(({ weigher, cpu, dense, perHost }): PolicyDoc => ({
  ...defaultPolicy({ cpuAllocationRatio: cpu, ramAllocationRatio: 1 }, weigher as PolicyDoc['weigher']),
  hostGroups: dense ? [{ name: 'dense', labels: { tier: 'dense' }, cpuAllocationRatio: dense, ramAllocationRatio: null }] : [],
  limits: { perHost, global: null, windowSeconds: 30 },
}));

const specArb = fc.record({ cpu: fc.integer({ min: 1, max: 16 }), aff: fc.constantFrom('none', 'anti', 'affinity') })
  .map(({ cpu, aff }): MachineSpec => ({
    cpu, memoryKiB: 1024, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {},
    ...(aff === 'none' ? {} : { affinity: { group: 'web', type: aff === 'anti' ? 'anti-affinity' as const : 'affinity' as const } }),
  }));

describe('placement invariants under operator policies', () => {
  it('candidates = exactly the hosts every filter passes (own group ratios, limits, affinity), explain agrees, weigher order', () => {
    fc.assert(fc.property(fc.uniqueArray(hostArb, { selector: (h) => h.id, maxLength: 10 }), specArb, policyArb, fc.func(fc.boolean()), fc.option(fc.nat(9)),
      (hosts, spec, doc, aliveFn, anchorIdx) => {
        const alive = new Set(hosts.filter((h) => aliveFn(h.id)).map((h) => h.id));
        const policy = compilePolicy(doc, 1, null);
        const recentClaims = new Map(hosts.map((h, i) => [h.id, i % 4] as [string, number]));
        const affinityHost = anchorIdx === null || hosts.length === 0 ? null : hosts[anchorIdx % hosts.length]!.id;
        const ctx = { tenant: 'acme', recentClaims, affinityHost };
        const { candidates } = placeOn(spec, hosts, alive, policy, ctx);
        const ok = (h: Host) => {
          const r = h.labels.tier === 'dense' && doc.hostGroups.length ? { cpuAllocationRatio: doc.hostGroups[0]!.cpuAllocationRatio!, ramAllocationRatio: 1 } : { cpuAllocationRatio: doc.cpuAllocationRatio, ramAllocationRatio: 1 };
          if (!alive.has(h.id) || h.state !== 'ENABLED') return false;
          if (spec.affinity?.type === 'anti-affinity' && Object.values(h.allocations).some((a) => a.group === groupTag('acme', 'web'))) return false;
          if (spec.affinity?.type === 'affinity' && affinityHost && h.id !== affinityHost) return false;
          if (doc.limits.perHost !== null && (recentClaims.get(h.id) ?? 0) >= doc.limits.perHost) return false;
          return h.usedCpus + spec.cpu <= capacityOf(h, r).cpus;
        };
        assert.deepEqual(candidates.map((h) => h.id).sort(), hosts.filter(ok).map((h) => h.id).sort());
        // The placer asks only for the best few: the same ones, in the same order.
        assert.deepEqual(placeOn(spec, hosts, alive, policy, ctx, 1).candidates.slice(0, 1).map((h) => h.id), candidates.slice(0, 1).map((h) => h.id));
        const { verdicts } = judgeHosts(spec, hosts, alive, policy, ctx);
        assert.deepEqual(verdicts.filter((v) => v.filter === null).map((v) => v.hostId).sort(), candidates.map((h) => h.id).sort());
        for (const v of verdicts) assert.equal(v.filter === null, v.score !== null);
        // Best first: scores never increase along the list; equal scores in id order.
        const score = new Map(verdicts.map((v) => [v.hostId, v.score]));
        for (let i = 1; i < candidates.length; i++) {
          const [a, b] = [candidates[i - 1]!, candidates[i]!];
          assert.ok(score.get(a.id)! > score.get(b.id)! || (score.get(a.id) === score.get(b.id) && a.id < b.id));
        }
      }), { seed: 110011, numRuns: 400 });
  });
});
