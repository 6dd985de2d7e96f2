/**
 * A machine's network interface (CIMI MachineNetworkInterface, docs/networks.md): what the spec
 * asked (the network, written by the frontend at create) joined with what the agent saw (MAC address,
 * IP addresses when known, in status). Served as the Machine's `networkInterfaces` sub-collection
 * (machine-sub-collections.ts): a member's id is its position (0, 1, ...). Read-only: interfaces are
 * chosen at create.
 */
import type { Machine } from '../schema/types.js';
import { memberUrl, resourceUri } from './cimi/uris.js';
import { displayState } from './machine-view.js';

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
