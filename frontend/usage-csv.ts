/**
 * A usage report as CSV (RFC 4180): one row per machine (with --by machine) or per day (--by day,
 * from/to the day's bounds) and one per tenant total, a column per machine state seen anywhere in the report. Times are ISO 8601, hours decimal.
 */
import type { TenantUsage, UsageTotals } from './usage-report.js';

function cell(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function usageCsv(reports: readonly TenantUsage[]): string {
  const states = new Set<string>();
  for (const r of reports) {
    for (const s of Object.keys(r.totals.machineHoursByState)) states.add(s);
  }
  const stateCols = [...states].sort();
  const header = ['tenant', 'machine', 'from', 'to', 'records', 'observed_hours', 'unobserved_hours', 'vcpu_hours', 'gib_hours', 'cpu_hours_used', ...stateCols.map((s) => `hours_${s}`), 'gaps'];
  const line = (r: TenantUsage, machine: string, t: UsageTotals, gaps: number | '', from = r.from, to = r.to) => [
    r.tenant, machine, new Date(from).toISOString(), new Date(to).toISOString(), t.records, t.observedHours, t.unobservedHours,
    t.vcpuHours, t.gibHours, t.cpuHoursUsed, ...stateCols.map((s) => t.machineHoursByState[s] ?? 0), gaps,
  ].map(cell).join(',');
  const rows = [header.join(',')];
  for (const r of reports) {
    for (const m of r.byMachine ?? []) rows.push(line(r, m.machineId, m.totals, m.gaps.length + m.moreGaps));
    for (const d of r.byDay ?? []) {
      const start = Date.parse(`${d.day}T00:00:00Z`);
      rows.push(line(r, '', d.totals, '', Math.max(start, r.from), Math.min(start + 86_400_000, r.to)));
    }
    rows.push(line(r, '', r.totals, ''));
  }
  return rows.join('\r\n') + '\r\n';
}
