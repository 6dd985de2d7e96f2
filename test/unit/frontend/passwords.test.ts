import assert from 'node:assert/strict';
import { hashPassword, verifyPassword } from '../../../frontend/auth/passwords.js';

describe('frontend password hashes', () => {
  it('are self-describing scrypt strings with a random salt, and verify only the right password', async () => {
    const a = await hashPassword('s3cret!');
    const b = await hashPassword('s3cret!');
    assert.match(a, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]+$/);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('s3cret!', a), true);
    assert.equal(await verifyPassword('s3cret?', a), false);
    assert.equal(await verifyPassword('', a), false);
  });

  it('reject malformed or tampered hashes without throwing', async () => {
    const good = await hashPassword('pw');
    for (const bad of ['', 'plain', 'scrypt$16384$8$1$abc', 'scrypt$3$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAA==', good.replace('$16384$', '$1073741824$'), good.replace(/\$[^$]+$/, '$AAAA')]) {
      assert.equal(await verifyPassword('pw', bad), false, bad);
    }
  });
});
