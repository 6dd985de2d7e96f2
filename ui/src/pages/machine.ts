/**
 * A machine (#/machines/<id>): its state (refreshed every 2 s), CPU and memory charts of the last
 * hour (GET /api/machines/<id>/metrics, every 10 s), its events, and the actions its operations allow.
 */
import { ApiError, type Json } from '../api.js';
import { drawChart } from '../chart.js';
import { byId, fill, h } from '../dom.js';
import { gib, when } from '../format.js';
import type { PageRender } from '../page.js';

interface Sample { timestamp: string; cpuUsed: number | null; cpu: number; memory: number | null; maxMemory: number | null }
interface EventRow { timestamp: string; type?: string; severity?: string; outcome?: string; content?: Record<string, unknown> }

const ACTIONS = ['start', 'stop', 'restart'] as const;
const HOUR_MS = 3_600_000;

function detailRow(label: string, value: Node | string, field?: string): HTMLElement {
  return h('div', { class: 'field' }, h('dt', {}, label), h('dd', field ? { 'data-field': field } : {}, value));
}

export const machinePage: PageRender = async (ctx, root, [id]) => {
  const path = `/api/machines/${encodeURIComponent(id ?? '')}`;
  const detail = h('dl', { id: 'machine-detail', class: 'detail' });
  const message = h('p', { id: 'action-message', role: 'status' });
  const actions = h('div', { class: 'actions' },
    ...ACTIONS.map((a) => h('button', { id: `action-${a}`, type: 'button', disabled: true }, a)),
    h('button', { id: 'action-delete', type: 'button', class: 'danger', disabled: true }, 'delete'),
    h('button', { id: 'action-delete-confirm', type: 'button', class: 'danger', hidden: true }, 'really delete'));
  const cpuChart = h('div', { id: 'machine-chart-cpu', class: 'chart' });
  const memChart = h('div', { id: 'machine-chart-memory', class: 'chart' });
  const events = h('ul', { id: 'machine-events', class: 'events' });
  fill(root, h('h2', {}, 'Machine ', h('span', { id: 'machine-name' }, id ?? '')), detail, actions, message,
    h('section', {}, h('h3', {}, 'Use, last hour'), cpuChart, memChart), h('section', {}, h('h3', {}, 'Events'), events));

  let ops = new Set<string>();
  let gone = false;
  const showState = (m: Json) => {
    ops = new Set(((m.operations as { rel: string }[] | undefined) ?? []).map((o) => o.rel.slice(o.rel.lastIndexOf('/') + 1)));
    byId('machine-name').textContent = String(m.name ?? id);
    const sample = m.latestSample as { cpuUsed?: number; stale?: boolean; timestamp?: string } | undefined;
    fill(detail,
      detailRow('state', h('span', { id: 'machine-state', class: `state ${String(m.state)}` }, String(m.state))),
      detailRow('desired', String(m.desiredState ?? '–')),
      detailRow('host health', h('span', { id: 'machine-host-health' }, String(m.hostHealth ?? (m.hostId ? 'up' : 'not placed')))),
      detailRow('size', `${String(m.cpu)} vCPU · ${gib(m.memory as number)}`),
      detailRow('latest sample', sample ? `${sample.cpuUsed?.toFixed(2) ?? '–'} vCPU used${sample.stale ? ' (stale)' : ''} at ${when(sample.timestamp)}` : '–'),
      m.statusMessage ? detailRow('status', String(m.statusMessage)) : null,
      detailRow('created', when(m.created as string)));
    for (const a of ACTIONS) (byId(`action-${a}`) as HTMLButtonElement).disabled = !ops.has(a);
    (byId('action-delete') as HTMLButtonElement).disabled = !ops.has('delete');
  };
  const loadMachine = async () => {
    if (gone) return;
    try {
      const m = await ctx.api.get<Json>(path);
      if (!ctx.left) showState(m);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        gone = true;
        fill(detail, detailRow('state', h('span', { id: 'machine-state', class: 'state DELETED' }, 'DELETED')));
        message.textContent = 'this machine does not exist (any more) in your tenant';
        for (const b of actions.querySelectorAll('button')) (b as HTMLButtonElement).disabled = true;
        return;
      }
      throw e;
    }
  };
  const loadCharts = async () => {
    if (gone) return;
    const now = Date.now();
    const body = await ctx.api.get<Json>(`${path}/metrics?from=${now - HOUR_MS}&to=${now}&limit=1000`);
    const samples = ((body.samples as Sample[] | undefined) ?? []).slice().reverse();
    if (ctx.left) return;
    const xs = samples.map((s) => Date.parse(s.timestamp));
    drawChart(cpuChart, xs, [
      { label: 'vCPUs used', values: samples.map((s) => s.cpuUsed), color: '#2b6cb0' },
      { label: 'vCPUs', values: samples.map((s) => s.cpu), color: '#a0aec0' },
    ], { title: 'CPU', yLabel: 'vCPU' });
    drawChart(memChart, xs, [
      { label: 'memory MiB', values: samples.map((s) => (s.memory === null ? null : s.memory / 1024)), color: '#2f855a' },
      { label: 'max MiB', values: samples.map((s) => (s.maxMemory === null ? null : s.maxMemory / 1024)), color: '#a0aec0' },
    ], { title: 'Memory', yLabel: 'MiB', decimals: 0 });
  };
  const loadEvents = async () => {
    if (gone) return;
    const body = await ctx.api.get<Json>(`${path}/eventLog/events?$first=1&$last=20`);
    const list = (body.events as EventRow[] | undefined) ?? [];
    if (ctx.left) return;
    fill(events, ...(list.length ? list.map((e) => h('li', {}, h('time', {}, when(e.timestamp)), ' ', h('span', { class: `badge ${e.severity ?? ''}` }, e.type ?? 'event'), ' ',
      e.outcome ?? '', ' ', h('span', { class: 'muted' }, e.content ? JSON.stringify(e.content).slice(0, 200) : ''))) : [h('li', { class: 'muted' }, 'no events')]));
  };
  const act = async (label: string, fn: () => Promise<unknown>) => {
    message.textContent = `${label}…`;
    message.className = '';
    try {
      await fn();
      message.textContent = `${label}: accepted`;
    } catch (e) {
      message.textContent = `${label} failed: ${e instanceof Error ? e.message : String(e)}`;
      message.className = 'error';
    }
    await loadMachine();
  };
  for (const a of ACTIONS) byId(`action-${a}`).addEventListener('click', () => void act(a, () => ctx.api.action(path, a)));
  const confirm = byId('action-delete-confirm');
  byId('action-delete').addEventListener('click', () => { confirm.hidden = false; });
  confirm.addEventListener('click', () => { confirm.hidden = true; void act('delete', () => ctx.api.delete(path)); });

  await loadMachine();
  await Promise.all([loadCharts(), loadEvents()]);
  ctx.ready();
  ctx.every(2_000, loadMachine);
  ctx.every(10_000, () => Promise.all([loadCharts(), loadEvents()]).then(() => undefined));
};
