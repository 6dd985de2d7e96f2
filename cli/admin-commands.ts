/** Operator commands that talk to the bus directly: schema, users, catalog (hosts: host-commands.ts). */
import { randomBytes } from 'node:crypto';
import type { Argv } from 'yargs';
import { ValidationError } from '../errors/registry.js';
import { hashPassword, passwordProblem } from '../frontend/auth/passwords.js';
import { checkTenantName, checkUserName } from '../schema/store/accounts.js';
import { parseConfigBody, parseImageBody } from '../frontend/catalog-bodies.js';
import { quotaCommands } from './quota-commands.js';
import { storeOptions, withStore } from './store-options.js';

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new ValidationError(`${what} must be a positive integer`);
  return v;
}

/**
 * `skybus image add` (on the bus directly): mounted inside the `image` command group of
 * image-commands.ts, since yargs keeps only one command per first word.
 */
export function imageAddCommand<T>(y: Argv<T>): Argv<T> {
  return y
    .command('add', 'publish a machine image (operators; on the bus directly)', (a) => storeOptions(a)
      .option('name', { type: 'string', demandOption: true })
      .option('location', { type: 'string', demandOption: true, describe: 'qcow2/raw base image, or the kernel for --format kernel' })
      .option('format', { type: 'string', choices: ['qcow2', 'raw', 'kernel'], default: 'qcow2' })
      .option('initrd', { type: 'string' })
      .option('cmdline', { type: 'string', describe: 'kernel command line (kernel images; default console=ttyS0)' })
      .option('arch', { type: 'string', default: 'x86_64' }),
    async (a) => withStore(a, async (s) => {
      const body: Record<string, unknown> = { name: a.name, imageLocation: a.location, format: a.format, cpuArch: a.arch };
      if (a.format === 'kernel') { body.initrd = a.initrd ?? null; body.kernelCmdline = a.cmdline ?? 'console=ttyS0'; }
      const { name, doc } = parseImageBody(body, 'image');
      const it = await s.catalog.create('machineImage', name, null, { ...doc });
      process.stdout.write(`machine image ${a.name}: ${it.id}\n`);
    }));
}

export function adminCommands<T>(y: Argv<T>): Argv<T> {
  return quotaCommands(y)
    .command('schema <action>', 'bus schema', (a) => storeOptions(a).positional('action', { choices: ['migrate'] as const, demandOption: true }),
      async (a) => withStore(a, async (s) => {
        const r = await s.migrate();
        process.stdout.write(r.applied.length ? `applied migrations ${r.applied.join(', ')}\n` : `schema up to date (${r.alreadyApplied.length} migrations)\n`);
      }))
    .command('user <action> <name>', 'local users: add, passwd', (a) => storeOptions(a)
      .positional('action', { choices: ['add', 'passwd'] as const, demandOption: true })
      .positional('name', { type: 'string', demandOption: true })
      .option('tenant', { type: 'string', describe: 'tenant the user belongs to (required with add: an existing tenant is joined, so name it on purpose)' })
      .option('role', { type: 'string', choices: ['user', 'admin'], default: 'user' })
      .option('password', { type: 'string', describe: 'password (default: generated and printed)' }),
    async (a) => withStore(a, async (s) => {
      const password = a.password ?? randomBytes(12).toString('base64url');
      const problem = passwordProblem(password);
      if (problem) throw new ValidationError(problem);
      checkUserName(a.name);
      if (a.action === 'add') {
        if (a.tenant === undefined || a.tenant === '') throw new ValidationError('--tenant is required: name the tenant the user joins (an existing tenant is joined, a new name creates one)');
        const tenant = checkTenantName(a.tenant);
        await s.accounts.createUser({ name: a.name, tenant, passwordHash: await hashPassword(password), roles: a.role === 'admin' ? ['admin', 'user'] : ['user'], disabled: false, created: Date.now() });
        process.stdout.write(`user ${a.name} added (tenant ${tenant}, role ${a.role})${a.password ? '' : `; password: ${password}`}\n`);
      } else {
        await s.accounts.setPassword(a.name, await hashPassword(password));
        process.stdout.write(`password of ${a.name} changed${a.password ? '' : `; new password: ${password}`}\n`);
      }
    }))
    .command('config add', 'publish a machine configuration (flavour)', (a) => storeOptions(a)
      .option('name', { type: 'string', demandOption: true })
      .option('cpu', { type: 'number', demandOption: true })
      .option('memory-mib', { type: 'number', demandOption: true })
      .option('arch', { type: 'string', default: 'x86_64' }),
    async (a) => withStore(a, async (s) => {
      const { name, doc } = parseConfigBody({ name: a.name, cpu: positiveInt(a.cpu, '--cpu'), memory: positiveInt(a['memory-mib'], '--memory-mib') * 1024, cpuArch: a.arch }, 'config');
      const it = await s.catalog.create('machineConfig', name, null, { ...doc });
      process.stdout.write(`machine configuration ${a.name}: ${it.id}\n`);
    }));
}
