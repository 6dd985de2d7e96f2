import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decide, isConverged, observedState, rememberAfter, settleMemory,
  type Action, type MachineMemory, type Observed,
} from '../../../hypervisor-agent/decide.js';
import type { DomainRunState } from '../../../hypervisor-agent/libvirt-host.js';
import type { DesiredState, HostMachine } from '../../../schema/types.js';

const GRACE = 1000;

function hm(desiredState: DesiredState, restartSeq = 0): HostMachine {
  return {
    hostId: 'h1', machineId: '01900000-0000-7000-8000-000000000001', tenant: 't', name: 'm',
    spec: { cpu: 1, memoryKiB: 65536, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} },
    desiredState, restartSeq, generation: 1,
  };
}
const mem = (over: Partial<MachineMemory> = {}): MachineMemory => ({ shutdownRequestedAt: null, restartedSeq: 0, ...over });
const obs = (state: DomainRunState, saved = false): Observed => ({ state, saved });

describe('agent: decide (table)', () => {
  const NOW = 10_000;
  const rows: [string, DesiredState | null, Observed | null, MachineMemory, Action, number?][] = [
    // orphans
    ['prefixed domain with no row', null, obs('running'), mem(), 'orphan'],
    ['nothing at all', null, null, mem(), 'none'],
    // creation
    ['new, wanted started', 'STARTED', null, mem(), 'create'],
    ['new, wanted paused', 'PAUSED', null, mem(), 'create'],
    ['new, wanted suspended', 'SUSPENDED', null, mem(), 'create'],
    ['new, wanted stopped', 'STOPPED', null, mem(), 'define'],
    // STARTED
    ['started & running', 'STARTED', obs('running'), mem(), 'none'],
    ['started & paused', 'STARTED', obs('paused'), mem(), 'resume'],
    ['started & pm-suspended', 'STARTED', obs('pmsuspended'), mem(), 'resume'],
    ['started & off', 'STARTED', obs('shutoff'), mem(), 'start'],
    ['started & crashed', 'STARTED', obs('crashed'), mem(), 'start'],
    ['started & saved', 'STARTED', obs('shutoff', true), mem(), 'restore'],
    ['started & shutting down, not asked by us', 'STARTED', obs('shuttingdown'), mem(), 'shutdown'],
    ['started & shutting down, within grace', 'STARTED', obs('shuttingdown'), mem({ shutdownRequestedAt: NOW - 10 }), 'none'],
    ['started & shutting down, grace over', 'STARTED', obs('shuttingdown'), mem({ shutdownRequestedAt: NOW - GRACE }), 'destroy'],
    // restart
    ['restart asked while running', 'STARTED', obs('running'), mem({ restartedSeq: 0 }), 'restart', 1],
    ['restart already done', 'STARTED', obs('running'), mem({ restartedSeq: 1 }), 'none', 1],
    ['restart asked while off: a start will do', 'STARTED', obs('shutoff'), mem({ restartedSeq: 0 }), 'start', 1],
    // STOPPED
    ['stop: graceful first', 'STOPPED', obs('running'), mem(), 'shutdown'],
    ['stop: waiting within grace', 'STOPPED', obs('running'), mem({ shutdownRequestedAt: NOW - GRACE + 1, shutdownPressedAt: NOW - 10 }), 'none'],
    ['stop: a guest that did not answer gets the button again (a third of the grace period later)', 'STOPPED', obs('running'), mem({ shutdownRequestedAt: NOW - GRACE / 2, shutdownPressedAt: NOW - Math.ceil(GRACE / 3) }), 'shutdown'],
    ['stop: not pressed again sooner', 'STOPPED', obs('running'), mem({ shutdownRequestedAt: NOW - GRACE / 2, shutdownPressedAt: NOW - Math.floor(GRACE / 3) + 1 }), 'none'],
    ['stop: a guest shutting down is not pressed again', 'STOPPED', obs('shuttingdown'), mem({ shutdownRequestedAt: NOW - GRACE / 2, shutdownPressedAt: NOW - GRACE / 2 }), 'none'],
    ['stop: forced after grace', 'STOPPED', obs('running'), mem({ shutdownRequestedAt: NOW - GRACE }), 'destroy'],
    ['stop: shutting down past grace', 'STOPPED', obs('shuttingdown'), mem({ shutdownRequestedAt: NOW - 5 * GRACE }), 'destroy'],
    ['stop: paused guest is resumed first', 'STOPPED', obs('paused'), mem(), 'resume'],
    ['stop: already off', 'STOPPED', obs('shutoff'), mem(), 'none'],
    ['stop: crashed counts as off', 'STOPPED', obs('crashed'), mem(), 'none'],
    ['stop: saved machine drops its memory', 'STOPPED', obs('shutoff', true), mem(), 'discardSave'],
    // PAUSED
    ['pause running', 'PAUSED', obs('running'), mem(), 'pause'],
    ['paused already', 'PAUSED', obs('paused'), mem(), 'none'],
    ['pause an off machine: start first', 'PAUSED', obs('shutoff'), mem(), 'start'],
    ['pause a saved machine: restore first', 'PAUSED', obs('shutoff', true), mem(), 'restore'],
    ['pause a pm-suspended machine: wake first', 'PAUSED', obs('pmsuspended'), mem(), 'resume'],
    // SUSPENDED
    ['suspend running', 'SUSPENDED', obs('running'), mem(), 'save'],
    ['suspend paused', 'SUSPENDED', obs('paused'), mem(), 'save'],
    ['suspended already', 'SUSPENDED', obs('shutoff', true), mem(), 'none'],
    ['suspend an off machine: boot then save', 'SUSPENDED', obs('shutoff'), mem(), 'start'],
    // DELETED
    ['delete running', 'DELETED', obs('running'), mem(), 'delete'],
    ['delete paused', 'DELETED', obs('paused'), mem(), 'delete'],
    ['delete saved', 'DELETED', obs('shutoff', true), mem(), 'delete'],
    ['delete, domain gone: finish', 'DELETED', null, mem(), 'finishDelete'],
  ];
  for (const [title, want, o, m, expected, restartSeq] of rows) {
    it(`${title} -> ${expected}`, () => {
      const desired = want ? hm(want, restartSeq ?? 0) : null;
      assert.equal(decide({ desired, observed: o, memory: m, now: NOW, stopGraceMs: GRACE }), expected);
    });
  }

  it('maps libvirt states to status states', () => {
    assert.equal(observedState(null), null);
    assert.equal(observedState(obs('running')), 'STARTED');
    assert.equal(observedState(obs('paused')), 'PAUSED');
    assert.equal(observedState(obs('shutoff')), 'STOPPED');
    assert.equal(observedState(obs('shutoff', true)), 'SUSPENDED');
  });

  it('converged only when the state matches and no restart is pending', () => {
    assert.equal(isConverged(hm('STARTED'), obs('running'), mem()), true);
    assert.equal(isConverged(hm('STARTED', 2), obs('running'), mem({ restartedSeq: 1 })), false);
    assert.equal(isConverged(hm('STOPPED'), obs('running'), mem()), false);
    assert.equal(isConverged(hm('SUSPENDED'), obs('shutoff', true), mem()), true);
    assert.equal(isConverged(hm('DELETED'), null, mem()), true);
  });

  it('a restart asked while not wanted running is moot; a finished shutdown is forgotten', () => {
    assert.equal(settleMemory(hm('PAUSED', 3), obs('paused'), mem()).restartedSeq, 3);
    assert.equal(settleMemory(hm('STOPPED'), obs('shutoff'), mem({ shutdownRequestedAt: 5 })).shutdownRequestedAt, null);
    assert.equal(rememberAfter('shutdown', hm('STOPPED'), mem(), 42).shutdownRequestedAt, 42);
    // A second press keeps the grace period's start and moves the last press.
    const again = rememberAfter('shutdown', hm('STOPPED'), mem({ shutdownRequestedAt: 42, shutdownPressedAt: 42 }), 500);
    assert.deepEqual([again.shutdownRequestedAt, again.shutdownPressedAt], [42, 500]);
    assert.deepEqual([rememberAfter('destroy', hm('STOPPED'), again, 900).shutdownRequestedAt, rememberAfter('destroy', hm('STOPPED'), again, 900).shutdownPressedAt], [null, null]);
    assert.equal(rememberAfter('start', hm('STARTED', 4), mem(), 42).restartedSeq, 4);
  });
});

// ---- property: applying the decided action to a simulated domain converges --------------------

interface SimDomain { state: DomainRunState; saved: boolean; savedPaused: boolean }

/** libvirt's behaviour, simplified; `guestObeys` decides whether a guest honours the power button. */
function apply(action: Action, dom: SimDomain | null, guestObeys: boolean, orphanDestroy: boolean): SimDomain | null | 'purged' {
  const active = dom && ['running', 'paused', 'shuttingdown', 'pmsuspended'].includes(dom.state);
  switch (action) {
    case 'none': return dom;
    case 'create': if (dom) throw new Error('create over an existing domain'); return { state: 'running', saved: false, savedPaused: false };
    case 'define': if (dom) throw new Error('define over an existing domain'); return { state: 'shutoff', saved: false, savedPaused: false };
    case 'start': if (!dom || active) throw new Error('start needs an inactive domain'); return { ...dom, state: 'running' };
    case 'shutdown':
      if (!dom || !active) throw new Error('shutdown needs an active domain');
      return guestObeys ? { ...dom, state: 'shutoff' } : { ...dom, state: dom.state === 'running' ? 'running' : dom.state };
    case 'destroy': if (!dom) throw new Error('no domain'); return { ...dom, state: 'shutoff' };
    case 'pause': if (dom?.state !== 'running') throw new Error('pause needs running'); return { ...dom, state: 'paused' };
    case 'resume': if (dom?.state !== 'paused' && dom?.state !== 'pmsuspended') throw new Error('resume needs paused'); return { ...dom, state: 'running' };
    case 'save': if (dom?.state !== 'running' && dom?.state !== 'paused') throw new Error('save needs running/paused'); return { state: 'shutoff', saved: true, savedPaused: dom.state === 'paused' };
    case 'restore': if (!dom?.saved || active) throw new Error('restore needs a saved, inactive domain'); return { state: dom.savedPaused ? 'paused' : 'running', saved: false, savedPaused: false };
    case 'discardSave': if (!dom) throw new Error('no domain'); return { ...dom, saved: false };
    case 'redefine': if (!dom) throw new Error('redefine needs a domain'); return dom;
    case 'restart': if (!dom) throw new Error('no domain'); return { ...dom, state: 'running' };
    case 'capture': if (!dom) throw new Error('no domain'); return dom;
    case 'delete': return null;
    case 'finishDelete': if (dom) throw new Error('finishDelete with a domain'); return 'purged';
    case 'orphan': return orphanDestroy ? null : dom;
  }
}

describe('agent: decide (property)', () => {
  it('repeatedly applying the decided action converges within a few steps', () => {
    const stateArb = fc.constantFrom<DomainRunState>('running', 'paused', 'shuttingdown', 'shutoff', 'crashed', 'pmsuspended');
    fc.assert(fc.property(
      fc.constantFrom<DesiredState>('STARTED', 'STOPPED', 'PAUSED', 'SUSPENDED', 'DELETED'),
      fc.option(fc.record({ state: stateArb, saved: fc.boolean(), savedPaused: fc.boolean() }), { nil: null }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 3 }),
      fc.option(fc.integer({ min: 0, max: 5000 }), { nil: null }),
      fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
      (want, dom0, restartSeq, restartedSeq, askedAgo, obeys) => {
        const d = hm(want, restartSeq);
        let dom: SimDomain | null = dom0;
        let now = 100_000;
        let m = mem({ restartedSeq, shutdownRequestedAt: askedAgo === null ? null : now - askedAgo });
        for (let step = 0; step < 12; step++) {
          const o: Observed | null = dom ? { state: dom.state, saved: dom.saved && !['running', 'paused', 'shuttingdown', 'pmsuspended'].includes(dom.state) } : null;
          m = settleMemory(d, o, m);
          const action = decide({ desired: d, observed: o, memory: m, now, stopGraceMs: GRACE });
          if (action === 'none' && isConverged(d, o, m)) return true;
          const next = apply(action, dom, obeys[step]!, false);
          if (next === 'purged') return want === 'DELETED';
          m = rememberAfter(action, d, m, now);
          dom = next;
          now += GRACE / 2;
        }
        throw new Error(`did not converge: want ${want}, ended ${JSON.stringify(dom)}`);
      },
    ), { numRuns: 2000 });
  });

  it('an orphan under the destroy policy goes away, under report it stays', () => {
    for (const state of ['running', 'paused', 'shutoff'] as DomainRunState[]) {
      const dom: SimDomain = { state, saved: false, savedPaused: false };
      const a = decide({ desired: null, observed: { state, saved: false }, memory: mem(), now: 0, stopGraceMs: GRACE });
      assert.equal(a, 'orphan');
      assert.equal(apply(a, dom, true, true), null);
      assert.deepEqual(apply(a, dom, true, false), dom);
    }
  });
});
