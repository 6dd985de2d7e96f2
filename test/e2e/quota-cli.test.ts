/** `skybus quota set|show` on the bus directly (embedded store), as an operator runs it. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
    assert.deepEqual(JSON.parse(show.stdout), { tenant: 'acme', limits: { machines: 10, cpu: null, memoryMiB: 8192 }, usage: { machines: 0, cpu: 0, memoryMiB: 0 } });
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
});
