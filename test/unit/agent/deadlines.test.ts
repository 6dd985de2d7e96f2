import assert from 'node:assert/strict';
import { agentConfig } from '../../../hypervisor-agent/config.js';
import { deadlineError, nextPending, transitionalStateOf } from '../../../hypervisor-agent/deadlines.js';
import { LibvirtCallBusy, LibvirtCallGuard, LibvirtCallHung, LibvirtCallPending } from '../../../hypervisor-agent/libvirt-call-guard.js';
import { ConfigError } from '../../../errors/registry.js';
import { silentLogger } from '../../../observability/logger.js';
import type { DesiredState, HostMachine } from '../../../schema/types.js';

function hm(desiredState: DesiredState): HostMachine {
  return {
    hostId: 'h1', machineId: 'm1', tenant: 't', name: 'n', desiredState, restartSeq: 0, generation: 3,
    spec: { cpu: 1, memoryKiB: 1024, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} },
  };
}

describe('agent: transitional deadlines (pure)', () => {
  it('the transitional state follows the desired state', () => {
    assert.equal(transitionalStateOf(hm('STARTED')), 'STARTING');
    assert.equal(transitionalStateOf(hm('STOPPED')), 'STOPPING');
    assert.equal(transitionalStateOf(hm('PAUSED')), 'PAUSING');
    assert.equal(transitionalStateOf(hm('SUSPENDED')), 'SUSPENDING');
    assert.equal(transitionalStateOf(hm('DELETED')), 'DELETING');
  });

  it('the pending clock starts with an unconverged generation, keeps running for it, restarts with a new one, ends on convergence', () => {
    const p = nextPending(null, 3, false, 1000)!;
    assert.deepEqual(p, { generation: 3, since: 1000, reported: false });
    p.reported = true;
    assert.equal(nextPending(p, 3, false, 5000), p, 'same generation: same clock, still reported');
    assert.deepEqual(nextPending(p, 4, false, 6000), { generation: 4, since: 6000, reported: false });
    assert.equal(nextPending(p, 3, true, 7000), null);
  });

  it('the reason: nothing before the deadline; after it, the state, the limit, the host and the last failure or what libvirt shows', () => {
    const p = { generation: 3, since: 1000, reported: false };
    const last = { error: 'destroy failed: boom', action: 'destroy' as const, domain: 'running' as const };
    assert.equal(deadlineError('STOPPING', 150_000, p, 150_999, 'h1', last), null);
    assert.equal(deadlineError('STOPPING', 150_000, null, 1e12, 'h1', last), null);
    assert.equal(deadlineError('STOPPING', 150_000, p, 151_000, 'h1', last), 'STOPPING did not finish within 150 s on host h1: last action destroy failed: boom');
    assert.equal(deadlineError('STOPPING', 150_000, p, 151_000, 'h1', { ...last, error: null }), 'STOPPING did not finish within 150 s on host h1: the domain is still running after destroy');
    assert.equal(deadlineError('STARTING', 1500, p, 9999, 'h2', { error: null, action: null, domain: null }), 'STARTING did not finish within 1.5 s on host h2: the domain is not defined');
  });
});

describe('agent: deadline and libvirt timeout config', () => {
  it('defaults: 60 s per libvirt call; STARTING 5 min, STOPPING grace + 2 min, PAUSING 2 min, SUSPENDING 10 min, DELETING 5 min', () => {
    const c = agentConfig({ hostId: 'h1' });
    assert.equal(c.libvirtCallTimeoutMs, 60_000);
    assert.deepEqual(c.deadlinesMs, { STARTING: 300_000, STOPPING: 150_000, PAUSING: 120_000, SUSPENDING: 600_000, DELETING: 300_000 });
    const d = agentConfig({ hostId: 'h1', stopGraceMs: 10_000, deadlinesMs: { PAUSING: 5000 } }).deadlinesMs;
    assert.equal(d.STOPPING, 130_000);
    assert.equal(d.PAUSING, 5000);
    assert.equal(d.STARTING, 300_000);
  });

  it('rejects bad values naming the field', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ libvirtCallTimeoutMs: 0 }, /libvirtCallTimeoutMs/],
      [{ libvirtCallTimeoutMs: '60s' }, /libvirtCallTimeoutMs/],
      [{ deadlinesMs: { STARTING: 0 } }, /deadlinesMs\.STARTING/],
      [{ deadlinesMs: { STOPPING: 1.5 } }, /deadlinesMs\.STOPPING/],
      [{ deadlinesMs: { CREATING: 1000 } }, /'CREATING' is not one of STARTING/],
      [{ deadlinesMs: [] }, /deadlinesMs must be a map/],
    ];
    for (const [input, re] of bad) assert.throws(() => agentConfig({ hostId: 'h1', ...input }), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message), JSON.stringify(input));
  });
});

describe('agent: libvirt call guard', () => {
  const never = () => new Promise<void>(() => undefined);

  it('returns what a call returns and passes its failure through', async () => {
    const g = new LibvirtCallGuard('h1', 100, silentLogger());
    assert.equal(await g.run('m1', 'start', async () => 7), 7);
    await assert.rejects(g.run('m1', 'start', async () => { throw new Error('refused'); }), /^Error: refused$/);
    assert.equal(g.outstandingOn('m1'), undefined);
  });

  it('a call that does not return: hung after the timeout, naming the last step; the key is busy until it returns, other keys are not', async () => {
    const g = new LibvirtCallGuard('h1', 50, silentLogger());
    let finish!: () => void;
    const p = g.run('m1', 'create', async (step) => { step('virDomainDefineXML'); step('virDomainCreate'); await new Promise<void>((r) => { finish = r; }); });
    await assert.rejects(p, (e: unknown) => e instanceof LibvirtCallHung && (e as Error).message === 'libvirt virDomainCreate on host h1 did not return within 0.05 s');
    const o = g.outstandingOn('m1')!;
    assert.equal(o.action, 'create');
    assert.ok(g.isHung(o));
    await assert.rejects(g.run('m1', 'destroy', async () => undefined), (e: unknown) => e instanceof LibvirtCallBusy && /did not return within 0\.05 s; no other call is made on it until it returns/.test((e as Error).message));
    assert.equal(await g.run('m2', 'start', async () => 'ok'), 'ok');
    const t0 = Date.now();
    assert.equal(await g.waitFor('m1', 1000), false, 'past its timeout: not waited for again');
    assert.ok(Date.now() - t0 < 500);
    finish();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(g.outstandingOn('m1'), undefined, 'returned: no longer outstanding');
    assert.equal(await g.run('m1', 'destroy', async () => 'ok'), 'ok');
  });

  it('a wait cut short by the cycle budget is pending, not hung; the next cycle waits the rest of its timeout for it', async () => {
    const g = new LibvirtCallGuard('h1', 2000, silentLogger());
    let finish!: () => void;
    await assert.rejects(g.run('m1', 'save', async (step) => { step('virDomainSave'); await new Promise<void>((r) => { finish = r; }); }, 20), LibvirtCallPending);
    assert.equal(g.isHung(g.outstandingOn('m1')!), false);
    setTimeout(() => finish(), 30);
    assert.equal(await g.waitFor('m1', 1000), true);
    assert.equal(g.outstandingOn('m1'), undefined);
    assert.equal(await g.waitFor('m1', 1000), false, 'nothing outstanding');
    await assert.rejects(g.run('m2', 'x', never, 10), LibvirtCallPending);
    g.forget('m2');
    assert.equal(g.outstandingOn('m2'), undefined);
  });
});
