/**
 * THE store contract: written once, run against the embedded store and against Cassandra with the
 * same test names. Assertions check what reached storage (raw reads), not only what the store said.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConflictError, ValidationError } from '../../errors/registry.js';
import { loadMigrations, migrate } from '../../schema/migrations.js';
import { openDriver } from '../../schema/bus-store.js';
import { newId } from '../../schema/ids.js';
import type { MachineSpec } from '../../schema/types.js';
import type { StoreFixture } from '../helpers/stores.js';
import { bindingsContract } from './bindings-contract.js';
import { capturedImageContract } from './captured-image-contract.js';
import { eventsByResourceContract } from './events-by-resource-contract.js';
import { rateUsageContract } from './rate-usage-contract.js';
import { loginAttemptsContract } from './login-attempts-contract.js';
import { monitoringContract } from './monitoring-contract.js';
import { networksContract } from './networks-contract.js';
import { quotaContract } from './quota-contract.js';
import { volumesContract } from './volumes-contract.js';

const spec: MachineSpec = { cpu: 1, memoryKiB: 65536, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function storeContract(makeFixture: () => Promise<StoreFixture>): void {
  let fx: StoreFixture;
  before(async function () { this.timeout(120_000); fx = await makeFixture(); });
  after(async function () { this.timeout(60_000); if (fx) await fx.cleanup(); });

  describe('migrations', () => {
    it('records every migration once and re-running applies nothing', async () => {
      const rows = await fx.raw('schema_migrations', 'version > ?', [0]);
      assert.equal(rows.length, loadMigrations().length);
      const again = await fx.store.migrate();
      assert.deepEqual(again.applied, []);
    });

    it('a bus at an older version is brought up to date: later migrations (ALTER TABLE) apply once', async function () {
      this.timeout(120_000);
      const all = loadMigrations();
      const cfg = fx.kind === 'embedded'
        ? { ...fx.config, path: (fx.config as { path: string }).path.replace(/bus\.sqlite$/, 'old.sqlite') }
        : { ...fx.config, keyspace: `${(fx.config as { keyspace: string }).keyspace}_o` };
      const d = await openDriver(cfg);
      try {
        assert.deepEqual((await migrate(d, { migrations: all.slice(0, 1) })).applied, [1]);
        const up = await migrate(d);
        assert.deepEqual(up.applied, all.slice(1).map((m) => m.version));
        assert.deepEqual((await migrate(d)).applied, []);
        await d.put('machines', { id: newId(), change_id: 'x' }); // the added column is writable
      } finally {
        if (cfg.kind === 'cassandra') await (d as unknown as { client: { execute(q: string): Promise<unknown> } }).client.execute(`DROP KEYSPACE IF EXISTS ${cfg.keyspace}`).catch(() => undefined);
        await d.close();
      }
    });

    it('concurrent runners on a fresh bus apply each migration exactly once', async function () {
      this.timeout(180_000);
      const cfg = fx.kind === 'embedded'
        ? { ...fx.config, path: (fx.config as { path: string }).path.replace(/bus\.sqlite$/, 'concurrent.sqlite') }
        : { ...fx.config, keyspace: `${(fx.config as { keyspace: string }).keyspace}_m` };
      const drivers = await Promise.all(Array.from({ length: 4 }, () => openDriver(cfg)));
      try {
        const reports = await Promise.all(drivers.map((d) => migrate(d)));
        const applied = reports.flatMap((r) => r.applied).sort((a, b) => a - b); // numerically: 10 after 9
        assert.deepEqual(applied, loadMigrations().map((m) => m.version));
        const page = await drivers[0].scan('schema_migrations', { limit: 100 });
        assert.equal(page.rows.length, loadMigrations().length);
      } finally {
        if (cfg.kind === 'cassandra') {
          await (drivers[0] as unknown as { client: { execute(q: string): Promise<unknown> } }).client.execute(`DROP KEYSPACE IF EXISTS ${cfg.keyspace}`).catch(() => undefined);
        }
        for (const d of drivers) await d.close();
      }
    });
  });

  describe('machines', () => {
    it('create writes the machine, the tenant index and a placement request', async () => {
      const m = await fx.store.machines.create({ tenant: 'ta', name: 'web-1', spec, desiredState: 'STARTED' });
      const [row] = await fx.raw('machines', 'id = ?', [m.id]);
      assert.equal(row.tenant, 'ta');
      assert.equal(row.generation, 1);
      assert.equal(row.desired_state, 'STARTED');
      assert.deepEqual(JSON.parse(row.spec as string), spec);
      assert.equal(row.host_id, null);
      assert.equal((await fx.raw('machines_by_tenant', 'tenant = ? AND id = ?', ['ta', m.id])).length, 1);
      const bucket = Math.floor(m.created / 60_000);
      assert.equal((await fx.raw('placement_requests', 'bucket = ? AND machine_id = ?', [bucket, m.id])).length, 1);
      const back = await fx.store.machines.get(m.id);
      assert.equal(back?.name, 'web-1');
      assert.equal(back?.status.state, 'CREATING');
    });

    it('unknown id reads as null, malformed id is a validation error', async () => {
      assert.equal(await fx.store.machines.get(newId()), null);
      await assert.rejects(fx.store.machines.get('not-a-uuid'), ValidationError);
    });

    it('lists a tenant page by page in creation order, each machine once', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 23; i++) ids.push((await fx.store.machines.create({ tenant: 'tpage', name: `m${i}`, spec, desiredState: 'STOPPED' }, Date.now() + i)).id);
      const seen: string[] = [];
      let pageState: string | null = null;
      let pages = 0;
      do {
        const page = await fx.store.machines.listByTenant('tpage', { limit: 10, pageState });
        assert.ok(page.items.length <= 10);
        seen.push(...page.items.map((m) => m.id));
        pageState = page.pageState;
        pages++;
      } while (pageState);
      assert.deepEqual(seen, ids);
      assert.ok(pages >= 3);
      assert.equal((await fx.store.machines.listByTenant('nobody')).items.length, 0);
    });

    it('spec changes are conditional on the generation', async () => {
      const m = await fx.store.machines.create({ tenant: 'ta', name: 'gen', spec, desiredState: 'STARTED' });
      const after = await fx.store.machines.updateSpec(m.id, 1, { desiredState: 'STOPPED' });
      assert.equal(after.generation, 2);
      await assert.rejects(fx.store.machines.updateSpec(m.id, 1, { desiredState: 'PAUSED' }), ConflictError);
      const [row] = await fx.raw('machines', 'id = ?', [m.id]);
      assert.equal(row.generation, 2);
      assert.equal(row.desired_state, 'STOPPED');
    });

    it('20 concurrent spec changes on one generation: exactly one applies', async function () {
      this.timeout(60_000);
      const m = await fx.store.machines.create({ tenant: 'ta', name: 'race', spec, desiredState: 'STARTED' });
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => fx.store.machines.updateSpec(m.id, 1, { restartSeq: i + 1 })));
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConflictError, String(r.reason));
      const [row] = await fx.raw('machines', 'id = ?', [m.id]);
      assert.equal(row.generation, 2);
      assert.equal(row.restart_seq, (won[0] as PromiseFulfilledResult<{ restartSeq: number }>).value.restartSeq);
    });

    it('a host is assigned once, copied to the host partition, and spec changes follow it there', async () => {
      const m = await fx.store.machines.create({ tenant: 'ta', name: 'placed', spec, desiredState: 'STARTED' });
      assert.equal(await fx.store.machines.assignHost(m.id, 'host-a'), true);
      assert.equal(await fx.store.machines.assignHost(m.id, 'host-b'), false);
      const [row] = await fx.raw('machines', 'id = ?', [m.id]);
      assert.equal(row.host_id, 'host-a');
      await fx.store.machines.updateSpec(m.id, 1, { desiredState: 'STOPPED' });
      const onHost = await fx.store.machines.listOnHost('host-a');
      const copy = onHost.find((h) => h.machineId === m.id);
      assert.equal(copy?.desiredState, 'STOPPED');
      assert.equal(copy?.generation, 2);
      assert.equal((await fx.store.machines.listOnHost('host-b')).length, 0);
    });

    it('a condition on a missing row sees every column as null (the Cassandra rule, on both stores)', async () => {
      const id = newId();
      assert.equal((await fx.store.driver.cas('machines', { id, host_id: 'h' }, { if: { host_id: 'other' } })).applied, false);
      assert.equal((await fx.raw('machines', 'id = ?', [id])).length, 0);
      assert.equal((await fx.store.driver.cas('machines', { id, host_id: 'h' }, { if: { host_id: null } })).applied, true);
      assert.equal((await fx.raw('machines', 'id = ?', [id]))[0]?.host_id, 'h');
      assert.equal(await fx.store.machines.get(id), null, 'a row with no spec is not a machine');
      await fx.store.driver.remove('machines', { id });
    });

    it('binding a purged machine to a host fails and leaves no ghost row; a late spec copy is taken back', async () => {
      const m = await fx.store.machines.create({ tenant: 'tghost', name: 'gone', spec, desiredState: 'STARTED' });
      await fx.store.machines.purge(m);
      assert.equal(await fx.store.machines.assignHost(m.id, 'host-g'), false);
      assert.equal((await fx.raw('machines', 'id = ?', [m.id])).length, 0);
      const m2 = await fx.store.machines.create({ tenant: 'tghost', name: 'late', spec, desiredState: 'STARTED' });
      assert.equal(await fx.store.machines.assignHost(m2.id, 'host-g'), true);
      await fx.store.machines.purge({ ...m2, hostId: 'host-g' });
      await fx.store.machines.mirrorToHost({ ...m2, hostId: 'host-g' }); // a slow writer's copy lands after the purge
      assert.equal(await fx.store.machines.mirrorUntilStable(m2.id, 'host-g'), null);
      assert.equal((await fx.raw('machines_by_host', 'host_id = ? AND machine_id = ?', ['host-g', m2.id])).length, 0);
    });

    it('status and placement are written without touching the spec', async () => {
      const m = await fx.store.machines.create({ tenant: 'ta', name: 'st', spec, desiredState: 'STARTED' });
      await fx.store.machines.setPlacement(m.id, { attempts: 2, reason: 'no host has 1 free CPU', lastAttemptAt: 5 });
      await fx.store.machines.setStatus(m.id, { state: 'STARTED', observedGeneration: 1, observedRestartSeq: 0, converged: true, error: null, hostId: 'h', updatedAt: 7 });
      const back = await fx.store.machines.get(m.id);
      assert.equal(back?.placement?.reason, 'no host has 1 free CPU');
      assert.equal(back?.status.state, 'STARTED');
      assert.equal(back?.generation, 1);
      assert.equal(back?.desiredState, 'STARTED');
    });

    it('purge removes every row of the machine', async () => {
      const m = await fx.store.machines.create({ tenant: 'tpurge', name: 'gone', spec, desiredState: 'STARTED' });
      await fx.store.machines.assignHost(m.id, 'host-p');
      await fx.store.machines.purge({ ...m, hostId: 'host-p' });
      assert.equal((await fx.raw('machines', 'id = ?', [m.id])).length, 0);
      assert.equal((await fx.raw('machines_by_tenant', 'tenant = ? AND id = ?', ['tpurge', m.id])).length, 0);
      assert.equal((await fx.raw('machines_by_host', 'host_id = ? AND machine_id = ?', ['host-p', m.id])).length, 0);
      assert.equal(await fx.store.machines.get(m.id), null);
    });

    it('bad values are typed errors and write nothing', async () => {
      const id = newId();
      await assert.rejects(fx.store.driver.put('machines', { id, generation: 'two' as unknown as number }), ValidationError);
      await assert.rejects(fx.store.driver.put('machines', { id, generation: 1.5 }), ValidationError);
      await assert.rejects(fx.store.driver.put('machines', { id, bogus: 1 }), ValidationError);
      await assert.rejects(fx.store.driver.put('no_such_table', { id }), ValidationError);
      await assert.rejects(fx.store.machines.create({ tenant: 'ta', name: 'x'.repeat(300), spec, desiredState: 'STARTED' }), ValidationError);
      await assert.rejects(fx.store.machines.create({ tenant: 'ta', name: 'big', spec: { ...spec, userData: 'A'.repeat(300 * 1024) }, desiredState: 'STARTED' }), ValidationError);
      assert.equal((await fx.raw('machines', 'id = ?', [id])).length, 0);
      assert.equal((await fx.raw('machines', 'name = ?', ['big'])).length, 0);
      await assert.rejects(fx.store.driver.scan('machines', { limit: 5, pageState: 'zz-not-a-page' }), ValidationError);
    });
  });

  describe('hosts and claims', () => {
    const inv = (id: string) => ({ id, name: id, uri: 'test:///default', arch: 'x86_64', cpus: 8, memoryKiB: 16 * 1024 * 1024, labels: { zone: 'a' } });

    it('registers a host once and bumps the generation when its inventory changes', async () => {
      const h = await fx.store.hosts.register(inv('reg-1'));
      assert.equal(h.generation, 0);
      assert.equal((await fx.store.hosts.register(inv('reg-1'))).generation, 0);
      const changed = await fx.store.hosts.register({ ...inv('reg-1'), cpus: 16 });
      assert.equal(changed.generation, 1);
      const [row] = await fx.raw('hosts', 'id = ?', ['reg-1']);
      assert.equal(row.cpus, 16);
      assert.equal(row.generation, 1);
    });

    it('50 concurrent claims on one host generation: exactly one winner', async function () {
      this.timeout(120_000);
      const h = await fx.store.hosts.register(inv('claim-1'));
      const results = await Promise.all(Array.from({ length: 50 }, () => fx.store.hosts.claim(h, newId(), { cpus: 1, memoryKiB: 1024 })));
      assert.equal(results.filter((r) => r.ok).length, 1);
      const [row] = await fx.raw('hosts', 'id = ?', ['claim-1']);
      assert.equal(row.generation, 1);
      assert.equal(row.used_cpus, 1);
      assert.equal(Object.keys(JSON.parse(row.allocations as string)).length, 1);
    });

    it('a release happens exactly once, even when two race', async () => {
      let h = (await fx.store.hosts.register(inv('rel-1')))!;
      const mid = newId();
      const c = await fx.store.hosts.claim(h, mid, { cpus: 2, memoryKiB: 2048 });
      assert.ok(c.ok);
      h = c.host;
      const again = await fx.store.hosts.claim(h, mid, { cpus: 2, memoryKiB: 2048 });
      assert.equal(again.ok, false);
      const [a, b] = await Promise.all([fx.store.hosts.release('rel-1', mid), fx.store.hosts.release('rel-1', mid)]);
      assert.equal(Number(a) + Number(b), 1);
      const [row] = await fx.raw('hosts', 'id = ?', ['rel-1']);
      assert.equal(row.used_cpus, 0);
      assert.equal(row.used_memory_kib, 0);
      assert.equal(await fx.store.hosts.release('rel-1', mid), false);
    });

    it('claims from 4 processes never overcommit a host', async function () {
      this.timeout(180_000);
      await fx.store.hosts.register({ ...inv('proc-1'), cpus: 30 });
      const child = fileURLToPath(new URL('./claim-worker.js', import.meta.url));
      const wins = await Promise.all(Array.from({ length: 4 }, () => new Promise<number>((resolve, reject) => {
        const p = fork(child, [JSON.stringify(fx.config), 'proc-1', '12'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        p.on('message', (n) => resolve(n as number));
        p.on('exit', (code) => { if (code !== 0) reject(new Error(`claim worker exited ${code}`)); });
      })));
      assert.equal(wins.reduce((a, b) => a + b, 0), 30);
      const [row] = await fx.raw('hosts', 'id = ?', ['proc-1']);
      assert.equal(row.used_cpus, 30);
      assert.equal(Object.keys(JSON.parse(row.allocations as string)).length, 30);
    });

    it('scans every host exactly once across pages', async () => {
      for (let i = 0; i < 12; i++) await fx.store.hosts.register(inv(`scan-${i}`));
      const seen = new Set<string>();
      let pageState: string | null = null;
      do {
        const page = await fx.store.driver.scan('hosts', { limit: 5, pageState });
        for (const r of page.rows) { assert.ok(!seen.has(r.id as string)); seen.add(r.id as string); }
        pageState = page.pageState;
      } while (pageState);
      for (let i = 0; i < 12; i++) assert.ok(seen.has(`scan-${i}`));
    });
  });

  describe('leases and TTL', () => {
    it('one holder at a time; the lease expires by TTL and can then be taken', async function () {
      this.timeout(30_000);
      assert.equal(await fx.store.hosts.acquireLease('lease-1', 'agent-a', 2), true);
      assert.equal(await fx.store.hosts.acquireLease('lease-1', 'agent-b', 2), false);
      assert.equal(await fx.store.hosts.renewLease('lease-1', 'agent-a', 2), true);
      assert.equal(await fx.store.hosts.renewLease('lease-1', 'agent-b', 2), false);
      await sleep(3500);
      fx.purgeExpired();
      assert.equal((await fx.raw('host_leases', 'host_id = ?', ['lease-1'])).length, 0);
      assert.equal(await fx.store.hosts.acquireLease('lease-1', 'agent-b', 5), true);
      await fx.store.hosts.releaseLease('lease-1', 'agent-b');
      assert.equal((await fx.store.hosts.leases()).some((l) => l.hostId === 'lease-1'), false);
    });

    it('service registrations expire by TTL', async function () {
      this.timeout(30_000);
      await fx.store.services.announce({ role: 'placement', instanceId: 'p1', address: 'h:1', started: 1, lastSeen: 2, info: { v: 1 } }, 2);
      assert.equal((await fx.store.services.list('placement')).length, 1);
      await sleep(3500);
      fx.purgeExpired();
      assert.equal((await fx.store.services.list('placement')).length, 0);
      assert.equal((await fx.raw('services', 'role = ?', ['placement'])).length, 0);
    });
  });

  describe('jobs, events, accounting', () => {
    it('jobs are stored, updated and listed newest first', async () => {
      const base = { tenant: 'tj', targetId: newId(), targetType: 'machine', action: 'create', state: 'QUEUED' as const, progress: 0, statusMessage: '', returnCode: 0, targetGeneration: 1, expectedState: 'STARTED' };
      const j1 = await fx.store.jobs.create(base, Date.now());
      const j2 = await fx.store.jobs.create({ ...base, action: 'stop' }, Date.now() + 5);
      await fx.store.jobs.update(j1.id, { state: 'SUCCESS', progress: 100 });
      const [row] = await fx.raw('jobs', 'id = ?', [j1.id]);
      assert.equal(row.state, 'SUCCESS');
      assert.equal(row.action, 'create');
      const list = await fx.store.jobs.listByTenant('tj');
      assert.deepEqual(list.items.map((j) => j.id), [j2.id, j1.id]);
    });

    it('events are read per tenant and day, newest first, in pages', async () => {
      const day1 = Date.UTC(2026, 0, 10, 12);
      for (let i = 0; i < 7; i++) await fx.store.telemetry.appendEvent({ tenant: 'te', ts: day1 + i * 1000, type: 'state', severity: 'low', outcome: 'Status', resource: `m${i}`, content: { i } });
      await fx.store.telemetry.appendEvent({ tenant: 'te', ts: day1 + 86_400_000, type: 'state', severity: 'low', outcome: 'Status', resource: 'next', content: {} });
      const p1 = await fx.store.telemetry.events('te', '2026-01-10', { limit: 4 });
      assert.deepEqual(p1.items.map((e) => e.resource), ['m6', 'm5', 'm4', 'm3']);
      assert.ok(p1.pageState);
      const p2 = await fx.store.telemetry.events('te', '2026-01-10', { limit: 4, pageState: p1.pageState });
      assert.deepEqual(p2.items.map((e) => e.resource), ['m2', 'm1', 'm0']);
      assert.deepEqual((await fx.store.telemetry.events('te', '2026-01-11')).items.map((e) => e.resource), ['next']);
      assert.equal((await fx.raw('events', 'tenant = ? AND day = ?', ['te', '2026-01-10'])).length, 7);
    });

    it('accounting records have idempotent keys: re-sending overwrites', async () => {
      const rec = { tenant: 'tu', machineId: newId(), periodStart: Date.UTC(2026, 0, 10, 10), periodSeconds: 300, hostId: 'h', state: 'STARTED', vcpus: 2, memoryKiB: 1024, cpuSeconds: 10, stateSeconds: { RUNNING: 200.5, STOPPED: 50 }, observedSeconds: 250.5 };
      await fx.store.telemetry.putUsage(rec);
      await fx.store.telemetry.putUsage({ ...rec, cpuSeconds: 12 });
      await fx.store.telemetry.putUsage({ ...rec, periodStart: rec.periodStart + 300_000 });
      const usage = await fx.store.telemetry.usage('tu', '2026-01-10');
      assert.equal(usage.length, 2);
      assert.deepEqual(usage.find((u) => u.periodStart === rec.periodStart), { ...rec, cpuSeconds: 12 });
      assert.equal((await fx.raw('usage_records', 'tenant = ? AND day = ?', ['tu', '2026-01-10'])).length, 2);
      const paged: string[] = [];
      let pageState: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof fx.store.telemetry.usagePage>> = await fx.store.telemetry.usagePage('tu', '2026-01-10', { limit: 1, pageState });
        paged.push(...page.items.map((u) => `${u.machineId}@${u.periodStart}`));
        pageState = page.pageState;
      } while (pageState);
      assert.deepEqual(paged, usage.map((u) => `${u.machineId}@${u.periodStart}`), 'pages give every record once, in machine then period order');
    });

    it('a usage record written before migration 0016 reads as its whole period in its one state', async () => {
      const machineId = newId();
      const periodStart = Date.UTC(2026, 0, 12, 10);
      // The row as an agent before 0016 wrote it: no state_seconds, no observed_seconds.
      await fx.store.driver.put('usage_records', { tenant: 'tl', day: '2026-01-12', machine_id: machineId, period_start: periodStart, period_seconds: 300, host_id: 'h', state: 'RUNNING', vcpus: 1, memory_kib: 1024, cpu_seconds: 3 });
      const u = (await fx.store.telemetry.usageOf('tl', machineId, periodStart))!;
      assert.deepEqual([u.stateSeconds, u.observedSeconds], [{ RUNNING: 300 }, 300]);
    });
  });

  describe('accounts and catalog', () => {
    it('a user name is taken once, even by 10 concurrent creators', async () => {
      const u = (t: string) => ({ name: 'alice', tenant: t, passwordHash: 'x', roles: ['user'], disabled: false, created: 1 });
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => fx.store.accounts.createUser(u(`t${i}`))));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConflictError);
      const rows = await fx.raw('users', 'name = ?', ['alice']);
      assert.equal(rows.length, 1);
      assert.equal((await fx.store.accounts.getUser('alice'))?.roles[0], 'user');
      assert.equal(await fx.store.accounts.getUser('bob'), null);
      await assert.rejects(fx.store.accounts.getUser('Not Valid!'), ValidationError);
    });

    it('API keys are created once per id and read back', async () => {
      const k = { keyId: newId(), userName: 'alice', secretHash: 'hs256$salt$digest', created: 42, name: 'ci', description: 'the CI job', expires: null, revoked: null };
      await fx.store.accounts.createApiKey(k);
      await assert.rejects(fx.store.accounts.createApiKey({ ...k, userName: 'mallory' }), ConflictError);
      assert.deepEqual(await fx.store.accounts.getApiKey(k.keyId), k);
      assert.equal(await fx.store.accounts.getApiKey(newId()), null);
      assert.equal(await fx.store.accounts.getApiKey('not-an-id'), null);
      const rows = await fx.raw('api_keys', 'key_id = ?', [k.keyId]);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].user_name, 'alice');
      assert.equal(rows[0].expires, null);
      const listed = await fx.raw('api_keys_by_user', 'user_name = ? AND key_id = ?', ['alice', k.keyId]);
      assert.equal(listed.length, 1);
      assert.equal(listed[0].name, 'ci');
      assert.equal('secret_hash' in listed[0], false, 'the listing holds no hash');
    });

    it('API keys are listed per user in creation order, without hashes, and revoked once', async () => {
      const now = Date.now();
      const mk = (user: string, name: string, expires: number | null = null) => ({ keyId: newId(), userName: user, secretHash: `hs256$s$${name}`, created: now, name, description: '', expires, revoked: null });
      const a1 = await fx.store.accounts.createApiKey(mk('kuser', 'one'));
      const a2 = await fx.store.accounts.createApiKey(mk('kuser', 'two', now + 86_400_000));
      await fx.store.accounts.createApiKey(mk('kother', 'theirs'));
      const list = await fx.store.accounts.listApiKeys('kuser');
      assert.deepEqual(list.map((k) => k.name), ['one', 'two']);
      assert.equal(list[1].expires, now + 86_400_000);
      for (const k of list) assert.equal('secretHash' in k, false);
      assert.equal(await fx.store.accounts.revokeApiKey(a1.keyId, 'kother'), null, "another user's key is not theirs to revoke");
      assert.equal((await fx.store.accounts.getApiKey(a1.keyId))?.revoked, null);
      const [r1, r2] = await Promise.all([fx.store.accounts.revokeApiKey(a1.keyId, 'kuser', now + 5), fx.store.accounts.revokeApiKey(a1.keyId, 'kuser', now + 9)]);
      assert.ok(r1 && r2);
      assert.equal(r1.revoked, r2.revoked, 'two racing revokes agree on one revocation time');
      const stored = await fx.store.accounts.getApiKey(a1.keyId);
      assert.equal(stored?.revoked, r1.revoked);
      assert.equal(stored?.secretHash, 'hs256$s$one');
      assert.equal((await fx.store.accounts.listApiKeys('kuser')).find((k) => k.keyId === a1.keyId)?.revoked, r1.revoked);
      assert.equal((await fx.store.accounts.getApiKey(a2.keyId))?.revoked, null);
      assert.equal(await fx.store.accounts.revokeApiKey(newId(), 'kuser'), null);
      const raw = await fx.raw('api_keys', 'key_id = ?', [a1.keyId]);
      assert.equal(raw[0].revoked, r1.revoked);
    });

    it('API keys: bad values are refused and write nothing; a past expiry is refused', async () => {
      const now = Date.now();
      const base = { keyId: newId(), userName: 'kbad', secretHash: 'h', created: now, name: '', description: '', expires: null, revoked: null };
      await assert.rejects(fx.store.accounts.createApiKey({ ...base, keyId: 'nope' }), ValidationError);
      await assert.rejects(fx.store.accounts.createApiKey({ ...base, userName: 'Bad Name' }), ValidationError);
      await assert.rejects(fx.store.accounts.createApiKey({ ...base, expires: now - 1 }), ValidationError);
      assert.deepEqual(await fx.store.accounts.listApiKeys('kbad'), []);
      assert.equal(await fx.store.accounts.getApiKey(base.keyId), null);
    });

    it('disabling a user is stored on the user row; an unknown user is a conflict', async () => {
      await fx.store.accounts.createUser({ name: 'dora', tenant: 'td', passwordHash: 'x', roles: ['user'], disabled: false, created: 1 });
      await fx.store.accounts.setUserDisabled('dora', true);
      assert.equal((await fx.store.accounts.getUser('dora'))?.disabled, true);
      assert.equal((await fx.raw('users', 'name = ?', ['dora']))[0].disabled, fx.kind === 'embedded' ? 1 : true);
      await fx.store.accounts.setUserDisabled('dora', false);
      assert.equal((await fx.store.accounts.getUser('dora'))?.disabled, false);
      await assert.rejects(fx.store.accounts.setUserDisabled('nobody', true), ConflictError);
    });

    it('catalog items are created, listed per kind and removed', async () => {
      const c = await fx.store.catalog.create('machineConfig', 'small', null, { cpu: 1, memory: 524288 });
      await fx.store.catalog.create('machineImage', 'debian', null, { imageLocation: '/img' });
      assert.deepEqual((await fx.store.catalog.list('machineConfig')).map((i) => i.name), ['small']);
      assert.equal((await fx.store.catalog.get('machineConfig', c.id))?.body.cpu, 1);
      await fx.store.catalog.remove('machineConfig', c.id);
      assert.equal(await fx.store.catalog.get('machineConfig', c.id), null);
      assert.equal((await fx.raw('catalog', 'kind = ? AND id = ?', ['machineConfig', c.id])).length, 0);
    });
  });

  describe('quotas', () => quotaContract(() => fx));
  describe('login attempts', () => loginAttemptsContract(() => fx));
  describe('events by resource', () => eventsByResourceContract(() => fx));
  describe('rate usage', () => rateUsageContract(() => fx));
  describe('networks', () => networksContract(() => fx));
  describe('captured images', () => capturedImageContract(() => fx));
  describe('volumes', () => volumesContract(() => fx));
  describe('placement bindings', () => bindingsContract(() => fx));
  describe('host monitoring', () => monitoringContract(() => fx));
}
