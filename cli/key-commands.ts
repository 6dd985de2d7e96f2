/** Your own API keys over the API: skybus key create|list|revoke (docs/identity.md, "API keys"). */
import type { Argv } from 'yargs';
import { ValidationError } from '../errors/registry.js';
import { ApiClient } from './api-client.js';
import { table } from './output.js';

interface ApiArgs { url: string; user?: string; password?: string; json: boolean }

function client(a: ApiArgs): ApiClient {
  if (!a.user || a.password === undefined) throw new ValidationError('give --user and --password (or SKYBUS_USER and SKYBUS_PASSWORD)');
  return new ApiClient({ url: a.url, user: a.user, password: a.password });
}

function keyUrl(id: string): string {
  const last = id.replace(/\/+$/, '').split('/').pop()!;
  // A token (sbk_<id>_<secret>) or its prefix names the key too.
  const m = /^sbk_([0-9a-f-]{36})_/.exec(last);
  const keyId = m ? m[1] : last;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(keyId)) throw new ValidationError(`'${id}' is not an API key id`);
  return `/api/apiKeys/${keyId}`;
}

const short = (k: Record<string, unknown>) => ({ ...k, id: String(k.id).split('/').pop() });

export function keyCommands<T>(y: Argv<T>): Argv<T> {
  return y.command('key', 'your API keys (Authorization: Bearer): create, list, revoke', (m) => m
    .option('url', { type: 'string', default: process.env.SKYBUS_URL ?? 'http://127.0.0.1:8080' })
    .option('user', { type: 'string', default: process.env.SKYBUS_USER })
    .option('password', { type: 'string', default: process.env.SKYBUS_PASSWORD })
    .option('json', { type: 'boolean', default: false })
    .command('create', 'create a key; its secret is printed once, keep it', (c) => c
      .option('name', { type: 'string', default: '' })
      .option('description', { type: 'string', default: '' })
      .option('expires', { type: 'string', describe: 'ISO 8601 time with a zone, e.g. 2027-01-31T00:00:00Z' })
      .option('expires-in-days', { type: 'number', describe: 'days from now (1-3650)' })
      .conflicts('expires', 'expires-in-days'),
    async (a) => {
      const body: Record<string, unknown> = { resourceURI: 'http://schemas.dmtf.org/cimi/1/ApiKeyCreate', name: a.name, description: a.description };
      if (a.expires !== undefined) body.expires = a.expires;
      if (a['expires-in-days'] !== undefined) body.expiresInDays = a['expires-in-days'];
      const { body: k } = await client(a).call('POST', '/api/apiKeys', body);
      if (a.json) { process.stdout.write(JSON.stringify(k, null, 2) + '\n'); return; }
      process.stderr.write(`API key ${String(k.id)} created; the secret below is shown only now. Use it as: Authorization: Bearer <secret>\n`);
      process.stdout.write(`${String(k.secret)}\n`);
    })
    .command('list', 'list your keys (never their secrets)', (c) => c, async (a) => {
      const { body } = await client(a).call('GET', '/api/apiKeys');
      const items = (body.apiKeys as Record<string, unknown>[] | undefined) ?? [];
      if (a.json) { process.stdout.write(JSON.stringify(items, null, 2) + '\n'); return; }
      process.stdout.write(table(items.map(short), ['id', 'name', 'state', 'created', 'expires']) + `\n${String(body.count ?? items.length)} key(s)\n`);
    })
    .command('revoke <id>', 'revoke a key (by id, URL or token): refused from now on', (c) => c.positional('id', { type: 'string', demandOption: true }), async (a) => {
      await client(a).call('DELETE', keyUrl(a.id));
      process.stdout.write(a.json ? JSON.stringify({ id: keyUrl(a.id).split('/').pop(), revoked: true }) + '\n' : `API key ${keyUrl(a.id).split('/').pop()!} revoked\n`);
    })
    .demandCommand(1, 'name a key command'), () => undefined);
}
