/**
 * skybus volume list|create|show|delete|attach|detach as a user runs them against `skybus all` on a
 * fresh embedded store (test hypervisor); bad input gives a message and a non-zero exit.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSize } from '../../cli/volume-commands.js';

const BIN = fileURLToPath(new URL('../../cli/skybus.js', import.meta.url));

describe('skybus volume', function () {
  this.timeout(120_000);
  let dir: string;
  let all: ChildProcess;
  let env: NodeJS.ProcessEnv;
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 60_000 });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skybus-vol-cli-'));
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

  it('sizes: 10G, 512M, 1T, bare GiB; nonsense refused', () => {
    assert.equal(parseSize('10G'), 10 * 1024 * 1024);
    assert.equal(parseSize('512M'), 512 * 1024);
    assert.equal(parseSize('1TiB'), 1024 ** 3);
    assert.equal(parseSize('2'), 2 * 1024 * 1024);
    for (const bad of ['abc', '10X', '', '1K', '-1G']) assert.throws(() => parseSize(bad), /--size/);
  });

  it('create, attach to a stopped machine, list, show, detach, delete, with --wait and --json', () => {
    const m = run('machine', 'create', '--config', 'small', '--image', 'tiny-linux', '--state', 'STOPPED', '--name', 'vm', '--wait', '--json');
    assert.equal(m.status, 0, m.stderr);
    const machineId = (JSON.parse(m.stdout) as { id: string }).id.split('/').pop()!;
    const created = run('volume', 'create', '--size', '1G', '--format', 'raw', '--name', 'data', '--wait', '--json');
    assert.equal(created.status, 0, created.stderr);
    const v = JSON.parse(created.stdout) as { id: string; state: string; capacity: number; format: string };
    assert.deepEqual([v.state, v.capacity, v.format], ['AVAILABLE', 1024 * 1024, 'raw']);
    const id = v.id.split('/').pop()!;
    const att = run('volume', 'attach', id, '--machine', machineId, '--device', 'vdc', '--wait');
    assert.equal(att.status, 0, att.stderr);
    assert.match(att.stderr, /\(vdc\)/);
    const list = run('volume', 'list');
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${id}\\s+data\\s+AVAILABLE\\s+1048576\\s+raw\\s+${machineId}`));
    const show = run('volume', 'show', id);
    assert.match(show.stdout, /attachedTo\s+http/);
    const refused = run('volume', 'delete', id);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^skybus: 409: .*detach it first/m);
    const det = run('volume', 'detach', id, '--wait');
    assert.equal(det.status, 0, det.stderr);
    const del = run('volume', 'delete', id, '--wait');
    assert.equal(del.status, 0, del.stderr);
    assert.match(del.stdout, /deleted/);
    assert.equal(run('volume', 'show', id).status, 1);
  });

  it('bad input: a message and a non-zero exit, never a stack trace', () => {
    const cases: [string[], number, RegExp][] = [
      [['volume', 'create'], 1, /exactly one of --template, --config or --size/],
      [['volume', 'create', '--size', 'lots'], 1, /not a size/],
      [['volume', 'create', '--config', 'x', '--format', 'raw'], 1, /--format goes with --size/],
      [['volume', 'create', '--config', 'nope'], 1, /no volumeConfigs named 'nope'/],
      [['volume', 'attach', 'not-an-id', '--machine', 'x'], 1, /not a volume id/],
      [['volume', 'detach', '01a20867-e166-774b-a077-daa86ce705ad'], 1, /404/],
      [['volume', 'create', '--size', '1G', '--colour', 'red'], 2, /Unknown argument/i],
    ];
    for (const [args, code, msg] of cases) {
      const r = run(...args);
      assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});
