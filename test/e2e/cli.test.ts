/**
 * The skybus executable as a user runs it: `skybus all` on a fresh embedded store prints the URL and
 * a login; the machine commands drive a machine through its life; bad input gives a message and a
 * non-zero exit, never a stack trace.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ed25519PublicKey } from '../helpers/ssh-keys.js';

const BIN = fileURLToPath(new URL('../../cli/skybus.js', import.meta.url));

describe('the skybus command', function () {
  this.timeout(120_000);
  let dir: string;
  let all: ChildProcess;
  let env: NodeJS.ProcessEnv;

  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 60_000 });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skybus-cli-'));
    env = { ...process.env, SKYBUS_DATA_DIR: dir, SKYBUS_STORE: 'embedded', SKYBUS_CASSANDRA_CONTACT_POINTS: '', SKYBUS_LOG_LEVEL: 'warn' };
    all = spawn(process.execPath, [BIN, 'all', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const banner = await new Promise<string>((resolve, reject) => {
      all.stdout!.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('Stop with Ctrl-C')) resolve(out); });
      all.on('exit', (code) => reject(new Error(`skybus all exited ${code}: ${out}`)));
      setTimeout(() => reject(new Error(`no banner: ${out}`)), 60_000);
    });
    const url = /CIMI API:\s+(http:\/\/\S+)\/api\/cloudEntryPoint/.exec(banner)?.[1];
    const login = /login:\s+(\S+) \/ (\S+)/.exec(banner);
    assert.ok(url && login, `banner lacks URL or login: ${banner}`);
    env = { ...env, SKYBUS_URL: url, SKYBUS_USER: login[1], SKYBUS_PASSWORD: login[2] };
  });

  after(async () => {
    if (all && all.exitCode === null) {
      const exited = new Promise((r) => all.once('exit', r));
      all.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates, stops and deletes a machine with --wait, human and --json output', () => {
    const created = run('machine', 'create', '--config', 'small', '--image', 'tiny-linux', '--name', 'cli-vm', '--wait', '--json');
    assert.equal(created.status, 0, created.stderr);
    const m = JSON.parse(created.stdout) as { id: string; state: string; name: string };
    assert.equal(m.state, 'STARTED');
    assert.equal(m.name, 'cli-vm');
    const id = m.id.split('/').pop()!;
    const list = run('machine', 'list');
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${id}\\s+cli-vm\\s+STARTED`));
    const stopped = run('machine', 'stop', id, '--wait', '--json');
    assert.equal(stopped.status, 0, stopped.stderr);
    assert.equal(JSON.parse(stopped.stdout).state, 'STOPPED');
    const refused = run('machine', 'pause', id);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /409: cannot pause .* STOPPED/);
    const deleted = run('machine', 'delete', id, '--wait', '--json');
    assert.equal(deleted.status, 0, deleted.stderr);
    const shown = run('machine', 'show', id);
    assert.equal(shown.status, 1);
    assert.match(shown.stderr, /404/);
  });

  it('key create prints the secret once, key list shows the key without it, key revoke → the key gets 401', async () => {
    const created = run('key', 'create', '--name', 'cli-key', '--expires-in-days', '30');
    assert.equal(created.status, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^sbk_[0-9a-f-]{36}_[A-Za-z0-9_-]{43}$/);
    assert.match(created.stderr, /shown only now/);
    const id = token.slice(4, 40);
    const use = () => fetch(`${env.SKYBUS_URL!}/api/machines`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await use()).status, 200);
    const list = run('key', 'list');
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${id}\\s+cli-key\\s+ACTIVE`));
    assert.equal(list.stdout.includes(token.slice(41)), false, 'the secret is never listed');
    const json = run('key', 'list', '--json');
    assert.equal(json.stdout.includes(token.slice(41)), false);
    assert.equal((JSON.parse(json.stdout) as { name: string }[]).some((k) => k.name === 'cli-key'), true);
    const revoked = run('key', 'revoke', id);
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`API key ${id} revoked`));
    assert.equal((await use()).status, 401);
    assert.match(run('key', 'list').stdout, new RegExp(`${id}\\s+cli-key\\s+REVOKED`));
    const again = run('key', 'revoke', 'not-a-key');
    assert.equal(again.status, 1);
    assert.match(again.stderr, /'not-a-key' is not an API key id/);
  });

  it('network create|list|show|delete, machine create --network; delete refused while a machine uses it; bad input exit 1', () => {
    const created = run('network', 'create', '--name', 'cli-net', '--host-group', 'default', '--type', 'PRIVATE');
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /^network [0-9a-f-]{36} 'cli-net' created$/m);
    const list = run('network', 'list');
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /cli-net\s+PRIVATE\s+STARTED\s+default:\*/);
    const shown = run('network', 'show', 'cli-net', '--json');
    assert.equal(shown.status, 0, shown.stderr);
    assert.deepEqual(JSON.parse(shown.stdout).hostGroups, [{ hostLabels: {}, libvirtNetwork: 'default' }]);
    const m = run('machine', 'create', '--config', 'small', '--image', 'tiny-linux', '--name', 'netted', '--network', 'cli-net', '--wait', '--json');
    assert.equal(m.status, 0, m.stderr);
    const id = (JSON.parse(m.stdout) as { id: string }).id.split('/').pop()!;
    const busy = run('network', 'delete', 'cli-net');
    assert.equal(busy.status, 1);
    assert.match(busy.stderr, new RegExp(`409: .*used by 1 machine: ${id}`));
    assert.equal(run('machine', 'delete', id, '--wait').status, 0);
    const del = run('network', 'delete', 'cli-net');
    assert.equal(del.status, 0, del.stderr);
    assert.match(run('network', 'list').stdout, /0 network\(s\)/);
    const bad = run('network', 'create', '--name', 'bad', '--libvirt-network', 'a/b');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /400: .*libvirtNetwork must be/);
    const none = run('network', 'create', '--name', 'bad');
    assert.equal(none.status, 1);
    assert.match(none.stderr, /give --libvirt-network/);
  });

  it('credential create --ssh-key-file, list, machine create --credential <name>, delete; a bad key file is a 400 and exit 1', () => {
    const key = ed25519PublicKey('cli@test');
    writeFileSync(join(dir, 'id.pub'), key + '\n');
    writeFileSync(join(dir, 'bad.pub'), 'ssh-rsa AAAA not a key\n');
    const created = run('credential', 'create', '--name', 'cli-key', '--ssh-key-file', join(dir, 'id.pub'));
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /^credential [0-9a-f-]{36} 'cli-key' created$/m);
    const list = run('credential', 'list', '--json');
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual((JSON.parse(list.stdout) as { name: string; publicKey: string }[]).map((c) => [c.name, c.publicKey]), [['cli-key', key]]);
    const m = run('machine', 'create', '--config', 'small', '--image', 'tiny-linux', '--name', 'keyed', '--credential', 'cli-key', '--json');
    assert.equal(m.status, 0, m.stderr);
    const unknown = run('machine', 'create', '--config', 'small', '--image', 'tiny-linux', '--credential', 'nope');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no credential named 'nope'/);
    const bad = run('credential', 'create', '--name', 'bad', '--ssh-key-file', join(dir, 'bad.pub'));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /400: CredentialCreate\.credentialTemplate\.publicKey /);
    assert.doesNotMatch(bad.stderr, /at .*\.js:\d+/);
    const del = run('credential', 'delete', 'cli-key');
    assert.equal(del.status, 0, del.stderr);
    assert.match(run('credential', 'list').stdout, /0 credential\(s\)/);
  });

  it('bad input: a clear message and a non-zero exit, no stack trace', () => {
    const cases: [string[], number, RegExp][] = [
      [['frobnicate'], 2, /Unknown argument|Did you mean/],
      [['machine', 'show', 'not-an-id'], 1, /'not-an-id' is not a machine id/],
      [['machine', 'create', '--config', 'nope', '--image', 'tiny-linux'], 1, /no machineConfigs named 'nope'/],
      [['machine', 'list', '--password', 'wrong'], 1, /401/],
      [['user', 'add', 'Bad Name!', '--tenant', 'acme', '--password', 'longenough'], 1, /user name must be/],
      [['user', 'add', 'frank', '--password', 'longenough'], 1, /--tenant is required/],
      [['user', 'add', 'frank', '--tenant', 'Acme Corp', '--password', 'longenough'], 1, /tenant name must be/],
      [['user', 'add', 'frank', '--tenant', 'acme', '--password', 'has\u0007bell'], 1, /control characters/],
      [['machine', 'create', '--config', 'small', '--image', 'tiny-linux', '--name', 'two\nlines'], 1, /400: .*name contains a line feed/],
      [['config', 'add', '--name', 'x', '--cpu', '0', '--memory-mib', '512'], 1, /--cpu must be a positive integer/],
      [['all', '--agents', '0'], 2, /--agents must be 1..1000/],
      [['host', 'remove', 'no-such-host'], 1, /no host 'no-such-host'/],
      [['host', 'remove', 'bad host!'], 1, /host id must be/],
      [['host', 'remove', `${hostname()}-test`], 1, /is up \(its agent holds the lease\): stop its agent first/],
      [['frontend', '--port', String(new URL(env.SKYBUS_URL!).port)], 1, /is already in use: choose another port/],
    ];
    for (const [args, code, message] of cases) {
      const r = run(...args);
      assert.equal(r.status, code, `${args.join(' ')}: exit ${r.status}, stderr ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, `stack trace for ${args.join(' ')}`);
    }
  });

  it('usage: a table, --json and --csv of the same report; bad ranges exit 1 with the reason', () => {
    const from = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const to = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const json = run('usage', '--from', from, '--to', to, '--by', 'machine', '--json');
    assert.equal(json.status, 0, json.stderr);
    const body = JSON.parse(json.stdout) as { reports: { tenant: string; totals: { vcpuHours: number }; byMachine: { machineId: string }[] }[] };
    assert.ok(Array.isArray(body.reports));
    const csv = run('usage', '--from', from, '--to', to, '--by', 'machine', '--csv');
    assert.equal(csv.status, 0, csv.stderr);
    const lines = csv.stdout.trim().split('\r\n');
    assert.match(lines[0]!, /^tenant,machine,from,to,records,observed_hours,unobserved_hours,vcpu_hours,gib_hours,cpu_hours_used/);
    assert.equal(lines.length - 1, body.reports.reduce((n, r) => n + r.byMachine.length + 1, 0), 'a CSV row per machine and per tenant total');
    const tableOut = run('usage', '--from', from, '--to', to);
    assert.equal(tableOut.status, 0, tableOut.stderr);
    assert.match(tableOut.stdout, new RegExp(`${body.reports.length} tenant\\(s\\)`));
    for (const [args, message] of [
      [['--from', to, '--to', from], /400: to must be after from/],
      [['--from', 'last tuesday', '--to', to], /400: from must be ISO 8601/],
      [['--from', from, '--to', to, '--json', '--csv'], /give --json or --csv, not both/],
    ] as [string[], RegExp][]) {
      const r = run('usage', ...args);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });

  it('schema migrate is idempotent and host list shows the test host up', () => {
    const migrated = run('schema', 'migrate');
    assert.equal(migrated.status, 0, migrated.stderr);
    assert.match(migrated.stdout, /schema up to date \(\d+ migrations\)/);
    const hosts = run('host', 'list', '--json');
    assert.equal(hosts.status, 0, hosts.stderr);
    const rows = JSON.parse(hosts.stdout) as { health: string; cpus: string; lastSeen: string }[];
    assert.equal(rows.length, 1);
    assert.equal(rows[0].health, 'up');
    assert.ok(Date.now() - Date.parse(rows[0].lastSeen) < 60_000, `last heartbeat ${rows[0].lastSeen}`);
    assert.match(rows[0].cpus, /^\d+\/16$/);
  });

  it('placement policy set|show, explain, host drain|enable: a drained host gets no new machine until enabled', async () => {
    const host = `${hostname()}-test`;
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ weigher: 'striping', cpuAllocationRatio: 2 }));
    const set = run('placement', 'policy', 'set', join(dir, 'policy.json'));
    assert.equal(set.status, 0, set.stderr);
    assert.match(set.stdout, /placement policy version 1 stored \(weigher striping\)/);
    const shown = JSON.parse(run('placement', 'policy', 'show').stdout) as { version: number; weigher: string; cpuAllocationRatio: number };
    assert.deepEqual([shown.version, shown.weigher, shown.cpuAllocationRatio], [1, 'striping', 2]);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ weigher: 'striping', hostGroups: [{ name: 'g', labels: {} }] }));
    const bad = run('placement', 'policy', 'set', join(dir, 'bad.json'));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /hostGroups\[0\]\.labels must name at least one label/);
    assert.equal((JSON.parse(run('placement', 'policy', 'show').stdout) as { version: number }).version, 1, 'the bad one never stored');

    const drained = run('host', 'drain', host);
    assert.equal(drained.status, 0, drained.stderr);
    assert.match(drained.stdout, new RegExp(`host ${host} drained`));
    const created = run('machine', 'create', '--config', 'small', '--image', 'tiny-linux', '--name', 'waits', '--json');
    assert.equal(created.status, 0, created.stderr);
    const id = (JSON.parse(created.stdout) as { id: string }).id.split('/').pop()!;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((JSON.parse(run('machine', 'show', id, '--json').stdout) as { state: string }).state, 'CREATING', 'nothing placed on a drained host');
    const why = run('placement', 'explain', id);
    assert.equal(why.status, 0, why.stderr);
    assert.match(why.stdout, /policy version 1 \(weigher striping\)/);
    assert.match(why.stdout, new RegExp(`${host}\\s+-\\s+rejected: disabled`));
    assert.match(why.stdout, /fits nowhere: 0 of 1 hosts fit: 1 disabled/);
    const enabled = run('host', 'enable', host);
    assert.equal(enabled.status, 0, enabled.stderr);
    let state = '';
    for (let i = 0; i < 60 && state !== 'STARTED'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      state = (JSON.parse(run('machine', 'show', id, '--json').stdout) as { state: string }).state;
    }
    assert.equal(state, 'STARTED');
    assert.match(run('placement', 'explain', id).stdout, new RegExp(`${host}\\s+-\\s+fits`));
    assert.equal(run('machine', 'delete', id, '--wait').status, 0);
  });

  it('admin commands add a user who can then log in', () => {
    const added = run('user', 'add', 'dave', '--tenant', 'acme', '--password', 'dave-password-1');
    assert.equal(added.status, 0, added.stderr);
    const again = run('user', 'add', 'dave', '--tenant', 'acme', '--password', 'dave-password-1');
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already exists/);
    // A password with colons: Basic credentials split at the first colon only, so it logs in.
    assert.equal(run('user', 'add', 'erin', '--tenant', 'acme', '--password', 'pass:word:with:colons').status, 0);
    const erin = spawnSync(process.execPath, [BIN, 'machine', 'list'], { env: { ...env, SKYBUS_USER: 'erin', SKYBUS_PASSWORD: 'pass:word:with:colons' }, encoding: 'utf8' });
    assert.equal(erin.status, 0, erin.stderr);
    // The login is in the audit trail, which operators read from the bus.
    const audit = run('audit', 'list', '--since', '1h', '--user', 'erin', '--json');
    assert.equal(audit.status, 0, audit.stderr);
    const rows = JSON.parse(audit.stdout) as { action: string; outcome: string; tenant: string }[];
    assert.ok(rows.some((r) => r.action === 'login' && r.outcome === 'success' && r.tenant === 'acme'), audit.stdout);
    assert.match(run('audit', 'list', '--since', 'last tuesday').stderr, /is not a time/);
    const list = spawnSync(process.execPath, [BIN, 'machine', 'list'], { env: { ...env, SKYBUS_USER: 'dave', SKYBUS_PASSWORD: 'dave-password-1' }, encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /0 machine\(s\)/);
  });
});
