/**
 * LDAP login end to end against a real OpenLDAP (scripts/ldap/ctl.sh: slapd on 127.0.0.1:3890 with
 * StartTLS and ldaps:// on 6360, the directory in scripts/ldap/directory.ldif), through the real
 * frontend (buildApp) with local users first and LDAP second, on the embedded store.
 *
 * Skipped when slapd is not running, unless SKYBUS_REQUIRE_LDAP=1 (npm test), where that fails.
 * Directory outages are simulated with a TCP relay in front of slapd (counts connections, can
 * refuse them or swallow them), so slapd itself is never stopped by the tests.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import express from 'express';
import request from 'supertest';
import { ldapConfig, type LdapConfig, type LdapConfigInput } from '../../config/ldap-config.js';
import { buildApp } from '../../frontend/app.js';
import { principalOf, type Authenticator } from '../../frontend/auth/authenticator.js';
import { badLdapName, LDAP_UNAVAILABLE, LdapLoginCache, ldapBasicAuth, localThenLdap, type LdapAuthenticator } from '../../frontend/auth/ldap.js';
import { localBasicAuth } from '../../frontend/auth/local-basic.js';
import { hashPassword } from '../../frontend/auth/passwords.js';
import { frontendConfig } from '../../frontend/config.js';
import { silentLogger } from '../../observability/logger.js';
import { SkybusMetrics } from '../../observability/metrics.js';
import { embeddedFixture, type StoreFixture } from '../helpers/stores.js';

const LDAP_HOME = process.env.SKYBUS_LDAP_HOME ?? join(process.env.SKYBUS_CACHE ?? join(homedir(), '.cache', 'skybus'), 'ldap');
const CA_FILE = join(LDAP_HOME, 'tls', 'ca.crt'); // as scripts/ldap/common.sh
const SLAPD_LOG = join(LDAP_HOME, 'slapd.log');
const PLAIN = 'ldap://127.0.0.1:3890';
const LDAPS = 'ldaps://127.0.0.1:6360';
const RESEARCH = 'cn=research,ou=groups,dc=skybus,dc=test';
const ADMINS = 'cn=cloud-admins,ou=groups,dc=skybus,dc=test';
const PW = { alice: 'alice-secret-1', bob: 'bob-secret-2', carol: 'carol-secret-3', dave: 'dave-secret-4', mallory: 'mallory-secret-5' };
const LOCAL_PW = 'local password 123';

const directory = (over: LdapConfigInput = {}): LdapConfig => ldapConfig({
  url: PLAIN,
  bindDn: 'cn=skybus-reader,ou=services,dc=skybus,dc=test',
  bindPassword: 'reader-secret',
  searchBase: 'ou=people,dc=skybus,dc=test',
  groupSearchBase: 'ou=groups,dc=skybus,dc=test',
  groups: [{ groupDn: RESEARCH, tenant: 'research', roles: ['user'] }, { groupDn: ADMINS, tenant: null, roles: ['admin'] }],
  timeoutMs: 1000,
  ...over,
});

function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    const done = (ok: boolean) => { s.destroy(); resolve(ok); };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** A TCP relay to slapd that counts connections and can refuse ('down') or swallow ('hang') them. */
class Relay {
  connections = 0;
  mode: 'up' | 'hang' = 'up';
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: number) {}
  async start(port = 0): Promise<void> {
    this.server = createServer((c) => {
      this.connections++;
      this.sockets.add(c);
      c.on('close', () => this.sockets.delete(c));
      c.on('error', () => undefined);
      if (this.mode === 'hang') return; // accept, never answer
      const up = connect(this.target, '127.0.0.1');
      this.sockets.add(up);
      up.on('close', () => { this.sockets.delete(up); c.destroy(); });
      c.on('close', () => up.destroy());
      up.on('error', () => c.destroy());
      c.pipe(up).pipe(c);
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
  }
  /** Stop listening and cut every relayed connection: the directory is "down" (connection refused). */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = null;
  }
  get url(): string { return `ldap://127.0.0.1:${this.port}`; }
}

/** A minimal app that shows who the authenticator says the caller is. */
function whoami(auth: Authenticator): express.Express {
  const app = express();
  app.use(auth.middleware());
  app.get('/whoami', (_req, res) => { res.json(principalOf(res)); });
  app.use((err: { status?: number; message: string; code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(err.status ?? 500).json({ code: err.code ?? 'INTERNAL', message: err.message });
  });
  return app;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('LDAP authenticator: request parsing (no directory)', () => {
  it('refuses empty, over-long and control-character names up front', () => {
    assert.equal(badLdapName('alice'), null);
    assert.equal(badLdapName('d(a)v*e'), null);
    assert.equal(badLdapName('ü'.repeat(256)), null);
    assert.match(badLdapName('')!, /empty/);
    assert.match(badLdapName('x'.repeat(257))!, /longer than 256/);
    for (const c of ['\0', '\n', '\r', '\t', '\x7f', '\u0085', '\u2028']) assert.match(badLdapName(`ali${c}ce`)!, /control/);
  });

  it('the login cache is keyed by name and password, bounded, and expires', () => {
    const c = new LdapLoginCache(2, 1000);
    const p = { name: 'alice', tenant: 'research', roles: ['user'] };
    c.set('alice', 'pw', p, 0);
    assert.deepEqual(c.get('alice', 'pw', 500), p);
    assert.equal(c.get('alice', 'other', 500), null);
    assert.equal(c.get('ALICE', 'pw', 500), null);
    assert.equal(c.get('alice', 'pw', 1000), null, 'expired');
    c.set('a', 'p', p, 0); c.set('b', 'p', p, 0); c.set('c', 'p', p, 0);
    assert.equal(c.size, 2);
    assert.equal(c.get('a', 'p', 1), null, 'oldest evicted');
    const off = new LdapLoginCache(10, 0);
    off.set('a', 'p', p, 0);
    assert.equal(off.get('a', 'p', 0), null, 'ttl 0: no caching');
  });
});

describe('e2e: LDAP login against a real slapd', function () {
  this.timeout(30_000);
  let fx: StoreFixture;
  let ldap: LdapAuthenticator;
  let api: express.Express;
  let relay: Relay;
  let relayed: LdapAuthenticator;
  let relayedApi: express.Express;

  before(async function () {
    this.timeout(20_000);
    const up = (await portOpen(3890)) && (await portOpen(6360)) && existsSync(CA_FILE);
    if (!up) {
      const why = `slapd is not running on 127.0.0.1:3890/6360 (or ${CA_FILE} is missing); start it with scripts/ldap/ctl.sh start`;
      if (process.env.SKYBUS_REQUIRE_LDAP === '1') throw new Error(`${why} (SKYBUS_REQUIRE_LDAP=1)`);
      console.log(`    skipped: ${why}, or set SKYBUS_REQUIRE_LDAP=1 to make this a failure`);
      this.skip();
    }
    fx = await embeddedFixture();
    const h = await hashPassword(LOCAL_PW);
    await fx.store.accounts.createUser({ name: 'ops', tenant: 'ops', passwordHash: h, roles: ['admin', 'user'], disabled: false, created: Date.now() });
    // A local user with the same name as a directory user (carol), with a different password.
    await fx.store.accounts.createUser({ name: 'carol', tenant: 'acme', passwordHash: h, roles: ['user'], disabled: false, created: Date.now() });
    const config = await fx.store.catalog.create('machineConfig', 'small', null, { description: '', properties: {}, cpu: 1, memory: 1048576, cpuArch: 'x86_64', disks: [] });
    const image = await fx.store.catalog.create('machineImage', 'img', null, { description: '', properties: {}, imageLocation: '/var/lib/skybus/images/a.qcow2', format: 'qcow2', initrd: null, kernelCmdline: null, cpuArch: 'x86_64' });
    await fx.store.catalog.create('machineTemplate', 'tpl', null, { description: '', properties: {}, machineConfig: config.id, machineImage: image.id, initialState: 'STOPPED', userData: null });

    const mk = (auth: Authenticator) => buildApp({ store: fx.store, auth, log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
    ldap = ldapBasicAuth(directory());
    api = mk(localThenLdap(localBasicAuth(fx.store), ldap));
    relay = new Relay(3890);
    await relay.start();
    relayed = ldapBasicAuth(directory({ url: relay.url }));
    relayedApi = mk(localThenLdap(localBasicAuth(fx.store), relayed));
  });

  after(async () => {
    await relay?.stop();
    await fx?.cleanup();
  });

  it('alice logs in with her directory password: GET /api/machines is 200, tenant research, role user', async () => {
    await request(api).get('/api/machines').auth('alice', PW.alice).expect(200);
    const me = await request(whoami(ldap)).get('/whoami').auth('alice', PW.alice).expect(200);
    assert.deepEqual(me.body, { name: 'alice', tenant: 'research', roles: ['user'] });
  });

  it('bob is in research and cloud-admins: tenant research, roles admin and user; he may add a machineConfig, alice may not', async () => {
    const me = await request(whoami(ldap)).get('/whoami').auth('bob', PW.bob).expect(200);
    assert.deepEqual(me.body, { name: 'bob', tenant: 'research', roles: ['admin', 'user'] });
    await request(api).post('/api/machineConfigs').auth('bob', PW.bob).send({ name: 'bobs', cpu: 1, memory: 1048576 }).expect(201);
    const no = await request(api).post('/api/machineConfigs').auth('alice', PW.alice).send({ name: 'alices', cpu: 1, memory: 1048576 }).expect(403);
    assert.equal(no.body.code, 'FORBIDDEN');
  });

  it('the tenant is the mapped group\'s: a machine alice creates is listed for bob (same tenant), not for a local user of another tenant', async () => {
    const tpl = (await fx.store.catalog.list('machineTemplate'))[0];
    const made = await request(api).post('/api/machines').auth('alice', PW.alice).send({ name: 'ldap-made', machineTemplate: { href: `/api/machineTemplates/${tpl.id}` } }).expect(202);
    const id = String(made.headers.location).split('/').pop();
    const forBob = await request(api).get('/api/machines').auth('bob', PW.bob).expect(200);
    assert.ok(JSON.stringify(forBob.body).includes(String(id)), 'bob (research) sees it');
    const forOps = await request(api).get('/api/machines').auth('ops', LOCAL_PW).expect(200);
    assert.ok(!JSON.stringify(forOps.body).includes(String(id)), 'ops (local, tenant ops) does not');
    await request(api).get(`/api/machines/${id}`).auth('ops', LOCAL_PW).expect(404);
  });

  it('carol, in no mapped group, gets 403 saying she is in no group mapped to a tenant', async () => {
    const res = await request(api).get('/api/machines').auth('carol', PW.carol).expect(403);
    assert.equal(res.body.code, 'FORBIDDEN');
    assert.match(res.body.message, /carol.*in no group mapped to a tenant/);
  });

  it('a local user shadows the same name in the directory, with the local password only', async () => {
    await request(api).get('/api/machines').auth('carol', LOCAL_PW).expect(200); // local carol, tenant acme
    assert.equal((await request(api).get('/api/machines').auth('carol', PW.carol)).status, 403); // falls through to LDAP carol
  });

  it('the user d(a)v*e logs in: ( ) * in a name are values, not filter syntax', async () => {
    const me = await request(whoami(ldap)).get('/whoami').auth('d(a)v*e', PW.dave).expect(200);
    assert.deepEqual(me.body, { name: 'd(a)v*e', tenant: 'research', roles: ['user'] });
    await request(api).get('/api/machines').auth('d(a)v*e', PW.dave).expect(200);
    assert.equal((await request(api).get('/api/machines').auth('d(a)v*e', PW.alice)).status, 401);
  });

  it('the directory decides name matching: ALICE logs in as alice', async () => {
    const me = await request(whoami(ldap)).get('/whoami').auth('ALICE', PW.alice).expect(200);
    assert.equal(me.body.name, 'alice');
  });

  it('a locked account (ppolicy pwdAccountLockedTime) is refused with its right password', async () => {
    const res = await request(api).get('/api/machines').auth('mallory', PW.mallory).expect(401);
    assert.equal(res.body.code, 'UNAUTHENTICATED');
    assert.match(String(res.headers['www-authenticate']), /^Basic realm="skybus"$/, 'one challenge, not one per authenticator');
  });

  it('wrong, empty and missing passwords never log in; empty and missing never reach the directory', async () => {
    for (const pw of ['wrong', PW.bob, `${PW.alice} `, PW.alice.toUpperCase()]) {
      assert.equal((await request(relayedApi).get('/api/machines').auth('alice', pw)).status, 401, `password ${JSON.stringify(pw)}`);
    }
    const before = relay.connections;
    const b64 = (s: string) => 'Basic ' + Buffer.from(s, 'utf8').toString('base64');
    for (const header of [b64('alice:'), b64('alice'), b64(':'), b64(':alice-secret-1'), 'Basic', 'Basic !!!', 'Bearer alice', b64('cn=skybus-reader,ou=services,dc=skybus,dc=test:')]) {
      const res = await request(relayedApi).get('/api/machines').set('Authorization', header);
      assert.equal(res.status, 401, header);
    }
    assert.equal((await request(relayedApi).get('/api/machines')).status, 401, 'no Authorization at all');
    assert.equal(relay.connections, before, 'no connection to the directory for a missing or empty password');
  });

  it('injection user names never authenticate and never 5xx', async () => {
    const names = [
      '*', ')(uid=*', '*)(|(uid=*', 'alice)(|(uid=*', 'alice*', 'al*', '*alice', 'alice)', '(uid=alice)', 'alice\\', '\\2a', 'alice\\29',
      "$'", '$`', '$&', 'alice$&', '{{username}}', '{{dn}}', 'alice\0', '\0', 'alice\0)(uid=*', 'alice\n', 'x'.repeat(10 * 1024),
      'uid=alice,ou=people,dc=skybus,dc=test', 'cn=skybus-reader,ou=services,dc=skybus,dc=test', ' alice', 'alice ',
    ];
    const before = relay.connections;
    for (const name of names) {
      for (const pw of [PW.alice, PW.bob, 'reader-secret', 'x']) {
        const res = await request(relayedApi).get('/api/machines').set('Authorization', 'Basic ' + Buffer.from(`${name}:${pw}`, 'utf8').toString('base64'));
        // ' alice' / 'alice ': LDAP equality matching ignores surrounding spaces (RFC 4518), so those may be alice herself.
        if ((name === ' alice' || name === 'alice ') && pw === PW.alice) { assert.ok([200, 401].includes(res.status)); continue; }
        assert.equal(res.status, 401, `name ${JSON.stringify(name.slice(0, 40))} password ${pw}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    assert.ok(relay.connections > before, 'the filter-syntax names did reach the directory (and matched nobody)');
  });

  it('ldaps:// with the script\'s CA works; without it the server certificate is refused (503)', async () => {
    const tls = ldapBasicAuth(directory({ url: LDAPS, caFile: CA_FILE }));
    const me = await request(whoami(tls)).get('/whoami').auth('bob', PW.bob).expect(200);
    assert.deepEqual(me.body, { name: 'bob', tenant: 'research', roles: ['admin', 'user'] });
    assert.equal((await request(whoami(tls)).get('/whoami').auth('bob', 'wrong')).status, 401);
    const untrusted = ldapBasicAuth(directory({ url: LDAPS }));
    const res = await request(whoami(untrusted)).get('/whoami').auth('bob', PW.bob).expect(503);
    assert.equal(res.body.message, LDAP_UNAVAILABLE);
  });

  it('StartTLS works, and no bind crosses the wire before TLS is up', async () => {
    const logFrom = existsSync(SLAPD_LOG) ? statSync(SLAPD_LOG).size : 0;
    const tls = ldapBasicAuth(directory({ starttls: true, caFile: CA_FILE }));
    for (let i = 0; i < 5; i++) {
      tls.clearCache();
      const me = await request(whoami(tls)).get('/whoami').auth('alice', PW.alice).expect(200);
      assert.equal(me.body.tenant, 'research');
    }
    assert.equal((await request(whoami(tls)).get('/whoami').auth('mallory', PW.mallory)).status, 401);
    assert.equal((await request(whoami(tls)).get('/whoami').auth('carol', PW.carol)).status, 403);
    if (!existsSync(SLAPD_LOG)) return;
    // slapd -d stats, this test's part of the log: on every connection that asked for StartTLS, no
    // BIND before "TLS established". (Without the fix in frontend/auth/ldap-starttls.ts the service
    // account's bind is sent right behind the StartTLS request, in cleartext.)
    await new Promise((r) => setTimeout(r, 200));
    const startTls = new Set<string>();
    const secured = new Set<string>();
    const plaintextBinds: string[] = [];
    for (const line of readFileSync(SLAPD_LOG).subarray(logFrom).toString('utf8').split('\n')) {
      const conn = / conn=(\d+) /.exec(line)?.[1];
      if (!conn) continue;
      if (line.includes(' STARTTLS')) startTls.add(conn);
      else if (line.includes('TLS established')) secured.add(conn);
      else if (/ BIND dn=/.test(line) && startTls.has(conn) && !secured.has(conn)) plaintextBinds.push(line);
    }
    assert.ok(startTls.size >= 10, `StartTLS connections seen in ${SLAPD_LOG}: ${startTls.size}`);
    assert.deepEqual(plaintextBinds, []);
  });

  it('directory down: 503 "the LDAP directory is unavailable" for LDAP users, local users still log in, cached LDAP logins live out their TTL', async () => {
    // Refused connections: a port nobody listens on.
    const closed = new Relay(3890);
    await closed.start();
    const deadUrl = closed.url;
    await closed.stop();
    const dead = ldapBasicAuth(directory({ url: deadUrl }));
    const deadApi = buildApp({ store: fx.store, auth: localThenLdap(localBasicAuth(fx.store), dead), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
    const res = await request(deadApi).get('/api/machines').auth('alice', PW.alice).expect(503);
    assert.equal(res.body.code, 'UNAVAILABLE');
    assert.equal(res.body.message, LDAP_UNAVAILABLE);
    assert.equal(res.headers['retry-after'], '5');
    await request(deadApi).get('/api/machines').auth('ops', LOCAL_PW).expect(200);

    // The relay going down under a working configuration: the same, and a login cached before keeps working.
    relayed.clearCache();
    await request(relayedApi).get('/api/machines').auth('bob', PW.bob).expect(200);
    await relay.stop();
    try {
      assert.equal((await request(relayedApi).get('/api/machines').auth('alice', PW.alice)).status, 503);
      await request(relayedApi).get('/api/machines').auth('ops', LOCAL_PW).expect(200);
      await request(relayedApi).get('/api/machines').auth('bob', PW.bob).expect(200); // cached
      // A wrong local password, then LDAP down: the outage is what is reported.
      assert.equal((await request(relayedApi).get('/api/machines').auth('ops', 'wrong')).status, 503);
    } finally {
      await relay.start(relay.port);
    }
    relayed.clearCache();
    await request(relayedApi).get('/api/machines').auth('alice', PW.alice).expect(200);
  });

  it('directory hanging (accepts, never answers): 503 within twice the timeout, local users unaffected', async () => {
    const hang = new Relay(3890);
    hang.mode = 'hang';
    await hang.start();
    try {
      const slow = ldapBasicAuth(directory({ url: hang.url, timeoutMs: 500 }));
      const app = buildApp({ store: fx.store, auth: localThenLdap(localBasicAuth(fx.store), slow), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
      const t0 = performance.now();
      const res = await request(app).get('/api/machines').auth('alice', PW.alice);
      const ms = performance.now() - t0;
      assert.equal(res.status, 503);
      assert.equal(res.body.message, LDAP_UNAVAILABLE);
      assert.ok(ms < 1500, `answered in ${ms.toFixed(0)} ms`);
      await request(app).get('/api/machines').auth('ops', LOCAL_PW).expect(200);
    } finally {
      await hang.stop();
    }
  });

  it('a cached login does not contact the directory (first vs cached latency)', async () => {
    const rows: string[] = [];
    const measure = async (label: string, app: express.Express, path: string, auth: LdapAuthenticator, n = 7) => {
      const first: number[] = [];
      const cached: number[] = [];
      for (let i = 0; i < n; i++) {
        auth.clearCache();
        let t = performance.now();
        await request(app).get(path).auth('alice', PW.alice).expect(200);
        first.push(performance.now() - t);
        t = performance.now();
        await request(app).get(path).auth('alice', PW.alice).expect(200);
        cached.push(performance.now() - t);
      }
      rows.push(`${label}: first ${median(first).toFixed(1)} ms, cached ${median(cached).toFixed(1)} ms (median of ${n})`);
      return { first: median(first), cached: median(cached) };
    };
    relayed.clearCache();
    await request(whoami(relayed)).get('/whoami').auth('alice', PW.alice).expect(200);
    const c0 = relay.connections;
    for (let i = 0; i < 5; i++) await request(whoami(relayed)).get('/whoami').auth('alice', PW.alice).expect(200);
    assert.equal(relay.connections, c0, 'cached: no new connection');

    const plain = await measure('ldap:// LDAP only', whoami(ldap), '/whoami', ldap);
    const starttls = ldapBasicAuth(directory({ starttls: true, caFile: CA_FILE }));
    await measure('ldap:// StartTLS', whoami(starttls), '/whoami', starttls);
    const ldaps = ldapBasicAuth(directory({ url: LDAPS, caFile: CA_FILE }));
    await measure('ldaps://', whoami(ldaps), '/whoami', ldaps);
    await measure('GET /api/machines, local first then ldap://', api, '/api/machines', ldap);
    console.log(rows.map((r) => `      ${r}`).join('\n'));
    assert.ok(plain.cached < plain.first, 'a cached login is faster than a bind');
  });
});
