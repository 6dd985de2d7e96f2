/** Networks over the API (docs/networks.md): skybus network create|list|show|delete (create and delete need the admin role). */
import type { Argv } from 'yargs';
import { SkybusError, ValidationError } from '../errors/registry.js';
import { ApiClient } from './api-client.js';
import { table } from './output.js';

interface ApiArgs { url: string; user?: string; password?: string; json: boolean }

function client(a: ApiArgs): ApiClient {
  if (!a.user || a.password === undefined) throw new ValidationError('give --user and --password (or SKYBUS_USER and SKYBUS_PASSWORD)');
  return new ApiClient({ url: a.url, user: a.user, password: a.password });
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The network's href for a name, an id or a URL (a name is looked up in the list the caller sees). */
export async function networkHref(c: ApiClient, nameOrId: string): Promise<string> {
  const last = nameOrId.replace(/\/+$/, '').split('/').pop()!;
  if (ID.test(last)) return `/api/networks/${last}`;
  const { body } = await c.call('GET', `/api/networks?$filter=${encodeURIComponent(`name='${nameOrId.replace(/'/g, "''")}'`)}`);
  const hits = (body.networks as { id: string }[] | undefined) ?? [];
  if (hits.length === 0) throw new SkybusError('NOT_FOUND', `no network named '${nameOrId}'`);
  if (hits.length > 1) throw new ValidationError(`${hits.length} networks are named '${nameOrId}': give the id`);
  return `/api/networks/${hits[0]!.id.split('/').pop()!}`;
}

/** "k=v" pairs into a map. */
function labels(pairs: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new ValidationError(`${what} '${p}' must be key=value`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

/** "<libvirt network>[:k=v,k=v]" into a host group. */
export function parseHostGroup(s: string): { libvirtNetwork: string; hostLabels: Record<string, string> } {
  const colon = s.indexOf(':');
  const net = colon < 0 ? s : s.slice(0, colon);
  if (!net) throw new ValidationError(`--host-group '${s}' must be <libvirt network>[:key=value,...]`);
  const rest = colon < 0 ? '' : s.slice(colon + 1);
  return { libvirtNetwork: net, hostLabels: labels(rest ? rest.split(',') : [], '--host-group label') };
}

const row = (n: Record<string, unknown>) => ({
  ...n, id: String(n.id).split('/').pop(), type: n.networkType,
  groups: ((n.hostGroups as { libvirtNetwork: string; hostLabels: Record<string, string> }[] | undefined) ?? [])
    .map((g) => `${g.libvirtNetwork}:${Object.entries(g.hostLabels).map(([k, v]) => `${k}=${v}`).join(',') || '*'}`).join(' '),
});

export function networkCommands<T>(y: Argv<T>): Argv<T> {
  return y.command('network', 'networks machines attach to: create, list, show, delete', (m) => m
    .option('url', { type: 'string', default: process.env.SKYBUS_URL ?? 'http://127.0.0.1:8080' })
    .option('user', { type: 'string', default: process.env.SKYBUS_USER })
    .option('password', { type: 'string', default: process.env.SKYBUS_PASSWORD })
    .option('json', { type: 'boolean', default: false })
    .command('create', 'define a network (admin): a libvirt network on the hosts with some labels', (c) => c
      .option('name', { type: 'string', demandOption: true })
      .option('description', { type: 'string', default: '' })
      .option('type', { choices: ['PUBLIC', 'PRIVATE'] as const, default: 'PUBLIC' as const })
      .option('libvirt-network', { type: 'string', describe: 'the libvirt network on the hosts of --host-label' })
      .option('host-label', { type: 'string', array: true, default: [] as string[], describe: 'key=value a host must have (repeat for more)' })
      .option('host-group', { type: 'string', array: true, default: [] as string[], describe: 'another group: <libvirt network>[:key=value,...] (repeatable)' }),
    async (a) => {
      const groups = a['host-group'].map(parseHostGroup);
      if (a['libvirt-network']) groups.unshift({ libvirtNetwork: a['libvirt-network'], hostLabels: labels(a['host-label'], '--host-label') });
      else if (a['host-label'].length > 0) throw new ValidationError('--host-label needs --libvirt-network');
      if (groups.length === 0) throw new ValidationError('give --libvirt-network (with --host-label) or --host-group');
      const body = {
        resourceURI: 'http://schemas.dmtf.org/cimi/1/NetworkCreate', name: a.name, description: a.description,
        networkTemplate: { networkConfig: { networkType: a.type }, hostGroups: groups },
      };
      const { body: n } = await client(a).call('POST', '/api/networks', body);
      process.stdout.write(a.json ? JSON.stringify(n, null, 2) + '\n' : `network ${String(n.id).split('/').pop()!} '${String(n.name)}' created\n`);
    })
    .command('list', 'list the networks you may use', (c) => c.option('filter', { type: 'string', describe: 'CIMI $filter' }), async (a) => {
      const q = a.filter ? `?$filter=${encodeURIComponent(a.filter)}` : '';
      const { body } = await client(a).call('GET', `/api/networks${q}`);
      const items = (body.networks as Record<string, unknown>[] | undefined) ?? [];
      if (a.json) { process.stdout.write(JSON.stringify(items, null, 2) + '\n'); return; }
      const cols = items.some((i) => i.hostGroups) ? ['id', 'name', 'type', 'state', 'groups'] : ['id', 'name', 'type', 'state'];
      process.stdout.write(table(items.map(row), cols) + `\n${String(body.count ?? items.length)} network(s)\n`);
    })
    .command('show <network>', 'one network (by name, id or URL)', (c) => c.positional('network', { type: 'string', demandOption: true }), async (a) => {
      const c = client(a);
      const { body: n } = await c.call('GET', await networkHref(c, a.network));
      if (a.json) { process.stdout.write(JSON.stringify(n, null, 2) + '\n'); return; }
      const r = row(n);
      const lines = [['id', r.id], ['name', n.name], ['description', n.description], ['type', n.networkType], ['state', n.state], ['created', n.created]];
      if (n.hostGroups) lines.push(['host groups', r.groups]);
      process.stdout.write(lines.map(([k, v]) => `${String(k).padEnd(12)} ${String(v ?? '')}`).join('\n') + '\n');
    })
    .command('delete <network>', 'delete a network (admin); refused while a machine uses it', (c) => c.positional('network', { type: 'string', demandOption: true }), async (a) => {
      const c = client(a);
      const href = await networkHref(c, a.network);
      await c.call('DELETE', href);
      const id = href.split('/').pop()!;
      process.stdout.write(a.json ? JSON.stringify({ id, deleted: true }) + '\n' : `network ${id} deleted\n`);
    })
    .demandCommand(1, 'name a network command'), () => undefined);
}
