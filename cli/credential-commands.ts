/** Your tenant's SSH public keys over the API: skybus credential create|list|delete (docs/guest-data.md). */
import { readFileSync } from 'node:fs';
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

/** The credential's href for a name, an id or a URL (a name is looked up in the caller's list). */
export async function credentialHref(c: ApiClient, nameOrId: string): Promise<string> {
  const last = nameOrId.replace(/\/+$/, '').split('/').pop()!;
  if (ID.test(last)) return `/api/credentials/${last}`;
  const { body } = await c.call('GET', '/api/credentials');
  const items = (body.credentials as { id: string; name?: string }[] | undefined) ?? [];
  const hits = items.filter((i) => i.name === nameOrId);
  if (hits.length === 0) throw new SkybusError('NOT_FOUND', `no credential named '${nameOrId}'`);
  if (hits.length > 1) throw new ValidationError(`${hits.length} credentials are named '${nameOrId}': give the id`);
  return `/api/credentials/${hits[0].id.split('/').pop()!}`;
}

const short = (k: Record<string, unknown>) => {
  const key = String(k.publicKey ?? '');
  const [type, body, ...comment] = key.split(' ');
  return { ...k, id: String(k.id).split('/').pop(), key: `${type} ${String(body ?? '').slice(0, 12)}... ${comment.join(' ')}`.trimEnd() };
};

export function credentialCommands<T>(y: Argv<T>): Argv<T> {
  return y.command('credential', "your tenant's SSH public keys for new machines: create, list, delete", (m) => m
    .option('url', { type: 'string', default: process.env.SKYBUS_URL ?? 'http://127.0.0.1:8080' })
    .option('user', { type: 'string', default: process.env.SKYBUS_USER })
    .option('password', { type: 'string', default: process.env.SKYBUS_PASSWORD })
    .option('json', { type: 'boolean', default: false })
    .command('create', 'store an SSH public key (give it at machine create with --credential)', (c) => c
      .option('name', { type: 'string', demandOption: true })
      .option('description', { type: 'string', default: '' })
      .option('ssh-key-file', { type: 'string', demandOption: true, describe: 'an OpenSSH public key file, e.g. ~/.ssh/id_ed25519.pub' }),
    async (a) => {
      let key: string;
      try { key = readFileSync(a['ssh-key-file'], 'utf8'); } catch (e) { throw new ValidationError(`cannot read --ssh-key-file ${a['ssh-key-file']}: ${(e as Error).message}`); }
      const body = { resourceURI: 'http://schemas.dmtf.org/cimi/1/CredentialCreate', name: a.name, description: a.description, credentialTemplate: { publicKey: key } };
      const { body: k } = await client(a).call('POST', '/api/credentials', body);
      process.stdout.write(a.json ? JSON.stringify(k, null, 2) + '\n' : `credential ${String(k.id).split('/').pop()!} '${String(k.name)}' created\n`);
    })
    .command('list', "list your tenant's credentials", (c) => c.option('filter', { type: 'string', describe: 'CIMI $filter' }), async (a) => {
      const q = a.filter ? `?$filter=${encodeURIComponent(a.filter)}` : '';
      const { body } = await client(a).call('GET', `/api/credentials${q}`);
      const items = (body.credentials as Record<string, unknown>[] | undefined) ?? [];
      if (a.json) { process.stdout.write(JSON.stringify(items, null, 2) + '\n'); return; }
      process.stdout.write(table(items.map(short), ['id', 'name', 'key', 'created']) + `\n${String(body.count ?? items.length)} credential(s)\n`);
    })
    .command('delete <credential>', 'delete a credential (by name, id or URL); machines made with it keep the key', (c) => c.positional('credential', { type: 'string', demandOption: true }), async (a) => {
      const c = client(a);
      const href = await credentialHref(c, a.credential);
      await c.call('DELETE', href);
      const id = href.split('/').pop()!;
      process.stdout.write(a.json ? JSON.stringify({ id, deleted: true }) + '\n' : `credential ${id} deleted\n`);
    })
    .demandCommand(1, 'name a credential command'), () => undefined);
}
