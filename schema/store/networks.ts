/**
 * Networks (schema/cql/0010_networks.cql, docs/networks.md) and which machines name them.
 *
 * A machine's create writes its machines_by_network row first, then re-reads the network at SERIAL
 * (attach); a delete first turns the network DELETING by compare-and-set, then reads that partition
 * (remove). Whichever runs second sees the other: a machine never ends up naming a deleted network,
 * and a network in use is never deleted.
 */
import { ConflictError, NotFoundError, UnknownOutcomeError, ValidationError } from '../../errors/registry.js';
import { checkId, newId } from '../ids.js';
import { collectPages, fromJson, toJson } from '../json-column.js';
import type { Row, TableDriver } from '../table-driver.js';
import { NETWORK_TYPES, type Network, type NetworkHostGroup, type NetworkType } from '../types.js';

export interface NewNetwork {
  name: string;
  description?: string;
  properties?: Record<string, string>;
  networkType?: NetworkType;
  hostGroups: NetworkHostGroup[];
  tenant?: string | null;
}

export interface NetworkUser { machineId: string; tenant: string; created: number }

/** How many machines a delete looks at before it answers 409 (it names at most these). */
export const NETWORK_USERS_PAGE = 100;
/** A reference row this old whose machine row is gone is a leftover of a create that died half-way. */
export const STALE_REFERENCE_MS = 10 * 60_000;
export const MAX_HOST_GROUPS = 16;

function rowToNetwork(r: Row): Network {
  return {
    id: r.id as string,
    name: (r.name as string) ?? '',
    description: (r.description as string) ?? '',
    properties: fromJson<Record<string, string>>(r.properties, 'network properties', {}),
    networkType: ((r.network_type as string) ?? 'PUBLIC') as NetworkType,
    hostGroups: fromJson<NetworkHostGroup[]>(r.host_groups, 'network host groups', []),
    tenant: (r.tenant as string) ?? null,
    state: ((r.state as string) ?? 'STARTED') as Network['state'],
    created: r.created as number,
    updated: r.updated as number,
  };
}

function checkNew(n: NewNetwork): void {
  if (typeof n.name !== 'string' || n.name.length > 255) throw new ValidationError('network name must be a string of at most 255 characters');
  if (n.networkType !== undefined && !(NETWORK_TYPES as readonly string[]).includes(n.networkType)) throw new ValidationError(`networkType must be one of ${NETWORK_TYPES.join(', ')}`);
  if (!Array.isArray(n.hostGroups) || n.hostGroups.length === 0 || n.hostGroups.length > MAX_HOST_GROUPS) {
    throw new ValidationError(`a network needs 1 to ${MAX_HOST_GROUPS} host groups`);
  }
  for (const g of n.hostGroups) {
    if (typeof g.libvirtNetwork !== 'string' || g.libvirtNetwork.length === 0) throw new ValidationError('every host group names a libvirt network');
    if (typeof g.hostLabels !== 'object' || g.hostLabels === null) throw new ValidationError('every host group has a map of host labels');
  }
}

export class NetworkStore {
  constructor(private readonly d: TableDriver) {}

  async create(n: NewNetwork, now = Date.now()): Promise<Network> {
    checkNew(n);
    const id = newId(now);
    const row: Row = {
      id, name: n.name, description: n.description ?? '', properties: toJson(n.properties ?? {}), network_type: n.networkType ?? 'PUBLIC',
      host_groups: toJson(n.hostGroups), tenant: n.tenant ?? null, state: 'STARTED', created: now, updated: now,
    };
    const { applied } = await this.d.cas('networks', row, { ifNotExists: true });
    if (!applied) throw new ConflictError('network id collision');
    return rowToNetwork(row);
  }

  async get(id: string, opts: { serial?: boolean } = {}): Promise<Network | null> {
    const r = await this.d.get('networks', { id: checkId(id, 'network id') }, opts);
    return r && r.host_groups !== null ? rowToNetwork(r) : null;
  }

  /** Every network (an operator's short list), in no particular order. */
  async list(): Promise<Network[]> {
    const rows = await collectPages((pageState) => this.d.scan('networks', { limit: 1000, pageState }));
    return rows.filter((r) => r.host_groups !== null).map(rowToNetwork);
  }

  /**
   * Record that a machine (about to be written) names the network, then check the network is still
   * there and not being deleted; if it is, the record is taken back and the create refused.
   */
  async attach(networkId: string, machineId: string, tenant: string, now = Date.now()): Promise<Network> {
    checkId(networkId, 'network id');
    checkId(machineId, 'machine id');
    await this.d.put('machines_by_network', { network_id: networkId, machine_id: machineId, tenant, created: now });
    const n = await this.get(networkId, { serial: true });
    if (!n || n.state !== 'STARTED') {
      await this.detach(networkId, machineId);
      throw new ConflictError(n ? `Network ${networkId} is being deleted` : `Network ${networkId} no longer exists`);
    }
    return n;
  }

  async detach(networkId: string, machineId: string): Promise<void> {
    await this.d.remove('machines_by_network', { network_id: checkId(networkId, 'network id'), machine_id: checkId(machineId, 'machine id') });
  }

  /** The first `limit` machines recorded as naming the network (machine id order). */
  async users(networkId: string, limit = NETWORK_USERS_PAGE): Promise<NetworkUser[]> {
    const page = await this.d.select('machines_by_network', { network_id: checkId(networkId, 'network id') }, { limit });
    return page.rows.map((r) => ({ machineId: r.machine_id as string, tenant: r.tenant as string, created: r.created as number }));
  }

  private async setState(n: Network, from: Network['state'], to: Network['state'], now: number): Promise<boolean> {
    try {
      const { applied } = await this.d.cas('networks', { id: n.id, state: to, updated: now }, { if: { state: from } });
      return applied;
    } catch (e) {
      if (!(e instanceof UnknownOutcomeError)) throw e;
      return (await this.get(n.id, { serial: true }))?.state === to;
    }
  }

  /**
   * Delete the network unless a live machine names it. Returns the machines that still do (nothing
   * is deleted then, and the network is STARTED again), or [] once it is gone. Reference rows whose
   * machine row is gone and that are older than STALE_REFERENCE_MS are removed on the way.
   */
  async remove(id: string, now = Date.now()): Promise<NetworkUser[]> {
    const n = await this.get(id, { serial: true });
    if (!n) throw new NotFoundError(`no Network ${id}`);
    // A delete that died half-way left it DELETING: carry on from there.
    if (n.state === 'STARTED' && !(await this.setState(n, 'STARTED', 'DELETING', now))) {
      throw new ConflictError(`Network ${id} was changed meanwhile; try again`);
    }
    const live: NetworkUser[] = [];
    // Pages of leftovers only are cleared and the next page read; the first live machines end it.
    for (let page = 0; page < 10 && live.length === 0; page++) {
      const users = await this.users(id);
      for (const u of users) {
        const machine = await this.d.get('machines', { id: u.machineId });
        const exists = machine !== null && machine.tenant !== null;
        if (!exists && now - u.created > STALE_REFERENCE_MS) await this.detach(id, u.machineId);
        else live.push(u);
      }
      if (users.length < NETWORK_USERS_PAGE) break;
    }
    if (live.length > 0) {
      await this.setState({ ...n, state: 'DELETING' }, 'DELETING', 'STARTED', now);
      return live;
    }
    await this.d.remove('networks', { id });
    return [];
  }
}
