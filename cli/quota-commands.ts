/**
 * `skybus quota set <tenant> --machines N --cpu N --memory-mib N`, `skybus quota show [tenant]` and
 * `skybus quota repair <tenant> [--dry-run] [--settle-seconds N]`: admin commands on the bus directly
 * (like `skybus user add`). A limit of `unlimited` clears it; a limit left out keeps its value. `show`
 * without a tenant lists every tenant with a quota row. `repair` sets the tenant's totals to what its
 * machines add up to (store.quotas.recount; docs/identity.md, "Quotas").
 */
import type { Argv } from 'yargs';
import { ValidationError } from '../errors/registry.js';
import { checkTenantName } from '../schema/store/accounts.js';
import type { QuotaLimits, QuotaUsage, TenantQuota, VolumeQuotaLimits } from '../schema/store/quotas.js';
import { table } from './output.js';
import { storeOptions, withStore } from './store-options.js';

function limitArg(v: string | undefined, flag: string): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === 'unlimited') return null;
  if (!/^\d{1,10}$/.test(v) || Number(v) > 1_000_000_000) throw new ValidationError(`${flag} must be an integer from 0 to 1000000000, or 'unlimited'`);
  return Number(v);
}

const shown = (v: number | null) => (v === null ? 'unlimited' : String(v));
const mib = (kib: number) => Math.round((kib / 1024) * 1000) / 1000;

function row(q: TenantQuota) {
  return {
    tenant: q.tenant,
    machines: `${q.used.machines}/${shown(q.limits.machines)}`,
    cpu: `${q.used.cpus}/${shown(q.limits.cpus)}`,
    memoryMiB: `${mib(q.used.memoryKiB)}/${shown(q.limits.memoryKiB === null ? null : mib(q.limits.memoryKiB))}`,
    volumes: `${q.volumeUsed.volumes}/${shown(q.volumeLimits.volumes)}`,
    volumeGiB: `${q.volumeUsed.volumeGiB}/${shown(q.volumeLimits.volumeGiB)}`,
  };
}

function json(q: TenantQuota) {
  return {
    tenant: q.tenant,
    limits: { machines: q.limits.machines, cpu: q.limits.cpus, memoryMiB: q.limits.memoryKiB === null ? null : mib(q.limits.memoryKiB) },
    usage: { machines: q.used.machines, cpu: q.used.cpus, memoryMiB: mib(q.used.memoryKiB) },
    volumeLimits: q.volumeLimits,
    volumeUsage: q.volumeUsed,
  };
}

export function quotaCommands<T>(y: Argv<T>): Argv<T> {
  return y.command('quota <action> [tenant]', 'tenant quotas: set, show, repair', (a) => storeOptions(a)
    .positional('action', { choices: ['set', 'show', 'repair'] as const, demandOption: true })
    .positional('tenant', { type: 'string' })
    .option('machines', { type: 'string', describe: 'most machines (or unlimited)' })
    .option('cpu', { type: 'string', describe: 'most vCPUs (or unlimited)' })
    .option('memory-mib', { type: 'string', describe: 'most memory in MiB (or unlimited)' })
    .option('volumes', { type: 'string', describe: 'most volumes (or unlimited; docs/volumes.md)' })
    .option('volume-gib', { type: 'string', describe: 'most GiB of volumes (or unlimited)' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'repair: only show what the machines add up to' })
    .option('settle-seconds', { type: 'number', default: 120, describe: 'repair: only when the quota has not changed for this long' })
    .option('json', { type: 'boolean', default: false }),
  async (a) => withStore(a, async (s) => {
    const out = (qs: TenantQuota[]) => process.stdout.write((a.json ? JSON.stringify(qs.length === 1 && a.tenant ? json(qs[0]) : qs.map(json), null, 2) : table(qs.map(row), ['tenant', 'machines', 'cpu', 'memoryMiB', 'volumes', 'volumeGiB'])) + '\n');
    if (a.action === 'show') {
      out(a.tenant === undefined ? await s.quotas.list() : [await s.quotas.get(checkTenantName(a.tenant))]);
      return;
    }
    if (a.action === 'repair') {
      if (a.tenant === undefined) throw new ValidationError('quota repair needs a tenant: skybus quota repair <tenant> [--dry-run]');
      const settle = a['settle-seconds'];
      if (!Number.isInteger(settle) || settle < 0) throw new ValidationError('--settle-seconds must be a non-negative integer');
      const r = await s.quotas.recount(checkTenantName(a.tenant), { settleMs: settle * 1000, dryRun: a['dry-run'] });
      const usage = (u: QuotaUsage) => ({ machines: u.machines, cpu: u.cpus, memoryMiB: mib(u.memoryKiB) });
      if (a.json) process.stdout.write(JSON.stringify({ tenant: r.tenant, before: usage(r.before), counted: usage(r.counted), volumesBefore: r.volumesBefore, volumesCounted: r.volumesCounted, releasedPresent: r.releasedPresent, applied: r.applied }, null, 2) + '\n');
      else {
        process.stdout.write(table([{ ...usage(r.before), totals: 'before' }, { ...usage(r.counted), totals: 'counted' }], ['totals', 'machines', 'cpu', 'memoryMiB']) + '\n');
        process.stdout.write(r.applied ? `${r.tenant}: totals set to the counted values\n` : `${r.tenant}: nothing written${a['dry-run'] ? ' (dry run)' : ' (totals already match)'}\n`);
      }
      return;
    }
    if (a.tenant === undefined) throw new ValidationError('quota set needs a tenant: skybus quota set <tenant> --machines N --cpu N --memory-mib N');
    const tenant = checkTenantName(a.tenant);
    const limits: Partial<QuotaLimits> & Partial<VolumeQuotaLimits> = {};
    const machines = limitArg(a.machines, '--machines');
    const cpus = limitArg(a.cpu, '--cpu');
    const memoryMiB = limitArg(a['memory-mib'], '--memory-mib');
    if (machines !== undefined) limits.machines = machines;
    if (cpus !== undefined) limits.cpus = cpus;
    if (memoryMiB !== undefined) limits.memoryKiB = memoryMiB === null ? null : memoryMiB * 1024;
    const volumes = limitArg(a.volumes, '--volumes');
    const volumeGiB = limitArg(a['volume-gib'], '--volume-gib');
    if (volumes !== undefined) limits.volumes = volumes;
    if (volumeGiB !== undefined) limits.volumeGiB = volumeGiB;
    if (Object.keys(limits).length === 0) throw new ValidationError('quota set needs at least one of --machines, --cpu, --memory-mib, --volumes, --volume-gib');
    out([await s.quotas.setLimits(tenant, limits)]);
  }));
}
