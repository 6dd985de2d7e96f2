/**
 * machineTemplate.networkInterfaces of a MachineCreate: `[{network: {href}}]`, each a Network the
 * caller may use, resolved into the spec's NicSpec (the network's id, name and host groups, copied so
 * placement and the agent never look the network up). Nothing is written here; the machine's create
 * records it on its networks (store.machines.create).
 */
import { ValidationError } from '../errors/registry.js';
import type { BusStore } from '../schema/bus-store.js';
import type { NicSpec } from '../schema/types.js';
import type { Principal } from './auth/authenticator.js';
import { hrefId, optObject, type Body } from './body-fields.js';
import { findVisibleNetwork } from './routes/networks.js';

export const MAX_NETWORK_INTERFACES = 8;

export async function resolveNetworkInterfaces(store: BusStore, who: Principal, v: unknown, label: string): Promise<NicSpec[]> {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ValidationError(`${label} must be an array`, { field: label });
  if (v.length > MAX_NETWORK_INTERFACES) throw new ValidationError(`${label} has more than ${MAX_NETWORK_INTERFACES} entries`, { field: label });
  // Check every entry's shape before any lookup.
  const ids = v.map((e: unknown, i) => {
    const at = `${label}[${i}]`;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new ValidationError(`${at} must be an object`, { field: at });
    const nic = e as Body;
    for (const k of Object.keys(nic)) if (k !== 'network') throw new ValidationError(`unknown field '${k}' in ${at} (an interface names its network only)`, { field: k });
    const net = optObject(nic, 'network', `${at}.network`);
    if (!net) throw new ValidationError(`${at}.network is required`, { field: `${at}.network` });
    if (net.href === undefined) throw new ValidationError(`${at}.network must reference a Network by href (networks are defined by the operator)`, { field: `${at}.network` });
    return hrefId(net, 'networks', `${at}.network`);
  });
  const out: NicSpec[] = [];
  for (const [i, id] of ids.entries()) {
    const n = await findVisibleNetwork(store, id, who);
    if (!n || n.state !== 'STARTED') throw new ValidationError(`${label}[${i}].network: no such Network`, { field: `${label}[${i}].network` });
    out.push({ network: n.id, networkName: n.name, hostGroups: n.hostGroups.map((g) => ({ hostLabels: { ...g.hostLabels }, libvirtNetwork: g.libvirtNetwork })) });
  }
  return out;
}
