/** A resource's events (migration 0008, events_by_resource), part of the store contract: same names on both stores. */
import assert from 'node:assert/strict';
import { newId } from '../../schema/ids.js';
import type { CassandraDriver } from '../../schema/cassandra-driver.js';
import type { SqliteDriver } from '../../schema/sqlite-driver.js';
import type { StoreFixture } from '../helpers/stores.js';

const DAY = 86_400_000;
const TTL_SECONDS = 30 * 86_400;

const ev = (resource: string, ts: number, i: number, tenant = 'tr') => ({
  tenant, ts, type: 'state' as const, severity: 'low' as const, outcome: 'Status' as const, resource, content: { i },
});

/** Seconds left to live of every row of (table, key column = value), straight from storage. */
async function ttlsOf(fx: StoreFixture, table: string, col: string, value: string): Promise<number[]> {
  if (fx.kind === 'cassandra') {
    const rs = await (fx.store.driver as CassandraDriver).client.execute(`SELECT TTL(type) AS t FROM ${table} WHERE ${col} = ? ALLOW FILTERING`, [value], { prepare: true });
    return rs.rows.map((r) => r.get('t') as number);
  }
  const d = fx.store.driver as SqliteDriver;
  return d.raw(`SELECT _expires_at AS e FROM "${table}" WHERE ${col} = ?`, value).map((r) => Math.round(((r.e as number) - d.now()) / 1000));
}

export function eventsByResourceContract(fixture: () => StoreFixture): void {
  it('every event is written to the tenant\'s day and to its resource\'s day, the same row', async () => {
    const fx = fixture();
    const m = newId();
    const t = Date.UTC(2026, 1, 3, 10);
    const e = await fx.store.telemetry.appendEvent({ ...ev(m, t, 1), content: { hostId: 'h-1', to: 'STARTED' } });
    const [byTenant] = await fx.raw('events', 'tenant = ? AND day = ? AND id = ?', ['tr', '2026-02-03', e.id]);
    const [byResource] = await fx.raw('events_by_resource', 'resource_id = ? AND day = ?', [m, '2026-02-03']);
    assert.equal(byResource.id, e.id);
    assert.equal(byResource.ts, t);
    assert.equal(byResource.tenant, 'tr');
    for (const k of ['type', 'severity', 'outcome', 'content']) assert.equal(byResource[k], byTenant[k], k);
  });

  it('a resource\'s events are read newest first across its day partitions, in pages, and no other resource\'s', async () => {
    const fx = fixture();
    const m = newId();
    const other = newId();
    const d0 = Date.UTC(2026, 2, 1, 23, 59); // crosses midnight into 2026-03-02, then skips a day
    const times = [d0, d0 + 30_000, d0 + 90_000, d0 + 2 * DAY, d0 + 2 * DAY + 1, d0 + 2 * DAY + 2, d0 + 2 * DAY + 3];
    for (const [i, ts] of times.entries()) await fx.store.telemetry.appendEvent(ev(m, ts, i));
    await fx.store.telemetry.appendEvent(ev(other, d0 + 1000, 99));
    const window = { since: d0 - DAY, until: d0 + 4 * DAY };
    const seen: number[] = [];
    let pageState: string | null = null;
    let pages = 0;
    do {
      const p: Awaited<ReturnType<typeof fx.store.telemetry.eventsOfResource>> = await fx.store.telemetry.eventsOfResource(m, window, { limit: 2, pageState });
      assert.ok(p.items.length <= 2);
      seen.push(...p.items.map((e) => e.content.i as number));
      pageState = p.pageState;
      pages++;
    } while (pageState && pages < 20);
    assert.deepEqual(seen, [6, 5, 4, 3, 2, 1, 0]);
    const all = await fx.store.telemetry.eventsOfResource(m, window, { limit: 100 });
    assert.deepEqual(all.items.map((e) => e.ts), [...times].sort((a, b) => b - a));
    assert.equal(all.pageState, null);
    // The window bounds the read: only what falls in [since, until).
    const part = await fx.store.telemetry.eventsOfResource(m, { since: d0 + 30_000, until: d0 + 2 * DAY + 2 }, { limit: 100 });
    assert.deepEqual(part.items.map((e) => e.content.i), [4, 3, 2, 1]);
    assert.deepEqual((await fx.store.telemetry.eventsOfResource(other, window)).items.map((e) => e.content.i), [99]);
    await assert.rejects(fx.store.telemetry.eventsOfResource(m, { since: 0, until: 40 * DAY }), /at most 31 days/);
    await assert.rejects(fx.store.telemetry.eventsOfResource(m, window, { pageState: 'x:y' }), /page state/);
  });

  it('rows of a resource\'s log carry the same TTL as the tenant\'s events (30 days)', async () => {
    const fx = fixture();
    const m = newId();
    await fx.store.telemetry.appendEvent(ev(m, Date.now(), 1, 'tr-ttl'));
    const [own] = await ttlsOf(fx, 'events_by_resource', 'resource_id', m);
    const [tenants] = await ttlsOf(fx, 'events', 'tenant', 'tr-ttl');
    assert.ok(own > TTL_SECONDS - 120 && own <= TTL_SECONDS, `ttl ${own}`);
    assert.ok(Math.abs(own - tenants) <= 5, `${own} vs ${tenants}`);
    if (fx.kind === 'embedded') {
      // Past the TTL the row is gone from reads (and from storage after a purge).
      const d = fx.store.driver as SqliteDriver;
      const real = d.now;
      d.now = () => real() + (TTL_SECONDS + 60) * 1000;
      try {
        assert.deepEqual((await fx.store.telemetry.eventsOfResource(m, { since: Date.now() - DAY, until: Date.now() + DAY })).items, []);
      } finally {
        d.now = real;
      }
    }
  });
}
