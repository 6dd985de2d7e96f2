/**
 * A machine's network interfaces (CIMI MachineNetworkInterface, docs/networks.md): what the spec
 * asked (the network, written by the frontend at create) joined with what the agent saw (MAC address,
 * IP addresses when known, in status).
 *   GET /machines/:id/networkInterfaces        MachineNetworkInterfaceCollection (member
 *                                              `machineNetworkInterfaces`; $filter $first $last $orderby $select)
 *   GET /machines/:id/networkInterfaces/:nic   one interface, by its position (0, 1, ...)
 * The machine must be the caller's (else 404, like a missing one). Read-only: interfaces are chosen at create.
 */
import { Router, type Request, type Response } from 'express';
import { NotFoundError } from '../../errors/registry.js';
import type { Machine } from '../../schema/types.js';
import { principalOf } from '../auth/authenticator.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { memberUrl, resourceUri } from '../cimi/uris.js';
import { loadMachine } from '../machine-mutations.js';
import { displayState } from '../machine-view.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

export function networkInterfacesUrl(base: string, machineId: string): string {
  return `${memberUrl(base, 'machines', machineId)}/networkInterfaces`;
}

/** The interface at position i: spec joined with the agent's status of the same position and network. */
export function machineNicView(m: Machine, i: number, base: string): Record<string, unknown> {
  const nic = m.spec.networkInterfaces![i]!;
  const seen = m.status.networkInterfaces?.[i];
  const st = seen && seen.network === nic.network ? seen : null;
  const id = `${networkInterfacesUrl(base, m.id)}/${i}`;
  const view: Record<string, unknown> = {
    resourceURI: resourceUri('MachineNetworkInterface'), id, name: `${nic.networkName || 'nic'} ${i}`, description: `interface ${i} of machine ${m.name}`,
    created: new Date(m.created).toISOString(), updated: new Date(m.status.updatedAt ?? m.updated).toISOString(), properties: {},
    network: { href: memberUrl(base, 'networks', nic.network) },
    // ACTIVE: the machine runs and its interface is known to libvirt; STANDBY otherwise.
    state: st?.macAddress && displayState(m) === 'STARTED' ? 'ACTIVE' : 'STANDBY',
  };
  if (st?.macAddress) view.macAddress = st.macAddress;
  // Inlined addresses (Skybus has no Address collection): what libvirt's DHCP leases say, when known.
  if (st && st.addresses.length > 0) view.addresses = st.addresses.map((ip) => ({ ip, protocol: ip.includes(':') ? 'IPv6' : 'IPv4', allocation: 'dynamic' }));
  view.operations = [];
  return view;
}

export function machineNetworkInterfaceRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  const machineOf = (req: Request, res: Response) => loadMachine(store, req.params.id as string, principalOf(res));
  defineRoute(r, mountedAt, '/machines/:id/networkInterfaces', {
    get: async (req, res) => {
      const m = await machineOf(req, res);
      const base = baseUrl(req, config);
      const q = parseCollectionQuery(req, config);
      const positions = (m.spec.networkInterfaces ?? []).map((_, i) => i);
      async function* pages() { yield positions; }
      const result = await runCollectionQuery(pages(), q, (i) => machineNicView(m, i, base));
      const id = networkInterfacesUrl(base, m.id);
      sendCimi(req, res, 200, collectionBody({ type: 'MachineNetworkInterfaceCollection', id, member: 'machineNetworkInterfaces', result, q, next: nextWindowQuery(req, q, result.count) }));
    },
  });
  defineRoute(r, mountedAt, '/machines/:id/networkInterfaces/:nic', {
    get: async (req, res) => {
      const m = await machineOf(req, res);
      const nic = req.params.nic as string;
      const i = /^\d{1,3}$/.test(nic) ? Number(nic) : -1;
      if (i < 0 || i >= (m.spec.networkInterfaces ?? []).length) throw new NotFoundError(`machine ${m.id} has no network interface ${nic}`);
      sendCimi(req, res, 200, machineNicView(m, i, baseUrl(req, config)));
    },
  });
  return r;
}
