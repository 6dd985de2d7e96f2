/**
 * `skybus usage --from … --to … [--tenant t] [--by machine] [--json|--csv]`: a usage report through
 * the API (routes/usage.ts), so tenants see their own and admins any tenant (or every tenant without
 * --tenant). A table by default: one line per tenant (and per machine with --by machine).
 */
import type { Argv } from 'yargs';
import { ValidationError } from '../errors/registry.js';
import { client } from './machine-commands.js';
import { table } from './output.js';

interface Totals { records: number; observedHours: number; unobservedHours: number; machineHoursByState: Record<string, number>; vcpuHours: number; gibHours: number; cpuHoursUsed: number }
interface Report { tenant: string; machines: number; totals: Totals; byMachine?: { machineId: string; totals: Totals; gaps: unknown[]; moreGaps: number }[] }

const states = (t: Totals) => Object.entries(t.machineHoursByState).map(([s, h]) => `${s} ${h}`).join(', ');

export function usageCommands<T>(y: Argv<T>): Argv<T> {
  return y.command('usage', 'usage report: vCPU-hours, GiB-hours, machine-hours by state, CPU-hours used, unobserved time', (c) => c
    .option('url', { type: 'string', default: process.env.SKYBUS_URL ?? 'http://127.0.0.1:8080' })
    .option('user', { type: 'string', default: process.env.SKYBUS_USER })
    .option('password', { type: 'string', default: process.env.SKYBUS_PASSWORD })
    .option('from', { type: 'string', demandOption: true, describe: 'start, ISO 8601 (e.g. 2026-12-01 or 2026-12-01T00:00:00Z)' })
    .option('to', { type: 'string', demandOption: true, describe: 'end (exclusive), ISO 8601' })
    .option('tenant', { type: 'string', describe: 'admins: one tenant (default: every tenant with usage)' })
    .option('by', { choices: ['tenant', 'machine'] as const, default: 'tenant' as const })
    .option('json', { type: 'boolean', default: false })
    .option('csv', { type: 'boolean', default: false }),
  async (a) => {
    if (a.json && a.csv) throw new ValidationError('give --json or --csv, not both');
    const c = client({ url: a.url, user: a.user, password: a.password, json: a.json });
    const q = new URLSearchParams({ from: a.from, to: a.to, by: a.by });
    if (a.tenant) q.set('tenant', a.tenant);
    if (a.csv) { process.stdout.write(await c.getText(`/api/usage?${q.toString()}&format=csv`, 'text/csv')); return; }
    const { body } = await c.call('GET', `/api/usage?${q.toString()}`);
    const reports = (body.reports as Report[] | undefined) ?? [];
    if (a.json) { process.stdout.write(JSON.stringify(body, null, 2) + '\n'); return; }
    const rows: Record<string, unknown>[] = [];
    for (const r of reports) {
      for (const m of r.byMachine ?? []) rows.push({ tenant: r.tenant, machine: m.machineId, vcpuHours: m.totals.vcpuHours, gibHours: m.totals.gibHours, cpuHoursUsed: m.totals.cpuHoursUsed, byState: states(m.totals), unobservedHours: m.totals.unobservedHours, gaps: m.gaps.length + m.moreGaps });
      rows.push({ tenant: r.tenant, machine: a.by === 'machine' ? '(total)' : `${r.machines} machine(s)`, vcpuHours: r.totals.vcpuHours, gibHours: r.totals.gibHours, cpuHoursUsed: r.totals.cpuHoursUsed, byState: states(r.totals), unobservedHours: r.totals.unobservedHours, gaps: '' });
    }
    process.stdout.write(table(rows, ['tenant', 'machine', 'vcpuHours', 'gibHours', 'cpuHoursUsed', 'byState', 'unobservedHours', 'gaps']) + `\n${reports.length} tenant(s)\n`);
  });
}
