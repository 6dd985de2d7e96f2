/** Login attempts (migration 0005), part of the store contract: same names on both stores. */
import assert from 'node:assert/strict';
import type { StoreFixture } from '../helpers/stores.js';

const HOUR = 3_600_000;

export function loginAttemptsContract(fixture: () => StoreFixture): void {
  it('50 concurrent attempts on one subject with a limit of 10: exactly 10 rank below the limit', async () => {
    const fx = fixture();
    const now = Math.floor(Date.now() / HOUR) * HOUR + 30 * 60_000; // mid-hour: one partition
    const ranks = await Promise.all(Array.from({ length: 50 }, (_, i) => fx.store.loginAttempts.record('account:race', now + (i % 3), HOUR, 10)));
    assert.equal(ranks.filter((r) => r.before < 10).length, 10);
    const rows = await fx.raw('login_attempts', 'subject = ? AND hour = ?', ['account:race', Math.floor(now / HOUR)]);
    assert.equal(rows.length, 50, 'every attempt is a row (no counter, no read-modify-write)');
  });

  it('the window spans the hour boundary and forgets attempts older than it', async () => {
    const fx = fixture();
    const boundary = Math.floor(Date.now() / HOUR) * HOUR;
    for (let i = 0; i < 3; i++) await fx.store.loginAttempts.record('account:edge', boundary - HOUR + 60_000 + i, HOUR, 100); // outside a 30-min window
    for (let i = 0; i < 4; i++) await fx.store.loginAttempts.record('account:edge', boundary - 60_000 + i, HOUR, 100); // previous hour, inside
    const r = await fx.store.loginAttempts.record('account:edge', boundary + 60_000, 30 * 60_000, 100);
    assert.equal(r.before, 4);
    assert.equal(r.oldestExpiresAt, boundary - 60_000 + 30 * 60_000);
    assert.equal((await fx.store.loginAttempts.record('account:other', boundary + 60_000, HOUR, 100)).before, 0);
  });

  it('known addresses are per account and per address', async () => {
    const fx = fixture();
    await fx.store.loginAttempts.rememberAddress('account:alice', '127.0.0.2', Date.now());
    assert.equal(await fx.store.loginAttempts.isKnownAddress('account:alice', '127.0.0.2'), true);
    assert.equal(await fx.store.loginAttempts.isKnownAddress('account:alice', '127.0.0.3'), false);
    assert.equal(await fx.store.loginAttempts.isKnownAddress('account:bob', '127.0.0.2'), false);
  });
}
