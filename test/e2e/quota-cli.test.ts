/** `skybus quota set|show|repair` on the bus directly (embedded store), as an operator runs it. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../schema/bus-store.js';
import { newId } from '../../schema/ids.js';

const BIN = fileURLToPath(new URL('../../cli/skybus.js', import.meta.url));

describe('the skybus quota commands', function () {
  this.timeout(60_000);
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 30_000 });
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skybus-quota-cli-'));
    env = { ...process.env, SKYBUS_STORE: 'embedded', SKYBUS_DB_PATH: join(dir, 'bus.sqlite'), SKYBUS_CASSANDRA_CONTACT_POINTS: '' };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('quota set writes limits, quota show reads them (table and --json); unlimited clears one; bad input exits non-zero', () => {
    const set = run('quota', 'set', 'acme', '--machines', '10', '--cpu', '12', '--memory-mib', '8192');
    assert.equal(set.status, 0, set.stderr);
    assert.match(set.stdout, /acme\s+0\/10\s+0\/12\s+0\/8192/);
    assert.equal(run('quota', 'set', 'acme', '--cpu', 'unlimited').status, 0);
    const show = run('quota', 'show', 'acme', '--json');
    assert.equal(show.status, 0, show.stderr);
    assert.deepEqual(JSON.parse(show.stdout), {
      tenant: 'acme', limits: { machines: 10, cpu: null, memoryMiB: 8192 }, usage: { machines: 0, cpu: 0, memoryMiB: 0 },
      volumeLimits: { volumes: null, volumeGiB: null }, volumeUsage: { volumes: 0, volumeGiB: 0 },
    });
    // Volumes (docs/volumes.md): their own two limits on the same row.
    const vol = run('quota', 'set', 'acme', '--volumes', '4', '--volume-gib', '100');
    assert.equal(vol.status, 0, vol.stderr);
    assert.match(vol.stdout, /acme\s+0\/10\s+0\/unlimited\s+0\/8192\s+0\/4\s+0\/100/);
    assert.equal(run('quota', 'set', 'acme', '--volumes', 'unlimited', '--volume-gib', 'unlimited').status, 0);
    assert.match(run('quota', 'show').stdout, /acme\s+0\/10\s+0\/unlimited\s+0\/8192/);
    for (const bad of [['--cpu', '-1'], ['--machines', 'many'], []]) {
      const r = run('quota', 'set', 'acme', ...bad);
      assert.notEqual(r.status, 0, bad.join(' '));
      assert.match(r.stderr, /^skybus: /);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.notEqual(run('quota', 'set', 'Bad Tenant', '--machines', '1').status, 0);
    assert.deepEqual(JSON.parse(run('quota', 'show', '--json').stdout).map((q: { tenant: string }) => q.tenant), ['acme']);
  });

  it('quota repair sets the totals to what the machines add up to; refuses a tenant that just changed; --dry-run writes nothing', async () => {
    const store = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
    try {
      await store.quotas.charge('leaky', newId(), { cpus: 2, memoryKiB: 2048 * 1024 }); // charged; its machine was never written
    } finally { await store.close(); }
    const busy = run('quota', 'repair', 'leaky');
    assert.notEqual(busy.status, 0);
    assert.match(busy.stderr, /^skybus: quota of leaky changed \d+ s ago/);
    const dry = run('quota', 'repair', 'leaky', '--settle-seconds', '0', '--dry-run', '--json');
    assert.equal(dry.status, 0, dry.stderr);
    assert.deepEqual(JSON.parse(dry.stdout), { tenant: 'leaky', before: { machines: 1, cpu: 2, memoryMiB: 2048 }, counted: { machines: 0, cpu: 0, memoryMiB: 0 }, volumesBefore: { volumes: 0, volumeGiB: 0 }, volumesCounted: { volumes: 0, volumeGiB: 0 }, releasedPresent: 0, applied: false });
    assert.match(run('quota', 'show', 'leaky').stdout, /leaky\s+1\/unlimited/);
    const fixed = run('quota', 'repair', 'leaky', '--settle-seconds', '0');
    assert.equal(fixed.status, 0, fixed.stderr);
    assert.match(fixed.stdout, /leaky: totals set to the counted values/);
    assert.match(run('quota', 'show', 'leaky').stdout, /leaky\s+0\/unlimited\s+0\/unlimited\s+0\/unlimited/);
    assert.notEqual(run('quota', 'repair').status, 0);
  });
});
