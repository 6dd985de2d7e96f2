/**
 * Usage (#/usage): a tenant's report for a range of UTC days (GET /api/usage?by=day): the totals, a
 * chart of vCPU-hours and GiB-hours per day, and the report as CSV per machine (a download fetched
 * with the user's credentials). Admins may name any tenant.
 */
import type { Json } from '../api.js';
import { drawChart } from '../chart.js';
import { fill, h } from '../dom.js';
import { decimal, utcDay } from '../format.js';
import type { PageRender } from '../page.js';

interface Totals { records: number; observedHours: number; unobservedHours: number; vcpuHours: number; gibHours: number; cpuHoursUsed: number; machineHoursByState: Record<string, number> }
interface Report { tenant: string; machines: number; totals: Totals; byDay?: { day: string; totals: Totals }[] }

const DAY_MS = 86_400_000;
const TOTALS: [keyof Totals, string][] = [
  ['vcpuHours', 'vCPU-hours'], ['gibHours', 'GiB-hours'], ['cpuHoursUsed', 'CPU-hours used'],
  ['observedHours', 'machine-hours observed'], ['unobservedHours', 'machine-hours not observed (gaps)'], ['records', 'records'],
];

export const usagePage: PageRender = async (ctx, root) => {
  const today = Date.parse(`${utcDay(Date.now())}T00:00:00Z`);
  const from = h('input', { id: 'usage-from', type: 'date', value: utcDay(today - 6 * DAY_MS), required: true });
  const to = h('input', { id: 'usage-to', type: 'date', value: utcDay(today + DAY_MS), required: true });
  const tenant = h('input', { id: 'usage-tenant', type: 'text', placeholder: ctx.api.who?.tenant ?? '', size: 16 });
  const error = h('p', { id: 'usage-error', class: 'error', role: 'alert' });
  const totals = h('table', { id: 'usage-totals', class: 'totals' });
  const chart = h('div', { id: 'usage-chart', class: 'chart' });
  const csv = h('button', { id: 'usage-csv', type: 'button', disabled: true }, 'download CSV (per machine)');
  const form = h('form', { id: 'usage-form', class: 'inline' },
    h('label', {}, 'from ', from), h('label', {}, 'to (exclusive) ', to),
    ctx.api.isAdmin ? h('label', {}, 'tenant ', tenant) : null,
    h('button', { id: 'usage-run', type: 'submit' }, 'report'), csv);
  fill(root, h('h2', {}, 'Usage'), form, error, h('section', { id: 'usage-result' }, totals, chart));

  const query = () => {
    const f = Date.parse(`${from.value}T00:00:00Z`);
    const t = Date.parse(`${to.value}T00:00:00Z`);
    if (Number.isNaN(f) || Number.isNaN(t)) throw new Error('from and to must be dates');
    if (t <= f) throw new Error('to must be after from');
    const name = tenant.value.trim() || ctx.api.who?.tenant || '';
    return { params: new URLSearchParams({ from: from.value, to: to.value, tenant: name }), name, f, t };
  };
  const run = async () => {
    error.textContent = '';
    let q: ReturnType<typeof query>;
    try { q = query(); } catch (e) { error.textContent = (e as Error).message; return; }
    try {
      const body = await ctx.api.get<Json>(`/api/usage?${q.params.toString()}&by=day`);
      const r = ((body.reports as Report[] | undefined) ?? [])[0];
      if (ctx.left) return;
      if (!r) { fill(totals); error.textContent = 'no report'; return; }
      fill(totals, h('caption', {}, `tenant ${r.tenant}: ${r.machines} machines, ${q.params.get('from')} to ${q.params.get('to')} (UTC)`),
        h('tbody', {}, ...TOTALS.map(([k, label]) => h('tr', {}, h('th', {}, label), h('td', { 'data-total': k }, decimal(r.totals[k] as number, 3)))),
          ...Object.entries(r.totals.machineHoursByState).map(([s, v]) => h('tr', {}, h('th', {}, `machine-hours ${s}`), h('td', { 'data-state-hours': s }, decimal(v, 3))))));
      const days = r.byDay ?? [];
      drawChart(chart, days.map((d) => Date.parse(`${d.day}T12:00:00Z`)), [
        { label: 'vCPU-hours', values: days.map((d) => d.totals.vcpuHours), color: '#2b6cb0', bars: true },
        { label: 'GiB-hours', values: days.map((d) => d.totals.gibHours), color: '#2f855a' },
      ], { title: 'Per day', yLabel: 'hours', decimals: 3, padSeconds: 43_200 });
      csv.disabled = false;
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  };
  const download = async () => {
    error.textContent = '';
    try {
      const q = query();
      const blob = await ctx.api.download(`/api/usage?${q.params.toString()}&by=machine&format=csv`, 'text/csv');
      const a = h('a', { href: URL.createObjectURL(blob), download: `usage-${q.name}-${from.value}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); void run(); });
  csv.addEventListener('click', () => void download());
  await run();
  ctx.ready();
};
