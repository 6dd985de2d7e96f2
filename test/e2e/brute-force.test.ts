/**
 * Failed-login throttling across frontends (issue 8): 1,000 wrong passwords for one account
 * through two frontends over the same bus → at most 100 reach the password check; the account's
 * owner still logs in from an address it used before; an unknown address is refused with 429.
 * Clients use distinct loopback source addresses (127.0.0.x) so the frontends see distinct clients.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type Server } from 'node:http';
import { buildApp } from '../../frontend/app.js';
import { localBasicAuth } from '../../frontend/auth/local-basic.js';
import { LoginThrottle } from '../../frontend/auth/login-throttle.js';
import { PasswordChecks } from '../../frontend/auth/password-checks.js';
import { hashPassword } from '../../frontend/auth/passwords.js';
import { frontendConfig } from '../../frontend/config.js';
import { silentLogger } from '../../observability/logger.js';
import { SkybusMetrics } from '../../observability/metrics.js';
import type { BusStore } from '../../schema/bus-store.js';
import { onBothStores, type StoreFixture } from '../helpers/stores.js';

class CountingChecks extends PasswordChecks {
  calls = 0;
  override async verify(pw: string, stored: string): Promise<boolean> {
    this.calls++;
    return super.verify(pw, stored);
  }
}

function get(url: string, user: string, password: string, from: string): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { localAddress: from, headers: { authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('end to end: brute force against one account through two frontends', function () {
  this.timeout(180_000);
  onBothStores((makeFixture) => {
    let fx: StoreFixture;
    const servers: Server[] = [];
    const checks: CountingChecks[] = [];
    const urls: string[] = [];
    const pw = 'the right password';

    before(async () => {
      fx = await makeFixture();
      await fx.store.accounts.createUser({ name: 'alice', tenant: 'acme', passwordHash: await hashPassword(pw), roles: ['user'], disabled: false, created: Date.now() });
      const stores: BusStore[] = [fx.store, await fx.reopen()];
      for (const store of stores) {
        const c = new CountingChecks({ workers: 1, queue: 1000 });
        checks.push(c);
        const app = buildApp({ store, auth: localBasicAuth(store, { checks: c, throttle: new LoginThrottle(store) }), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
        const s = await new Promise<Server>((r) => { const x = app.listen(0, '127.0.0.1', () => r(x)); });
        servers.push(s);
        urls.push(`http://127.0.0.1:${(s.address() as { port: number }).port}/api/machines`);
      }
    });
    after(async () => {
      for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
      for (const c of checks) await c.close();
      await fx.cleanup();
    });

    it('at most 100 of 1,000 wrong passwords reach the check; the owner logs in from a known address, an unknown one gets 429', async () => {
      // The owner logged in before from 127.0.0.2 (on frontend 0): that address is known.
      assert.equal((await get(urls[0], 'alice', pw, '127.0.0.2')).status, 200);
      const before = checks[0].calls + checks[1].calls;

      const statuses = new Map<number, number>();
      let withRetryAfter = 0;
      let next = 0;
      const attacker = async () => {
        while (next < 1000) {
          const n = next++;
          const r = await get(urls[n % 2], 'alice', `guess-${n}`, '127.0.0.1');
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 429 && r.retryAfter && Number(r.retryAfter) >= 1) withRetryAfter++;
        }
      };
      await Promise.all(Array.from({ length: 25 }, attacker));
      const reached = checks[0].calls + checks[1].calls - before;

      assert.deepEqual([...statuses.keys()].sort(), [401, 429], JSON.stringify([...statuses]));
      assert.ok(reached <= 100, `${reached} attempts reached the password check`);
      assert.ok(reached >= 90, `the first attempts are checked (${reached})`);
      assert.equal(statuses.get(401), reached);
      assert.equal(withRetryAfter, statuses.get(429));
      // Every one of them is in the audit trail (written after each response, on either frontend).
      let audited = 0;
      for (let t = 0; t < 50 && audited < 1000; t++) {
        await new Promise((r) => setTimeout(r, 100));
        audited = 0;
        for await (const page of fx.store.audit.between(Date.now() - 600_000, Date.now() + 1)) {
          audited += page.filter((e) => e.actor === 'alice' && e.action === 'login' && e.outcome !== 'success').length;
        }
      }
      assert.equal(audited, 1000);

      // On the OTHER frontend (nothing verified there yet): the right password from an address never
      // used before, while the attack's hour lasts, is refused with 429 ...
      const unknown = await get(urls[1], 'alice', pw, '127.0.0.3');
      assert.equal(unknown.status, 429);
      // ... and the owner from the address it used before is in.
      assert.equal((await get(urls[1], 'alice', pw, '127.0.0.2')).status, 200);
      console.log(`      ${fx.kind}: 1,000 wrong passwords → ${reached} checked (401), ${statuses.get(429)} refused (429)`);
    });
  });
});
