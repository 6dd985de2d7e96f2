/**
 * A host (#/hosts/<id>, admins): its health, capacity, allocation and agent, its CPU and memory use
 * over the last hour (GET /api/hosts/<id>/metrics), the machines placed on it, enable and disable.
 */
import type { Json } from '../api.js';
import { drawChart } from '../chart.js';
import { fill, h } from '../dom.js';
import { gib, when } from '../format.js';
import type { PageRender } from '../page.js';

interface Point { timestamp: string; cpu: number; memory: number; cpuUsed: number | null; memoryUsed: number | null }
interface Allocation { machineId: string; cpu: number; memory: number; sampledState?: string; cpuUsed?: number }

const HOUR_MS = 3_600_000;

export const hostPage: PageRender = async (ctx, root, [id]) => {
  const path = `/api/hosts/${encodeURIComponent(id ?? '')}`;
  const detail = h('dl', { id: 'host-detail', class: 'detail' });
  const chart = h('div', { id: 'host-chart', class: 'chart' });
  const machines = h('tbody', {});
  const message = h('p', { id: 'host-message', role: 'status' });
  const enable = h('button', { id: 'host-enable', type: 'button' }, 'enable');
  const disable = h('button', { id: 'host-disable', type: 'button' }, 'disable (drain)');
  fill(root, h('h2', {}, 'Host ', id ?? ''), detail, h('div', { class: 'actions' }, enable, disable), message,
    h('section', {}, h('h3', {}, 'Use, last hour'), chart),
    h('section', {}, h('h3', {}, 'Machines placed here'),
      h('table', { id: 'host-machines' }, h('thead', {}, h('tr', {}, ...['machine', 'sampled state', 'vCPU', 'memory', 'CPU used'].map((c) => h('th', {}, c)))), machines)));

  const field = (label: string, value: unknown, name: string) => h('div', { class: 'field' }, h('dt', {}, label), h('dd', { 'data-field': name }, value === undefined || value === null ? '–' : String(value)));
  const loadHost = async () => {
    const x = await ctx.api.get<Json>(path);
    if (ctx.left) return;
    fill(detail,
      field('health', x.health, 'health'), field('state', x.state, 'state'),
      field('allocated', `${String(x.usedCpu)}/${String(x.cpu)} vCPU · ${gib(x.usedMemory as number)}/${gib(x.memory as number)}`, 'allocated'),
      field('arch', x.arch, 'arch'), field('agent', `${String(x.leaseHolder ?? '–')} ${x.agentVersion ? `(v${String(x.agentVersion)})` : ''}`, 'agent'),
      field('last heartbeat', when(x.lastHeartbeat as string | undefined), 'lastHeartbeat'), field('libvirt', x.libvirtUri, 'libvirtUri'));
    enable.toggleAttribute('disabled', x.state !== 'DISABLED');
    disable.toggleAttribute('disabled', x.state !== 'ENABLED');
    const allocs = (x.allocations as Allocation[] | undefined) ?? [];
    fill(machines, ...(allocs.length ? allocs.map((a) => h('tr', { 'data-machine-id': a.machineId },
      h('td', {}, h('a', { class: 'machine-link', href: `#/machines/${a.machineId}` }, a.machineId)), h('td', {}, a.sampledState ?? '–'),
      h('td', {}, a.cpu), h('td', {}, gib(a.memory)), h('td', {}, a.cpuUsed?.toFixed(2) ?? '–'))) : [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'none'))]));
  };
  const loadChart = async () => {
    const now = Date.now();
    const body = await ctx.api.get<Json>(`${path}/metrics?from=${now - HOUR_MS}&to=${now}&limit=1000`);
    const pts = ((body.samples as Point[] | undefined) ?? []).slice().reverse();
    if (ctx.left) return;
    drawChart(chart, pts.map((p) => Date.parse(p.timestamp)), [
      { label: 'CPU use %', values: pts.map((p) => (p.cpuUsed === null ? null : (100 * p.cpuUsed) / p.cpu)), color: '#2b6cb0' },
      { label: 'memory use %', values: pts.map((p) => (p.memoryUsed === null ? null : (100 * p.memoryUsed) / p.memory)), color: '#2f855a' },
    ], { title: 'Guests\' use of the host', yLabel: '%', decimals: 1 });
  };
  const setState = async (what: 'enable' | 'disable') => {
    try {
      await ctx.api.action(`${path}/${what}`, what);
      message.textContent = `${what}d`;
    } catch (e) {
      message.textContent = `${what} failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    await loadHost();
  };
  enable.addEventListener('click', () => void setState('enable'));
  disable.addEventListener('click', () => void setState('disable'));
  await Promise.all([loadHost(), loadChart()]);
  ctx.ready();
  ctx.every(10_000, () => Promise.all([loadHost(), loadChart()]).then(() => undefined));
};
