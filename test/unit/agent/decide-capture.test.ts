/** The capture decision (docs/capture.md): taken only once the domain is where it is wanted, once per image. */
import assert from 'node:assert/strict';
import { capturePendingOn, decide, rememberAfter, type MachineMemory, type Observed } from '../../../hypervisor-agent/decide.js';
import type { DesiredState, HostMachine } from '../../../schema/types.js';

const IMG = '01900000-0000-7000-8000-0000000000aa';

function hm(desiredState: DesiredState, capture: string | null = IMG, restartSeq = 0): HostMachine {
  return {
    hostId: 'h1', machineId: '01900000-0000-7000-8000-000000000001', tenant: 't', name: 'm',
    spec: { cpu: 1, memoryKiB: 65536, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {}, capture: capture ? { imageId: capture, requestedAt: 1 } : null },
    desiredState, restartSeq, generation: 2,
  };
}
const mem = (over: Partial<MachineMemory> = {}): MachineMemory => ({ shutdownRequestedAt: null, restartedSeq: 0, ...over });
const obs = (state: Observed['state'], saved = false): Observed => ({ state, saved });
const at = (d: HostMachine, o: Observed | null, m = mem()) => decide({ desired: d, observed: o, memory: m, now: 10_000, stopGraceMs: 1000 });

describe('agent: decide capture', () => {
  it('captures a converged machine: running, off, paused, or saved', () => {
    assert.equal(at(hm('STARTED'), obs('running')), 'capture');
    assert.equal(at(hm('STOPPED'), obs('shutoff')), 'capture');
    assert.equal(at(hm('PAUSED'), obs('paused')), 'capture');
    assert.equal(at(hm('SUSPENDED'), obs('shutoff', true)), 'capture');
  });

  it('first brings the domain to its desired state, then captures', () => {
    assert.equal(at(hm('STARTED'), null), 'create');
    assert.equal(at(hm('STARTED'), obs('shutoff')), 'start');
    assert.equal(at(hm('STOPPED'), obs('running')), 'shutdown');
    // a graceful shutdown under way: wait, do not capture a half-stopped guest
    assert.equal(at(hm('STOPPED'), obs('shuttingdown'), mem({ shutdownRequestedAt: 9_500 })), 'none');
    assert.equal(at(hm('STARTED', IMG, 1), obs('running')), 'restart');
  });

  it('never for a machine being deleted, nor twice for the same image, nor without a request', () => {
    assert.equal(at(hm('DELETED'), obs('running')), 'delete');
    assert.equal(at(hm('DELETED'), null), 'finishDelete');
    assert.equal(at(hm('STARTED'), obs('running'), mem({ capturedImageId: IMG })), 'none');
    assert.equal(at(hm('STARTED', null), obs('running')), 'none');
    // a newer request after an older one was done
    assert.equal(at(hm('STARTED', 'newer'), obs('running'), mem({ capturedImageId: IMG })), 'capture');
  });

  it('remembers the image once captured', () => {
    const after = rememberAfter('capture', hm('STARTED'), mem(), 5);
    assert.equal(after.capturedImageId, IMG);
    assert.equal(capturePendingOn(hm('STARTED'), after), false);
    assert.equal(rememberAfter('start', hm('STARTED'), mem(), 5).capturedImageId, undefined);
  });
});
