/**
 * Networks (CIMI Network, docs/networks.md): the NetworkCreate body validated into what
 * store.networks.create takes, and the CIMI representation.
 *
 *   NetworkCreate { name, description?, properties?, tenant?,
 *                   networkTemplate: { networkConfig?: { networkType?: PUBLIC|PRIVATE },
 *                                      hostGroups: [{ hostLabels: {k: v}, libvirtNetwork }] } }
 *
 * `hostGroups` is the Skybus extension that says where the network exists: on every host whose labels
 * include all of a group's hostLabels, as the libvirt network libvirtNetwork. CIMI's NetworkTemplate
 * and NetworkConfiguration are taken inline only (no such collections). `tenant` (Skybus extension)
 * makes the network visible and usable to that one tenant only; without it every tenant shares it.
 * That is visibility, not isolation: the L2 segment is whatever the libvirt network is.
 */
import { ValidationError } from '../errors/registry.js';
import { MAX_HOST_GROUPS, type NewNetwork } from '../schema/store/networks.js';
import { NETWORK_TYPES, type Network, type NetworkHostGroup } from '../schema/types.js';
import { isAdmin, type Principal } from './auth/authenticator.js';
import { optEnum, optObject, optString, optStringMap, rejectUnknownFields, reqString, type Body } from './body-fields.js';
import { commonFields } from './catalog-bodies.js';
import { memberUrl, resourceUri } from './cimi/uris.js';

/** What libvirt accepts as a network name, kept to a safe subset (it lands in the domain XML). */
const LIBVIRT_NETWORK = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function parseHostGroup(v: unknown, label: string): NetworkHostGroup {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ValidationError(`${label} must be an object`, { field: label });
  const g = v as Body;
  for (const k of Object.keys(g)) if (k !== 'hostLabels' && k !== 'libvirtNetwork') throw new ValidationError(`unknown field '${k}' in ${label}`, { field: k });
  const libvirtNetwork = reqString(g, 'libvirtNetwork', 64, `${label}.libvirtNetwork`);
  if (!LIBVIRT_NETWORK.test(libvirtNetwork)) throw new ValidationError(`${label}.libvirtNetwork must be 1-64 letters, digits, dot, dash or underscore`, { field: `${label}.libvirtNetwork` });
  // No labels: every host has the network.
  const hostLabels = optStringMap(g, 'hostLabels', `${label}.hostLabels`) ?? {};
  return { hostLabels, libvirtNetwork };
}

export function parseNetworkCreate(body: Body, where = 'NetworkCreate'): NewNetwork {
  rejectUnknownFields(body, ['networkTemplate', 'tenant'], where);
  const { name, description, properties } = commonFields(body, where);
  const tenant = optString(body, 'tenant', 255, `${where}.tenant`);
  if (tenant === '') throw new ValidationError(`${where}.tenant may not be empty (leave it out for a shared network)`, { field: `${where}.tenant` });
  if (name === '') throw new ValidationError(`${where}.name is required`, { field: `${where}.name` });
  const tw = `${where}.networkTemplate`;
  const tpl = optObject(body, 'networkTemplate', tw);
  if (!tpl) throw new ValidationError(`${tw} is required`, { field: tw });
  if (tpl.href !== undefined) throw new ValidationError(`${tw}: this cloud keeps no NetworkTemplates; give it inline`, { field: `${tw}.href` });
  rejectUnknownFields(tpl, ['networkConfig', 'hostGroups'], tw);
  const cfg = optObject(tpl, 'networkConfig', `${tw}.networkConfig`) ?? {};
  if (cfg.href !== undefined) throw new ValidationError(`${tw}.networkConfig: this cloud keeps no NetworkConfigurations; give it inline`, { field: `${tw}.networkConfig.href` });
  rejectUnknownFields(cfg, ['networkType'], `${tw}.networkConfig`);
  const networkType = optEnum(cfg, 'networkType', NETWORK_TYPES, `${tw}.networkConfig.networkType`) ?? 'PUBLIC';
  const raw = tpl.hostGroups;
  if (!Array.isArray(raw) || raw.length === 0) throw new ValidationError(`${tw}.hostGroups must list at least one host group`, { field: `${tw}.hostGroups` });
  if (raw.length > MAX_HOST_GROUPS) throw new ValidationError(`${tw}.hostGroups has more than ${MAX_HOST_GROUPS} entries`, { field: `${tw}.hostGroups` });
  const hostGroups = raw.map((g, i) => parseHostGroup(g, `${tw}.hostGroups[${i}]`));
  return { name, description, properties, networkType, hostGroups, tenant: tenant ?? null };
}

/** A network a caller may use for a machine: a shared one (tenant null) or their tenant's own. */
export function networkVisibleTo(n: Network, who: Principal): boolean {
  return n.tenant === null || n.tenant === who.tenant;
}

/** A network a caller may read (and, as an admin, delete): the ones they may use; admins: all (they define them). */
export function networkReadableBy(n: Network, who: Principal): boolean {
  return isAdmin(who) || networkVisibleTo(n, who);
}

/** The CIMI Network. Host groups (host labels, libvirt names) are fleet details: administrators only. */
export function networkView(n: Network, base: string, who: Principal): Record<string, unknown> {
  const id = memberUrl(base, 'networks', n.id);
  const view: Record<string, unknown> = {
    resourceURI: resourceUri('Network'), id, name: n.name, description: n.description,
    created: new Date(n.created).toISOString(), updated: new Date(n.updated).toISOString(), properties: n.properties,
    state: n.state, networkType: n.networkType,
  };
  if (isAdmin(who)) view.hostGroups = n.hostGroups.map((g) => ({ hostLabels: g.hostLabels, libvirtNetwork: g.libvirtNetwork }));
  if (isAdmin(who) && n.tenant !== null) view.tenant = n.tenant;
  view.operations = isAdmin(who) ? [{ rel: 'delete', href: id }] : [];
  return view;
}
