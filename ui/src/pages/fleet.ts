/**
 * The fleet (#/fleet): for admins the hosts by health and the machines by sampled state
 * (GET /api/fleet, cached on the frontend) and the hosts, paged; for everyone the tenant's machines,
 * paged. Refreshed every 10 s.
 */
import type { Json } from '../api.js';
import { fill, h } from '../dom.js';
import { gib, lastSegment, percent } from '../format.js';
import type { PageRender } from '../page.js';
import { Pager } from '../pager.js';

interface HostRow { id: string; name: string; health: string; state: string; cpu: number; usedCpu: number; memory: number; usedMemory: number; machines: number; latestSample?: { cpuUsed?: number; memoryUsed?: number; stale?: boolean } }
interface MachineRow { id: string; name?: string; state?: string; cpu?: number; memory?: number; latestSample?: { cpuUsed?: number; stale?: boolean }; hostHealth?: string }

function counts(title: string, attr: string, m: Record<string, number>): HTMLElement {
  const items = Object.entries(m);
  return h('section', { class: 'counts' }, h('h3', {}, title),
    h('ul', {}, ...(items.length ? items.map(([k, n]) => h('li', {}, h('span', { class: `badge ${k}` }, k), ' ', h('strong', { [attr]: k }, n))) : [h('li', { class: 'muted' }, 'none')])));
}

function hostRow(x: HostRow): HTMLTableRowElement {
  const id = lastSegment(x.id);
  const s = x.latestSample && !x.latestSample.stale ? x.latestSample : null;
  return h('tr', { 'data-host-id': id },
    h('td', {}, h('a', { class: 'host-link', href: `#/hosts/${encodeURIComponent(id)}` }, x.name || id)),
    h('td', { class: 'health' }, h('span', { class: `badge ${x.health}` }, x.health)),
    h('td', { class: 'state' }, x.state),
    h('td', { class: 'cpu-use' }, s ? percent(s.cpuUsed, x.cpu) : '–'),
    h('td', { class: 'mem-use' }, s ? percent(s.memoryUsed, x.memory) : '–'),
    h('td', { class: 'alloc' }, `${x.usedCpu}/${x.cpu} vCPU · ${gib(x.usedMemory)}/${gib(x.memory)}`),
    h('td', { class: 'count' }, x.machines));
}

export function machineRow(x: MachineRow): HTMLTableRowElement {
  const id = lastSegment(x.id);
  const s = x.latestSample && !x.latestSample.stale ? x.latestSample : null;
  return h('tr', { 'data-machine-id': id },
    h('td', { class: 'name' }, h('a', { class: 'machine-link', href: `#/machines/${id}` }, x.name || id)),
    h('td', { class: 'state' }, x.state ?? '–'),
    h('td', {}, x.hostHealth && x.hostHealth !== 'up' ? h('span', { class: `badge ${x.hostHealth}` }, `host ${x.hostHealth}`) : ''),
    h('td', {}, x.cpu ?? '–'),
    h('td', {}, gib(x.memory)),
    h('td', {}, s && typeof s.cpuUsed === 'number' ? s.cpuUsed.toFixed(2) : '–'));
}

const pagerBar = (prefix: string) => h('div', { class: 'pager' },
  h('button', { id: `${prefix}-prev`, type: 'button' }, '‹ previous'), h('span', { id: `${prefix}-range`, class: 'range' }, '…'), h('button', { id: `${prefix}-next`, type: 'button' }, 'next ›'));

export const fleetPage: PageRender = async (ctx, root) => {
  const admin = ctx.api.isAdmin;
  const summary = h('div', { id: 'fleet-summary', class: 'summary' });
  fill(root,
    h('h2', {}, admin ? 'Fleet' : 'Machines'),
    admin ? summary : null,
    admin ? h('section', {}, h('h3', {}, 'Hosts'), pagerBar('hosts'),
      h('table', { id: 'hosts-table' }, h('thead', {}, h('tr', {}, ...['host', 'health', 'state', 'CPU use', 'memory use', 'allocated', 'machines'].map((c) => h('th', {}, c)))), h('tbody', { id: 'hosts-body' }))) : null,
    h('section', {}, h('h3', {}, `Machines of tenant ${ctx.api.who?.tenant ?? ''}`), pagerBar('machines'),
      h('table', { id: 'machines-table' }, h('thead', {}, h('tr', {}, ...['machine', 'state', '', 'vCPU', 'memory', 'CPU used'].map((c) => h('th', {}, c)))), h('tbody', { id: 'machines-body' }))));
  const hosts = admin ? new Pager<HostRow>(ctx.api, { path: '/api/hosts', member: 'hosts', tbodyId: 'hosts-body', prevId: 'hosts-prev', nextId: 'hosts-next', rangeId: 'hosts-range', row: hostRow, empty: 'no hosts registered' }) : null;
  const machines = new Pager<MachineRow>(ctx.api, { path: '/api/machines', member: 'machines', tbodyId: 'machines-body', prevId: 'machines-prev', nextId: 'machines-next', rangeId: 'machines-range', row: machineRow, empty: 'no machines yet' });
  const loadSummary = async () => {
    if (!admin) return;
    const f = await ctx.api.get<Json>('/api/fleet');
    const hostsOf = f.hosts as { count: number; byHealth: Record<string, number> };
    const machinesOf = f.machines as { count: number; byState: Record<string, number> };
    if (ctx.left) return;
    fill(summary, counts(`Hosts (${hostsOf.count})`, 'data-host-health', hostsOf.byHealth), counts(`Machines on hosts (${machinesOf.count})`, 'data-machine-state', machinesOf.byState),
      h('p', { class: 'muted small' }, `as read at ${String(f.readAt).replace('T', ' ').slice(0, 19)}Z`));
  };
  const load = () => Promise.all([loadSummary(), hosts?.load(), machines.load()]).then(() => undefined);
  await load();
  ctx.ready();
  ctx.every(10_000, load);
};
