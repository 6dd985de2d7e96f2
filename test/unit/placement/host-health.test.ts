/** The host health rule (schema/host-health.ts) and the fencing clock (hypervisor-agent/fencing.ts): the timing invariant HA rests on. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fenceDue } from '../../../hypervisor-agent/fencing.js';
import { EVACUATION_HOLDER, hostCondition, hostLivenessPolicy } from '../../../schema/host-health.js';

describe('host health and the fencing timing rule', () => {
  const host = { state: 'ENABLED' as const, registered: 0 };

  it('never restarts an HA machine before the agent has certainly fenced, whatever the settings (fast-check, fixed seed)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: 1000, max: 600_000 }), fc.integer({ min: 1000, max: 600_000 }),
      fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 1e6 }),
      (renewed, fenceAfterMs, downAfterMs, fenceBudgetMs, clockSkewMs, later) => {
        const p = hostLivenessPolicy({ downAfterMs, fenceBudgetMs, clockSkewMs });
        const now = renewed + later;
        const c = hostCondition(host, null, { hostId: 'h', holder: 'a', renewed, fenceAfterMs, fencedAt: null }, now, p);
        assert.ok(c.haRestartAt !== null);
        // The agent fences once its clock passes renewed + fenceAfterMs; placement's clock may be skewed by up to clockSkewMs.
        assert.ok(c.haRestartAt >= renewed + fenceAfterMs + fenceBudgetMs + clockSkewMs);
        assert.ok(c.haRestartAt >= renewed + downAfterMs);
        assert.equal(c.health, later >= downAfterMs ? 'down' : 'unreachable');
        // At placement's restart time, the agent's own clock (at most clockSkewMs behind) is past its window.
        assert.ok(fenceDue(c.haRestartAt - clockSkewMs - fenceBudgetMs + 1, renewed, fenceAfterMs));
      }), { seed: 100011, numRuns: 500 });
  });

  it('up only under the agent\'s own lease: an evacuation lease leaves the host down; removed wins over everything', () => {
    const p = hostLivenessPolicy({ downAfterMs: 1000 });
    const hb = { hostId: 'h', holder: 'a', renewed: 0, fenceAfterMs: 1000, fencedAt: null };
    assert.equal(hostCondition(host, { hostId: 'h', holder: 'a', renewed: 0 }, hb, 10_000, p).health, 'up');
    assert.equal(hostCondition(host, { hostId: 'h', holder: 'a', renewed: 0 }, hb, 10_000, p).haRestartAt, null);
    assert.equal(hostCondition(host, { hostId: 'h', holder: `${EVACUATION_HOLDER}p1`, renewed: 0 }, hb, 10_000, p).health, 'down');
    assert.equal(hostCondition({ state: 'REMOVED', registered: 0 }, { hostId: 'h', holder: 'a', renewed: 0 }, hb, 10_000, p).health, 'removed');
  });

  it('a host that never sent a heartbeat goes down counted from its registration, and its machines never move (fencing window unknown)', () => {
    const p = hostLivenessPolicy({ downAfterMs: 1000 });
    assert.equal(hostCondition({ state: 'ENABLED', registered: 5000 }, null, null, 5500, p).health, 'unreachable');
    const c = hostCondition({ state: 'ENABLED', registered: 5000 }, null, null, 7000, p);
    assert.equal(c.health, 'down');
    assert.equal(c.haRestartAt, null);
  });

  it('bad liveness settings are refused by name', () => {
    assert.throws(() => hostLivenessPolicy({ downAfterMs: 10 }), /downAfterMs must be at least 1000/);
    assert.throws(() => hostLivenessPolicy({ clockSkewMs: -1 }), /clockSkewMs must be an integer >= 0/);
  });
});
