/**
 * Lightweight transactions whose outcome is unknown (a timeout after sending) are settled by a serial
 * re-read, never re-sent: the store must count its own applied change as applied, and somebody
 * else's as a conflict. Simulated with a driver that times out before or after applying.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, UnavailableError, UnknownOutcomeError } from '../../../errors/registry.js';
import { BusStore } from '../../../schema/bus-store.js';
import { migrate } from '../../../schema/migrations.js';
import { SqliteDriver } from '../../../schema/sqlite-driver.js';
import type { CasResult, Condition, Row, WriteOptions } from '../../../schema/table-driver.js';
import type { MachineSpec } from '../../../schema/types.js';

type Mode = 'ok' | 'applied-then-timeout' | 'timeout-unapplied' | 'other-wins-then-timeout';

/** The embedded driver, with its conditional writes made to time out on demand. */
class TimingOutDriver extends SqliteDriver {
  mode: Mode = 'ok';
  interloper: (() => Promise<void>) | null = null;
  override async cas(table: string, row: Row, cond: Condition, opts?: WriteOptions & { remove?: boolean }): Promise<CasResult> {
    const mode = this.mode;
    this.mode = 'ok';
    if (mode === 'applied-then-timeout') { await super.cas(table, row, cond, opts); throw new UnknownOutcomeError('simulated timeout after apply'); }
    if (mode === 'timeout-unapplied') throw new UnknownOutcomeError('simulated timeout before apply');
    if (mode === 'other-wins-then-timeout') { await this.interloper!(); throw new UnknownOutcomeError('simulated timeout, lost'); }
    return super.cas(table, row, cond, opts);
  }
}

const spec: MachineSpec = { cpu: 1, memoryKiB: 1024, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} };

describe('store: lightweight transactions with an unknown outcome', () => {
  let dir: string;
  let d: TimingOutDriver;
  let store: BusStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skybus-uo-'));
    d = new TimingOutDriver(join(dir, 'bus.sqlite'));
    await migrate(d);
    store = new BusStore(d);
  });
  after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });

  it('a spec change applied before the timeout counts as applied, exactly once', async () => {
    const m = await store.machines.create({ tenant: 't', name: 'a', spec, desiredState: 'STARTED' });
    d.mode = 'applied-then-timeout';
    const after = await store.machines.updateSpec(m.id, 1, { restartSeq: 1 });
    assert.equal(after.generation, 2);
    assert.equal(after.restartSeq, 1);
  });

  it('a spec change that never applied is "unavailable, try again" (503), not a conflict, and writes nothing', async () => {
    const m = await store.machines.create({ tenant: 't', name: 'b', spec, desiredState: 'STARTED' });
    d.mode = 'timeout-unapplied';
    await assert.rejects(store.machines.updateSpec(m.id, 1, { desiredState: 'STOPPED' }), UnavailableError);
    assert.equal((await store.machines.get(m.id))?.generation, 1, 'nothing was written');
  });

  it("somebody else's change to the same generation is not mistaken for ours (same shape, same instant)", async () => {
    const m = await store.machines.create({ tenant: 't', name: 'c', spec, desiredState: 'STARTED' });
    const other = new BusStore(d);
    d.interloper = async () => { d.mode = 'ok'; await other.machines.updateSpec(m.id, 1, { restartSeq: 1 }, 1234); };
    d.mode = 'other-wins-then-timeout';
    await assert.rejects(store.machines.updateSpec(m.id, 1, { restartSeq: 1 }, 1234), ConflictError);
  });

  it('a host claim applied before the timeout is ours; one that never applied is not', async () => {
    const h = await store.hosts.register({ id: 'uo-1', name: 'uo-1', uri: 'test:///default', arch: 'x86_64', cpus: 4, memoryKiB: 1 << 20, labels: {} });
    d.mode = 'applied-then-timeout';
    const won = await store.hosts.claim(h, '01a20870-0000-7000-8000-000000000001', { cpus: 1, memoryKiB: 1 });
    assert.equal(won.ok, true);
    d.mode = 'timeout-unapplied';
    const lost = await store.hosts.claim(won.ok ? won.host : h, '01a20870-0000-7000-8000-000000000002', { cpus: 1, memoryKiB: 1 });
    assert.equal(lost.ok, false);
    const now = (await store.hosts.get('uo-1'))!;
    assert.equal(now.usedCpus, 1);
    assert.deepEqual(Object.keys(now.allocations), ['01a20870-0000-7000-8000-000000000001']);
  });
});
