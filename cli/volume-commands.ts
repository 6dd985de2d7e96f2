/**
 * User commands for volumes over the CIMI API (docs/volumes.md):
 *   skybus volume list | create | show <id> | delete <id> | attach <id> --machine <id> [--device vdX] | detach <id>
 */
import type { Argv } from 'yargs';
import { ValidationError } from '../errors/registry.js';
import type { ApiClient } from './api-client.js';
import { client, resolveRef, waitForJob, type ApiArgs } from './machine-commands.js';
import { table } from './output.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';
const UNITS: Record<string, number> = { K: 1, M: 1024, G: 1024 ** 2, T: 1024 ** 3 };

/** '10G', '512M', '1T', '1048576K'; a bare number is GiB. Returns KiB. */
export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT])?(?:i?B)?\s*$/i.exec(s);
  if (!m) throw new ValidationError(`--size '${s}' is not a size: give e.g. 10G, 512M or 1T (a bare number is GiB)`);
  const kib = Math.round(Number(m[1]) * UNITS[(m[2] ?? 'G').toUpperCase()]!);
  if (!Number.isSafeInteger(kib) || kib < 1024) throw new ValidationError(`--size '${s}' is too small: at least 1M`);
  return kib;
}

function url(a: ApiArgs, collection: string, id: string, what: string): string {
  if (/^https?:\/\//.test(id)) return id;
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new ValidationError(`'${id}' is not a ${what} id`);
  return `${a.url.replace(/\/+$/, '')}/api/${collection}/${id}`;
}

function show(v: Record<string, unknown>, json: boolean): void {
  if (json) { process.stdout.write(JSON.stringify(v, null, 2) + '\n'); return; }
  const flat = { ...v, attachedTo: (v.attachedTo as { href?: string } | undefined)?.href };
  const rows = ['id', 'name', 'state', 'capacity', 'format', 'attachedTo', 'statusMessage', 'hostId', 'created'].map((k) => ({ field: k, value: flat[k as keyof typeof flat] }));
  process.stdout.write(table(rows, ['field', 'value']) + '\n');
}

async function done(a: ApiArgs & { wait: boolean; timeout: number }, c: ApiClient, job: string | null, what: string): Promise<void> {
  if (a.wait) await waitForJob(c, job, a.json, a.timeout);
  else if (!a.json) process.stdout.write(`${what} accepted; job ${job ?? '(none)'}\n`);
}

export function volumeCommands<T>(y: Argv<T>): Argv<T> {
  return y.command('volume', 'create, list, attach and detach volumes through the CIMI API', (v) => v
    .option('url', { type: 'string', default: process.env.SKYBUS_URL ?? 'http://127.0.0.1:8080' })
    .option('user', { type: 'string', default: process.env.SKYBUS_USER })
    .option('password', { type: 'string', default: process.env.SKYBUS_PASSWORD })
    .option('json', { type: 'boolean', default: false })
    .option('wait', { type: 'boolean', default: false, describe: 'follow the Job until it ends' })
    .option('timeout', { type: 'number', default: 300, describe: 'seconds --wait waits' })
    .command('create', 'create a volume: from a volume template or configuration, or of a size', (c) => c
      .option('name', { type: 'string', default: '' })
      .option('template', { type: 'string', describe: 'volume template name or id' })
      .option('config', { type: 'string', describe: 'volume configuration name or id' })
      .option('size', { type: 'string', describe: 'inline size, e.g. 10G (with --format)' })
      .option('format', { type: 'string', choices: ['qcow2', 'raw'], describe: 'with --size (default qcow2)' }),
    async (a) => {
      const given = [a.template, a.config, a.size].filter((x) => x !== undefined).length;
      if (given !== 1) throw new ValidationError('give exactly one of --template, --config or --size');
      if (a.format !== undefined && a.size === undefined) throw new ValidationError('--format goes with --size (a configuration has its own format)');
      const capacity = a.size !== undefined ? parseSize(a.size) : 0;
      const c = client(a);
      const volumeTemplate = a.template !== undefined
        ? { href: await resolveRef(c, 'volumeTemplates', 'volumeTemplates', a.template) }
        : a.config !== undefined
          ? { volumeConfig: { href: await resolveRef(c, 'volumeConfigs', 'volumeConfigurations', a.config) } }
          : { volumeConfig: { capacity, format: a.format ?? 'qcow2' } };
      const res = await c.call('POST', '/api/volumes', { resourceURI: `${CIMI}/VolumeCreate`, name: a.name, volumeTemplate });
      const location = res.headers.get('location') ?? String(res.body.id);
      if (!a.json) process.stderr.write(`volume ${location}\n`);
      if (a.wait) await waitForJob(c, res.headers.get('cimi-job-uri'), a.json, a.timeout);
      show((await c.call('GET', location)).body, a.json);
    })
    .command('list', 'list your volumes', (c) => c.option('filter', { type: 'string', describe: 'CIMI $filter' }), async (a) => {
      const q = a.filter ? `?$filter=${encodeURIComponent(a.filter)}` : '';
      const { body } = await client(a).call('GET', `/api/volumes${q}`);
      const items = (body.volumes as Record<string, unknown>[] | undefined) ?? [];
      if (a.json) { process.stdout.write(JSON.stringify(items, null, 2) + '\n'); return; }
      const rows = items.map((i) => ({ ...i, id: String(i.id).split('/').pop(), machine: (i.attachedTo as { href?: string } | undefined)?.href?.split('/').pop() }));
      process.stdout.write(table(rows, ['id', 'name', 'state', 'capacity', 'format', 'machine']) + `\n${String(body.count ?? items.length)} volume(s)\n`);
    })
    .command('show <id>', 'one volume', (c) => c.positional('id', { type: 'string', demandOption: true }), async (a) => {
      show((await client(a).call('GET', url(a, 'volumes', a.id, 'volume'))).body, a.json);
    })
    .command('delete <id>', 'delete a volume (it must be detached)', (c) => c.positional('id', { type: 'string', demandOption: true }), async (a) => {
      const c = client(a);
      const res = await c.call('DELETE', url(a, 'volumes', a.id, 'volume'));
      await done(a, c, res.headers.get('cimi-job-uri'), 'delete');
      if (a.wait) process.stdout.write(a.json ? JSON.stringify({ id: a.id, deleted: true }) + '\n' : `volume ${a.id} deleted\n`);
    })
    .command('attach <id>', 'attach a volume to a machine (on the volume\'s host; the guest sees it from its next boot)', (c) => c
      .positional('id', { type: 'string', demandOption: true })
      .option('machine', { type: 'string', demandOption: true, describe: 'machine id' })
      .option('device', { type: 'string', describe: 'guest device, vdb .. vdz (default: the first free one)' }),
    async (a) => {
      const c = client(a);
      const body: Record<string, unknown> = { resourceURI: `${CIMI}/MachineVolume`, volume: { href: url(a, 'volumes', a.id, 'volume') } };
      if (a.device !== undefined) body.initialLocation = a.device;
      const res = await c.call('POST', `${url(a, 'machines', a.machine, 'machine')}/volumes`, body);
      if (!a.json) process.stderr.write(`attachment ${res.headers.get('location') ?? ''} (${String(res.body.initialLocation)})\n`);
      await done(a, c, res.headers.get('cimi-job-uri'), 'attach');
      if (a.json) process.stdout.write(JSON.stringify(res.body, null, 2) + '\n');
    })
    .command('detach <id>', 'detach a volume from its machine (the machine must be stopped)', (c) => c.positional('id', { type: 'string', demandOption: true }), async (a) => {
      const c = client(a);
      const { body: vol } = await c.call('GET', url(a, 'volumes', a.id, 'volume'));
      const mv = (vol.machineVolume as { href?: string } | undefined)?.href;
      if (!mv) throw new ValidationError(`volume ${a.id} is not attached to any machine`);
      const res = await c.call('DELETE', mv);
      await done(a, c, res.headers.get('cimi-job-uri'), 'detach');
    })
    .demandCommand(1, 'name a volume command'), () => undefined);
}
