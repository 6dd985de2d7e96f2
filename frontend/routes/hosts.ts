/**
 * /api/hosts (Skybus extension, admins only): the hosts, their capacity and use, and their health
 * (schema/host-health.ts: up, unreachable, down, removed), the same as `skybus host list`.
 *   GET /hosts        every host ($filter, $orderby, $first/$last, $select apply; e.g. $filter=health='down')
 *   GET /hosts/:id    one host
 */
import { Router } from 'express';
import { NotFoundError, ValidationError } from '../../errors/registry.js';
import { hostCondition, type HostLivenessPolicy } from '../../schema/host-health.js';
import { checkHostId } from '../../schema/store/hosts.js';
import type { Host, HostHeartbeat, Lease } from '../../schema/types.js';
import { requireAdmin } from '../auth/authenticator.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { collectionUrl, memberUrl, skybusUri } from '../cimi/uris.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

const iso = (t: number | null) => (t === null ? undefined : new Date(t).toISOString());

export function hostView(h: Host, lease: Lease | null, hb: HostHeartbeat | null, base: string, p: HostLivenessPolicy, now: number): Record<string, unknown> {
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
  return view;
}

export function hostRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  defineRoute(r, mountedAt, '/hosts', {
    get: async (req, res) => {
      requireAdmin(res);
      const base = baseUrl(req, config);
      const q = parseCollectionQuery(req, config);
      const [hosts, leases, beats] = await Promise.all([store.hosts.list(), store.hosts.leases(), store.hosts.heartbeats()]);
      const leaseOf = new Map(leases.map((l) => [l.hostId, l]));
      const now = Date.now();
      hosts.sort((a, b) => a.id.localeCompare(b.id));
      const pages = (async function* () { yield hosts; })();
      const result = await runCollectionQuery(pages, q, (h) => hostView(h, leaseOf.get(h.id) ?? null, beats.get(h.id) ?? null, base, config.hostLiveness, now));
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
      const [lease, hb] = await Promise.all([store.hosts.leaseOf(hostId), store.hosts.heartbeatOf(hostId)]);
      sendCimi(req, res, 200, hostView(h, lease, hb, baseUrl(req, config), config.hostLiveness, Date.now()));
    },
  });
  return r;
}
