/**
 * User commands for machine images over the CIMI API: skybus image list|show|capture|delete
 * (docs/capture.md); and the operators' `image add` (admin-commands.ts), on the bus directly.
 */
import type { Argv } from 'yargs';
import { SkybusError, ValidationError } from '../errors/registry.js';
import { imageAddCommand } from './admin-commands.js';
import { client, machineUrl, waitForJob, type ApiArgs } from './machine-commands.js';
import { table } from './output.js';

const CAPTURE = 'http://schemas.dmtf.org/cimi/1/action/capture';

function imageUrl(a: ApiArgs, id: string): string {
  if (/^https?:\/\//.test(id)) return id;
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new ValidationError(`'${id}' is not an image id`);
  return `${a.url.replace(/\/+$/, '')}/api/machineImages/${id}`;
}

function show(i: Record<string, unknown>, json: boolean): void {
  if (json) { process.stdout.write(JSON.stringify(i, null, 2) + '\n'); return; }
  const rows = ['id', 'name', 'state', 'format', 'imageLocation', 'disk', 'statusMessage', 'created']
    .filter((k) => i[k] !== undefined).map((k) => ({ field: k, value: i[k] }));
  process.stdout.write(table(rows, ['field', 'value']) + '\n');
}

export function imageCommands<T>(y: Argv<T>): Argv<T> {
  return y.command('image', 'list machine images, capture a machine into a new one; add: publish one (operators)', (m) => imageAddCommand(m)
    .option('url', { type: 'string', default: process.env.SKYBUS_URL ?? 'http://127.0.0.1:8080' })
    .option('user', { type: 'string', default: process.env.SKYBUS_USER })
    .option('password', { type: 'string', default: process.env.SKYBUS_PASSWORD })
    .option('json', { type: 'boolean', default: false })
    .command('list', 'the images you can use (published ones and your tenant\'s captures), with their state', (c) => c, async (a) => {
      const { body } = await client(a).call('GET', '/api/machineImages');
      const items = (body.machineImages as Record<string, unknown>[] | undefined) ?? [];
      if (a.json) { process.stdout.write(JSON.stringify(items, null, 2) + '\n'); return; }
      const rows = items.map((i) => ({ ...i, id: String(i.id).split('/').pop(), visibility: i.visibility ?? 'public' }));
      process.stdout.write(table(rows, ['id', 'name', 'state', 'format', 'visibility']) + `\n${String(body.count ?? items.length)} image(s)\n`);
    })
    .command('show <id>', 'one image', (c) => c.positional('id', { type: 'string', demandOption: true }), async (a) => {
      show((await client(a).call('GET', imageUrl(a, a.id))).body, a.json);
    })
    .command('capture <machine>', 'capture a STARTED or STOPPED machine\'s disk into a new image of your tenant', (c) => c
      .positional('machine', { type: 'string', demandOption: true, describe: 'machine id' })
      .option('name', { type: 'string', demandOption: true, describe: 'the new image\'s name' })
      .option('description', { type: 'string', default: '' })
      .option('wait', { type: 'boolean', default: false, describe: 'follow the Job until the image is AVAILABLE (or failed)' })
      .option('timeout', { type: 'number', default: 1800, describe: 'seconds --wait waits' }),
    async (a) => {
      const c = client(a);
      const url = machineUrl(a, a.machine);
      const { body: machine } = await c.call('GET', url);
      // The advertised operation tells whether a capture is possible now, and where to send it.
      const op = ((machine.operations as { rel: string; href: string }[] | undefined) ?? []).find((o) => o.rel === CAPTURE);
      if (!op) {
        const state = String(machine.state);
        const why = state === 'STARTED' || state === 'STOPPED' ? 'it has no disk to capture (a kernel-boot machine needs a data disk)' : `it is ${state}; capture needs STARTED or STOPPED`;
        throw new SkybusError('INVALID_STATE', `machine ${a.machine} cannot be captured now: ${why}`);
      }
      const res = await c.call('POST', op.href, {
        resourceURI: 'http://schemas.dmtf.org/cimi/1/MachineImage', name: a.name, description: a.description, imageLocation: { href: String(machine.id) },
      });
      const location = res.headers.get('location') ?? String(res.body.id);
      const job = res.headers.get('cimi-job-uri');
      if (!a.wait) {
        if (a.json) process.stdout.write(JSON.stringify({ image: location, job }) + '\n');
        else process.stdout.write(`capture accepted; image ${location} (CREATING), job ${job ?? '(none)'}\n`);
        return;
      }
      await waitForJob(c, job, a.json, a.timeout);
      show((await c.call('GET', location)).body, a.json);
    })
    .command('delete <id>', 'delete one of your tenant\'s captured images (the file stays in the image store)', (c) => c.positional('id', { type: 'string', demandOption: true }), async (a) => {
      await client(a).call('DELETE', imageUrl(a, a.id));
      process.stdout.write(a.json ? JSON.stringify({ id: a.id, deleted: true }) + '\n' : `image ${a.id} deleted\n`);
    })
    .demandCommand(1, 'name an image command'), () => undefined);
}
