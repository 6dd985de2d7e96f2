import assert from 'node:assert/strict';
import { hashPassword } from '../../../frontend/auth/passwords.js';
import { VerifiedCredentials } from '../../../frontend/auth/verified-credentials.js';
import { as, harness, PASSWORD, type Harness } from './harness.js';
import request from 'supertest';

describe('frontend: verified-credential cache', () => {
  let h: Harness;
  before(async () => { h = await harness(); });
  after(async () => { await h.cleanup(); });

  it('a changed password locks out the old one at once, even after it was cached', async () => {
    assert.equal((await as(h.app, 'alice', 'get', '/api/machines')).status, 200);
    assert.equal((await as(h.app, 'alice', 'get', '/api/machines')).status, 200);
    await h.store.accounts.setPassword('alice', await hashPassword('a brand new password'));
    assert.equal((await as(h.app, 'alice', 'get', '/api/machines')).status, 401);
    assert.equal((await request(h.app).get('/api/machines').auth('alice', 'a brand new password')).status, 200);
    await h.store.accounts.setPassword('alice', await hashPassword(PASSWORD));
  });

  it('a disabled user is refused at once, even with cached credentials', async () => {
    assert.equal((await as(h.app, 'bob', 'get', '/api/machines')).status, 200);
    const bob = (await h.store.accounts.getUser('bob'))!;
    await h.store.driver.put('users', { name: 'bob', disabled: true });
    assert.equal((await as(h.app, 'bob', 'get', '/api/machines')).status, 401);
    await h.store.driver.put('users', { name: 'bob', disabled: bob.disabled });
  });

  it('entries expire and the cache stays bounded', () => {
    const c = new VerifiedCredentials(2, 1000);
    c.add('a', 'p', 'h', 0);
    assert.equal(c.has('a', 'p', 'h', 500), true);
    assert.equal(c.has('a', 'p', 'h', 1500), false);
    assert.equal(c.has('a', 'wrong', 'h', 500), false);
    c.add('a', 'p', 'h', 0); c.add('b', 'p', 'h', 0); c.add('c', 'p', 'h', 0);
    assert.equal(c.has('a', 'p', 'h', 10), false, 'oldest evicted');
    assert.equal(c.has('c', 'p', 'h', 10), true);
  });
});
