/**
 * /api/hosts (Skybus extension, admins only): the hosts, their capacity and use, and their health
 * (schema/host-health.ts: up, unreachable, down, removed), the same as `skybus host list`.
 *   GET /hosts        every host ($filter, $orderby, $first/$last, $select apply; e.g. $filter=health='down')
 *   GET /hosts/:id    one host, with its allocations (the machines placed on it)
 *   POST /hosts/:id/enable, /hosts/:id/disable   what `skybus host enable | drain` do (store.hosts.setState)
 * Each host shows its lease holder, last heartbeat, the version its agent announces (store.services)
 * and its latest monitoring sample (docs/monitoring-api.md); GET /hosts/:id/metrics: routes/host-metrics.ts.
 */
import { Router, type Request, type Response } from 'express';
import { InvalidStateError, NotFoundError, ValidationError } from '../../errors/registry.js';
import { hostCondition, type HostLivenessPolicy } from '../../schema/host-health.js';
import { checkHostId } from '../../schema/store/hosts.js';
import type { Host, HostHeartbeat, HostSample, Lease } from '../../schema/types.js';
import { requireAdmin } from '../auth/authenticator.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { collectionUrl, memberUrl, skybusUri } from '../cimi/uris.js';
import { hostLatestSample } from '../latest-sample-view.js';
import { baseUrl } from '../request-context.js';
import { knownHostId } from './host-metrics.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

const iso = (t: number | null) => (t === null ? undefined : new Date(t).toISOString());

/** The version each host's agent announces (the service registry's agent rows: one partition), the newest announcement per host. */
async function agentVersions(deps: RouteDeps): Promise<Map<string, string>> {
  const agents = await deps.store.services.list('agent');
  agents.sort((a, b) => a.lastSeen - b.lastSeen);
  const out = new Map<string, string>();
  for (const a of agents) {
    const host = a.info.hostId;
    const version = a.info.version;
    if (typeof host === 'string' && typeof version === 'string') out.set(host, version);
  }
  return out;
}

/** What hostView adds beyond the host's own rows: its agent's announced version and its latest sample. */
export interface HostExtras { agentVersion?: string | null; latest?: HostSample | null }

export function hostView(h: Host, lease: Lease | null, hb: HostHeartbeat | null, base: string, p: HostLivenessPolicy, now: number, extras: HostExtras = {}): Record<string, unknown> {
  const c = hostCondition(h, lease, hb, now, p);
  const view: Record<string, unknown> = {
    resourceURI: skybusUri('Host'), id: memberUrl(base, 'hosts', h.id), name: h.name,
    created: new Date(h.registered).toISOString(), updated: new Date(h.updated).toISOString(),
    state: h.state, health: c.health, arch: h.arch, libvirtUri: h.uri, labels: h.labels,
    cpu: h.cpus, memory: h.memoryKiB, usedCpu: h.usedCpus, usedMemory: h.usedMemoryKiB,
    machines: Object.keys(h.allocations).length, generation: h.generation,
  };
  if (c.lastSeen !== null) view.lastSeen = iso(c.lastSeen);
  if (hb) view.fenceAfterMs = hb.fenceAfterMs;
  if (hb?.fencedAt) view.fencedAt = iso(hb.fencedAt);
  if (c.haRestartAt !== null && c.health !== 'up') view.haRestartAt = iso(c.haRestartAt);
  if (lease) view.leaseHolder = lease.holder;
  if (hb) view.lastHeartbeat = iso(hb.renewed);
  if (extras.agentVersion) view.agentVersion = extras.agentVersion;
  if (extras.latest) view.latestSample = hostLatestSample(extras.latest, c.health, now);
  view.metrics = { href: `${view.id as string}/metrics` };
  return view;
}

/**
 * The one-host view's machines: what placement allocated on it (bounded by the host's size), each with
 * its entry in the host's latest sample when the sample names it (sampledState, cpuUsed).
 */
function allocationsView(h: Host, latest: HostSample | null, base: string): Record<string, unknown>[] {
  const sampled = new Map((latest?.machines ?? []).map((m) => [m.machineId, m]));
  return Object.entries(h.allocations).sort(([a], [b]) => (a < b ? -1 : 1)).map(([machineId, a]) => {
    const s = sampled.get(machineId);
    return { machineId, machine: { href: memberUrl(base, 'machines', machineId) }, cpu: a.cpus, memory: a.memoryKiB, ...(s ? { sampledState: s.state, cpuUsed: s.cpuUsed } : {}) };
  });
}

export function hostRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  defineRoute(r, mountedAt, '/hosts', {
    get: async (req, res) => {
      requireAdmin(res);
      const base = baseUrl(req, config);
      const q = parseCollectionQuery(req, config);
      // One row per host in each (the whole list is shown anyway): hosts, leases, heartbeats, agents, latest samples.
      const [hosts, leases, beats, versions, latest] = await Promise.all([
        store.hosts.list(), store.hosts.leases(), store.hosts.heartbeats(), agentVersions(deps), store.monitoring.latestAll(),
      ]);
      const leaseOf = new Map(leases.map((l) => [l.hostId, l]));
      const latestOf = new Map(latest.map((s) => [s.hostId, s]));
      const now = Date.now();
      hosts.sort((a, b) => a.id.localeCompare(b.id));
      const pages = (async function* () { yield hosts; })();
      const result = await runCollectionQuery(pages, q, (h) => hostView(h, leaseOf.get(h.id) ?? null, beats.get(h.id) ?? null, base, config.hostLiveness, now,
        { agentVersion: versions.get(h.id) ?? null, latest: latestOf.get(h.id) ?? null }));
      const id = collectionUrl(base, 'hosts');
      const body = collectionBody({ type: 'HostCollection', id, member: 'hosts', result, q, next: nextWindowQuery(req, q, result.count) });
      body.resourceURI = skybusUri('HostCollection');
      sendCimi(req, res, 200, body);
    },
  });
  defineRoute(r, mountedAt, '/hosts/:id', {
    get: async (req, res) => {
      requireAdmin(res);
      const hostId = req.params.id as string;
      let h: Host | null = null;
      try { checkHostId(hostId); h = await store.hosts.get(hostId); } catch (e) { if (!(e instanceof ValidationError)) throw e; }
      if (!h) throw new NotFoundError(`host ${hostId} not found`);
      const [lease, hb, versions, latest] = await Promise.all([store.hosts.leaseOf(hostId), store.hosts.heartbeatOf(hostId), agentVersions(deps), store.monitoring.latest(hostId)]);
      const base = baseUrl(req, config);
      const view = hostView(h, lease, hb, base, config.hostLiveness, Date.now(), { agentVersion: versions.get(hostId) ?? null, latest });
      view.allocations = allocationsView(h, latest, base);
      sendCimi(req, res, 200, view);
    },
  });
  const setState = (state: 'ENABLED' | 'DISABLED') => async (req: Request, res: Response) => {
    requireAdmin(res);
    const hostId = await knownHostId(deps, req.params.id as string);
    const cur = (await store.hosts.get(hostId))!;
    if (cur.state === 'REMOVED') throw new InvalidStateError(`host ${hostId} was removed: a removed host stays removed`);
    const h = await store.hosts.setState(hostId, state);
    const [lease, hb, versions, latest] = await Promise.all([store.hosts.leaseOf(hostId), store.hosts.heartbeatOf(hostId), agentVersions(deps), store.monitoring.latest(hostId)]);
    sendCimi(req, res, 200, hostView(h, lease, hb, baseUrl(req, config), config.hostLiveness, Date.now(), { agentVersion: versions.get(hostId) ?? null, latest }));
  };
  defineRoute(r, mountedAt, '/hosts/:id/enable', { post: setState('ENABLED') });
  defineRoute(r, mountedAt, '/hosts/:id/disable', { post: setState('DISABLED') });
  return r;
}
