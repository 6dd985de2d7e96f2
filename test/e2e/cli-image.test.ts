/**
 * `skybus image` as a user runs it against `skybus all` (test hypervisor): capture a machine with
 * --wait, see the image AVAILABLE in `image list`; clear errors and non-zero exits otherwise.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../cli/skybus.js', import.meta.url));

describe('the skybus image command', function () {
  this.timeout(120_000);
  let dir: string;
  let all: ChildProcess;
  let env: NodeJS.ProcessEnv;
  let url: string;

  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 60_000 });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skybus-cli-image-'));
    env = { ...process.env, SKYBUS_DATA_DIR: dir, SKYBUS_STORE: 'embedded', SKYBUS_CASSANDRA_CONTACT_POINTS: '', SKYBUS_LOG_LEVEL: 'warn' };
    all = spawn(process.execPath, [BIN, 'all', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const banner = await new Promise<string>((resolve, reject) => {
      all.stdout!.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('Stop with Ctrl-C')) resolve(out); });
      all.on('exit', (code) => reject(new Error(`skybus all exited ${code}: ${out}`)));
      setTimeout(() => reject(new Error(`no banner: ${out}`)), 60_000);
    });
    url = /CIMI API:\s+(http:\/\/\S+)\/api\/cloudEntryPoint/.exec(banner)![1]!;
    const login = /login:\s+(\S+) \/ (\S+)/.exec(banner)!;
    env = { ...env, SKYBUS_URL: url, SKYBUS_USER: login[1], SKYBUS_PASSWORD: login[2] };
    // A configuration with a data disk: the seeded tiny-linux boots a kernel, so its disk is what a capture copies.
    const res = await fetch(`${url}/api/machineConfigs`, {
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from(`${login[1]}:${login[2]}`).toString('base64'), 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ name: 'with-disk', cpu: 1, memory: 524288, disks: [{ capacity: 1048576 }] }),
    });
    assert.equal(res.status, 201, await res.text());
  });

  after(async () => {
    if (all && all.exitCode === null) {
      const exited = new Promise((r) => all.once('exit', r));
      all.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('captures a machine with --wait; image list shows it AVAILABLE; a machine is made from it', () => {
    const created = run('machine', 'create', '--config', 'with-disk', '--image', 'tiny-linux', '--name', 'src', '--wait', '--json');
    assert.equal(created.status, 0, created.stderr);
    const id = (JSON.parse(created.stdout) as { id: string }).id.split('/').pop()!;
    const cap = run('image', 'capture', id, '--name', 'golden', '--wait', '--json');
    assert.equal(cap.status, 0, cap.stderr);
    const image = JSON.parse(cap.stdout) as { id: string; state: string; format: string; name: string };
    assert.equal(image.state, 'AVAILABLE');
    assert.equal(image.format, 'kernel');
    const list = run('image', 'list');
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${image.id.split('/').pop()}\\s+golden\\s+AVAILABLE\\s+kernel\\s+tenant`));
    assert.match(list.stdout, /tiny-linux\s+AVAILABLE\s+kernel\s+public/);
    const clone = run('machine', 'create', '--config', 'with-disk', '--image', 'golden', '--name', 'clone', '--wait', '--json');
    assert.equal(clone.status, 0, clone.stderr);
    assert.equal((JSON.parse(clone.stdout) as { state: string }).state, 'STARTED');
    const del = run('image', 'delete', image.id.split('/').pop()!);
    assert.equal(del.status, 0, del.stderr);
    assert.doesNotMatch(run('image', 'list').stdout, /golden/);
  });

  it('the operators\' image add still publishes (on the bus directly), inside the same image command', () => {
    const add = run('image', 'add', '--name', 'ops-img', '--location', '/var/lib/skybus/images/ops.qcow2');
    assert.equal(add.status, 0, add.stderr);
    assert.match(run('image', 'list').stdout, /ops-img\s+AVAILABLE\s+qcow2\s+public/);
  });

  it('clear errors and a non-zero exit: nothing to capture, a bad id, an unknown machine, no --name', () => {
    const created = run('machine', 'create', '--config', 'small', '--image', 'tiny-linux', '--name', 'diskless', '--wait', '--json');
    assert.equal(created.status, 0, created.stderr);
    const id = (JSON.parse(created.stdout) as { id: string }).id.split('/').pop()!;
    const none = run('image', 'capture', id, '--name', 'x');
    assert.equal(none.status, 1);
    assert.match(none.stderr, /^skybus: machine .* cannot be captured now: it has no disk to capture/m);
    const bad = run('image', 'capture', 'nope', '--name', 'x');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /'nope' is not a machine id/);
    const unknown = run('image', 'capture', '01900000-0000-7000-8000-000000000000', '--name', 'x');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /404: no machine/);
    const usage = run('image', 'capture', id);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /name/);
    for (const r of [none, bad, unknown, usage]) assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/, 'no stack trace');
  });
});
