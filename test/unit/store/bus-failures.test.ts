/**
 * A bus failure is never the client's fault: Cassandra's "invalid request" for a statement Skybus
 * built is a 503 (schema not known yet on that coordinator) or an internal fault, never a 400. And a
 * quota charge or release rides out a ring that refuses for a moment (a node stopping or starting)
 * without ever counting a change twice: every write is settled on a SERIAL re-read.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cassandra from 'cassandra-driver';
import { UnavailableError, isSkybusError } from '../../../errors/registry.js';
import { translate } from '../../../schema/cassandra-driver.js';
import { migrate } from '../../../schema/migrations.js';
import { SqliteDriver } from '../../../schema/sqlite-driver.js';
import { QuotaStore } from '../../../schema/store/quotas.js';
import type { CasResult, Condition, ReadOptions, Row, WriteOptions } from '../../../schema/table-driver.js';

const invalid = (message: string) => Object.assign(new Error(message), { name: 'ResponseError', code: cassandra.types.responseErrorCodes.invalid });

describe('store: bus failures', () => {
  it('an invalid request for an unknown table is a 503 with Retry-After, naming no table', () => {
    for (const msg of ['unconfigured table machines', 'table skybus_x.machines does not exist', 'Keyspace skybus_x does not exist']) {
      const t = translate(invalid(msg), 'read machines');
      assert.ok(t instanceof UnavailableError, msg);
      assert.equal(t.status, 503);
      assert.equal(t.details?.retryAfterSeconds, 2);
      assert.doesNotMatch(t.message, /machines|skybus_x/);
    }
  });

  it('any other invalid request is an internal fault (500, logged), never a 400', () => {
    const t = translate(invalid('Undefined name foo in selection clause'), 'read machines');
    assert.ok(!isSkybusError(t), 'not a coded error: the error middleware answers 500 and logs the cause');
    assert.match(t.message, /read machines/);
  });

  describe('quota charges while the ring refuses for a moment', () => {
    /** The embedded driver, refusing the next reads / applying-then-refusing the next conditional write. */
    class FlakyDriver extends SqliteDriver {
      failReads = 0;
      casAppliedThenUnavailable = 0;
      override async get(table: string, key: Row, opts?: ReadOptions): Promise<Row | null> {
        if (this.failReads > 0) { this.failReads--; throw new UnavailableError('simulated: too few replicas'); }
        return super.get(table, key, opts);
      }
      override async cas(table: string, row: Row, cond: Condition, opts?: WriteOptions & { remove?: boolean }): Promise<CasResult> {
        if (this.casAppliedThenUnavailable > 0) {
          this.casAppliedThenUnavailable--;
          await super.cas(table, row, cond, opts);
          throw new UnavailableError('simulated: Paxos commit timed out');
        }
        return super.cas(table, row, cond, opts);
      }
    }
    let dir: string;
    let d: FlakyDriver;
    let q: QuotaStore;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'skybus-bus-'));
      d = new FlakyDriver(join(dir, 'bus.sqlite'));
      await migrate(d);
      q = new QuotaStore(d);
      await q.setLimits('t', { machines: 2 });
    });
    after(async () => { await d.close(); rmSync(dir, { recursive: true, force: true }); });

    it('reads refused twice, then the charge goes through, once', async () => {
      d.failReads = 2;
      const r = await q.charge('t', 'm1', { cpus: 1, memoryKiB: 1024 });
      assert.equal(r.ok, true);
      assert.equal((await q.get('t')).used.machines, 1);
    });

    it('a charge applied but answered unavailable is counted once, and the limit still holds', async () => {
      d.casAppliedThenUnavailable = 1;
      d.failReads = 1; // and the settling SERIAL read is refused once too
      assert.equal((await q.charge('t', 'm2', { cpus: 1, memoryKiB: 1024 })).ok, true);
      assert.equal((await q.get('t')).used.machines, 2);
      assert.equal((await q.charge('t', 'm3', { cpus: 1, memoryKiB: 1024 })).ok, false, 'the limit of 2 holds');
    });

    it('a ring that stays away is a 503 after the waits (about 4 s), with nothing charged', async function () {
      this.timeout(10_000);
      d.failReads = 100;
      await assert.rejects(q.charge('t', 'm4', { cpus: 1, memoryKiB: 1024 }), UnavailableError);
      d.failReads = 0;
      assert.equal((await q.get('t')).used.machines, 2);
    });
  });
});
