/** User commands over the CIMI API: skybus machine create|list|show|start|stop|restart|pause|suspend|delete */
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { SkybusError, ValidationError } from '../errors/registry.js';
import { ApiClient } from './api-client.js';
import { credentialHref } from './credential-commands.js';
import { networkHref } from './network-commands.js';
import { Progress, table } from './output.js';

const ACTIONS = ['start', 'stop', 'restart', 'pause', 'suspend'] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ApiArgs { url: string; user?: string; password?: string; json: boolean }

export function client(a: ApiArgs): ApiClient {
  if (!a.user || a.password === undefined) throw new ValidationError('give --user and --password (or SKYBUS_USER and SKYBUS_PASSWORD)');
  return new ApiClient({ url: a.url, user: a.user, password: a.password });
}

export function machineUrl(a: ApiArgs, id: string): string {
  if (/^https?:\/\//.test(id)) return id;
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new ValidationError(`'${id}' is not a machine id`);
  return `${a.url.replace(/\/+$/, '')}/api/machines/${id}`;
}

export async function resolveRef(c: ApiClient, collection: string, key: string, nameOrId: string): Promise<string> {
  const { body } = await c.call('GET', `/api/${collection}`);
  const items = (body[key] as { id: string; name?: string }[] | undefined) ?? [];
  const hit = items.find((i) => i.id.endsWith('/' + nameOrId) || i.name === nameOrId);
  if (!hit) throw new SkybusError('NOT_FOUND', `no ${collection} named '${nameOrId}' (have: ${items.map((i) => i.name).join(', ') || 'none'})`);
  return hit.id;
}

export async function waitForJob(c: ApiClient, jobUri: string | null, json: boolean, timeoutS: number): Promise<Record<string, unknown> | null> {
  if (!jobUri) return null;
  const progress = new Progress();
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const { body: job } = await c.call('GET', jobUri);
    const state = String(job.state);
    if (!json) progress.update(`job ${String(job.action ?? '')}: ${state} ${String(job.progress ?? 0)}% ${String(job.statusMessage ?? '')}`.trimEnd());
    if (state === 'SUCCESS' || state === 'FAILED' || state === 'STOPPED') {
      progress.done();
      if (state !== 'SUCCESS') throw new SkybusError('CONFLICT', `job ${state}: ${String(job.statusMessage ?? '')}`);
      return job;
    }
    if (Date.now() > deadline) { progress.done(); throw new SkybusError('UNAVAILABLE', `gave up waiting after ${timeoutS} s (job still ${state})`); }
    await sleep(300);
  }
}

function show(m: Record<string, unknown>, json: boolean): void {
  if (json) { process.stdout.write(JSON.stringify(m, null, 2) + '\n'); return; }
  const rows = ['id', 'name', 'state', 'cpu', 'memory', 'hostId', 'created', 'updated'].map((k) => ({ field: k, value: m[k] }));
  process.stdout.write(table(rows, ['field', 'value']) + '\n');
}

export function machineCommands<T>(y: Argv<T>): Argv<T> {
  return y.command('machine', 'create, list and drive machines through the CIMI API', (m) => m
    .option('url', { type: 'string', default: process.env.SKYBUS_URL ?? 'http://127.0.0.1:8080' })
    .option('user', { type: 'string', default: process.env.SKYBUS_USER })
    .option('password', { type: 'string', default: process.env.SKYBUS_PASSWORD })
    .option('json', { type: 'boolean', default: false })
    .option('wait', { type: 'boolean', default: false, describe: 'follow the Job until it ends' })
    .option('timeout', { type: 'number', default: 300, describe: 'seconds --wait waits' })
    .command('create', 'create a machine', (c) => c
      .option('name', { type: 'string', default: '' })
      .option('config', { type: 'string', demandOption: true, describe: 'machine configuration name or id' })
      .option('image', { type: 'string', demandOption: true, describe: 'machine image name or id' })
      .option('state', { type: 'string', choices: ['STARTED', 'STOPPED'], default: 'STARTED' })
      .option('user-data-file', { type: 'string' })
      .option('credential', { type: 'string', describe: 'a credential (SSH public key) name or id: the guest gets it as cloud-init ssh_authorized_keys' })
      .option('network', { type: 'string', array: true, default: [] as string[], describe: 'a network name or id: one interface on it (repeat for more)' }),
    async (a) => {
      const c = client(a);
      const nics = [];
      for (const n of a.network) nics.push({ network: { href: await networkHref(c, n) } });
      const userData = a['user-data-file'] ? readFileSync(a['user-data-file']).toString('base64') : undefined;
      const body = {
        resourceURI: 'http://schemas.dmtf.org/cimi/1/MachineCreate',
        name: a.name,
        machineTemplate: {
          machineConfig: { href: await resolveRef(c, 'machineConfigs', 'machineConfigurations', a.config) },
          machineImage: { href: await resolveRef(c, 'machineImages', 'machineImages', a.image) },
          initialState: a.state,
          ...(userData ? { userData } : {}),
          ...(a.credential ? { credential: { href: await credentialHref(c, a.credential) } } : {}),
          ...(nics.length > 0 ? { networkInterfaces: nics } : {}),
        },
      };
      const res = await c.call('POST', '/api/machines', body);
      const location = res.headers.get('location') ?? String(res.body.id);
      if (!a.json) process.stderr.write(`machine ${location}\n`);
      await waitIf(a, c, res.headers.get('cimi-job-uri'));
      show((await c.call('GET', location)).body, a.json);
    })
    .command('list', 'list your machines', (c) => c.option('filter', { type: 'string', describe: 'CIMI $filter' }), async (a) => {
      const c = client(a);
      const q = a.filter ? `?$filter=${encodeURIComponent(a.filter)}` : '';
      const { body } = await c.call('GET', `/api/machines${q}`);
      const items = (body.machines as Record<string, unknown>[] | undefined) ?? [];
      if (a.json) { process.stdout.write(JSON.stringify(items, null, 2) + '\n'); return; }
      const rows = items.map((i) => ({ ...i, id: String(i.id).split('/').pop() }));
      process.stdout.write(table(rows, ['id', 'name', 'state', 'cpu', 'memory']) + `\n${String(body.count ?? items.length)} machine(s)\n`);
    })
    .command('show <id>', 'one machine', (c) => c.positional('id', { type: 'string', demandOption: true }), async (a) => {
      show((await client(a).call('GET', machineUrl(a, a.id))).body, a.json);
    })
    .command(['start <id>', 'stop <id>', 'restart <id>', 'pause <id>', 'suspend <id>', 'delete <id>'].map((c) => c), `act on a machine: ${ACTIONS.join(', ')}, delete`, (c) => c
      .positional('id', { type: 'string', demandOption: true }),
    async (a) => {
      const action = String(a._[1]) as (typeof ACTIONS)[number] | 'delete';
      const c = client(a);
      const url = machineUrl(a, a.id);
      const res = action === 'delete'
        ? await c.call('DELETE', url)
        : await c.call('POST', `${url}/${action}`, { resourceURI: 'http://schemas.dmtf.org/cimi/1/Action', action: `http://schemas.dmtf.org/cimi/1/action/${action}` });
      const job = res.headers.get('cimi-job-uri');
      if (!a.json && !a.wait) process.stdout.write(`${action} accepted; job ${job ?? '(none)'}\n`);
      await waitIf(a, c, job);
      if (a.wait && action !== 'delete') show((await c.call('GET', url)).body, a.json);
      else if (a.wait) process.stdout.write(a.json ? JSON.stringify({ id: a.id, deleted: true }) + '\n' : `machine ${a.id} deleted\n`);
    })
    .demandCommand(1, 'name a machine command'), () => undefined);
}

async function waitIf(a: ApiArgs & { wait: boolean; timeout: number }, c: ApiClient, job: string | null): Promise<void> {
  if (a.wait) await waitForJob(c, job, a.json, a.timeout);
}
