/**
 * A small DSP0263 (CIMI 1.x) conformance checker, written from the standard rather than from the
 * Skybus code: it reads a representation (a JSON object or XML text) the way a spec-following client
 * would and reports what such a client would trip over. It returns the links a client may follow
 * (every href and id, but not the POST targets of actions) so a walker can resolve them.
 *
 * Data-driven: the tables below are the standard's; a resource type Skybus starts serving later
 * (volumes, networks, ...) is checked as soon as it is linked, with no change here.
 */
import { XMLParser } from 'fast-xml-parser';

export const CIMI_NS = 'http://schemas.dmtf.org/cimi/1';
export const CIMI_BASE = `${CIMI_NS}/`;
export const SKYBUS_NS = 'urn:skybus:cimi-extensions:1';

/** DSP0263 collections: the member type and the member array's name (the type's plural, lower camel case). */
export const SPEC_COLLECTIONS: Readonly<Record<string, { member: string; members: string }>> = {
  ResourceMetadataCollection: { member: 'ResourceMetadata', members: 'resourceMetadata' },
  MachineCollection: { member: 'Machine', members: 'machines' },
  MachineTemplateCollection: { member: 'MachineTemplate', members: 'machineTemplates' },
  MachineConfigurationCollection: { member: 'MachineConfiguration', members: 'machineConfigurations' },
  MachineImageCollection: { member: 'MachineImage', members: 'machineImages' },
  MachineDiskCollection: { member: 'MachineDisk', members: 'disks' },
  MachineVolumeCollection: { member: 'MachineVolume', members: 'machineVolumes' },
  MachineNetworkInterfaceCollection: { member: 'MachineNetworkInterface', members: 'networkInterfaces' },
  MachineNetworkInterfaceAddressCollection: { member: 'MachineNetworkInterfaceAddress', members: 'addresses' },
  CredentialCollection: { member: 'Credential', members: 'credentials' },
  CredentialTemplateCollection: { member: 'CredentialTemplate', members: 'credentialTemplates' },
  VolumeCollection: { member: 'Volume', members: 'volumes' },
  VolumeTemplateCollection: { member: 'VolumeTemplate', members: 'volumeTemplates' },
  VolumeConfigurationCollection: { member: 'VolumeConfiguration', members: 'volumeConfigurations' },
  VolumeImageCollection: { member: 'VolumeImage', members: 'volumeImages' },
  NetworkCollection: { member: 'Network', members: 'networks' },
  NetworkTemplateCollection: { member: 'NetworkTemplate', members: 'networkTemplates' },
  NetworkConfigurationCollection: { member: 'NetworkConfiguration', members: 'networkConfigurations' },
  NetworkPortCollection: { member: 'NetworkPort', members: 'networkPorts' },
  AddressCollection: { member: 'Address', members: 'addresses' },
  ForwardingGroupCollection: { member: 'ForwardingGroup', members: 'forwardingGroups' },
  SystemCollection: { member: 'System', members: 'systems' },
  SystemTemplateCollection: { member: 'SystemTemplate', members: 'systemTemplates' },
  JobCollection: { member: 'Job', members: 'jobs' },
  MeterCollection: { member: 'Meter', members: 'meters' },
  EventLogCollection: { member: 'EventLog', members: 'eventLogs' },
  EventCollection: { member: 'Event', members: 'events' },
};

/** Skybus-only collections (their types in Skybus's namespace), named by the same rule. */
export const SKYBUS_COLLECTIONS: Readonly<Record<string, { member: string; members: string }>> = {
  ApiKeyCollection: { member: 'ApiKey', members: 'apiKeys' },
  AuditEventCollection: { member: 'AuditEvent', members: 'auditEvents' },
  HostCollection: { member: 'Host', members: 'hosts' },
  QuotaCollection: { member: 'Quota', members: 'quotas' },
};

/** CloudEntryPoint attributes that link collections, and the collection type each must lead to. */
export const ENTRY_POINT_LINKS: Readonly<Record<string, string>> = {
  resourceMetadata: 'ResourceMetadataCollection', machines: 'MachineCollection', machineTemplates: 'MachineTemplateCollection',
  machineConfigs: 'MachineConfigurationCollection', machineImages: 'MachineImageCollection', credentials: 'CredentialCollection',
  credentialTemplates: 'CredentialTemplateCollection', volumes: 'VolumeCollection', volumeTemplates: 'VolumeTemplateCollection',
  volumeConfigs: 'VolumeConfigurationCollection', volumeImages: 'VolumeImageCollection', networks: 'NetworkCollection',
  networkTemplates: 'NetworkTemplateCollection', networkConfigs: 'NetworkConfigurationCollection', networkPorts: 'NetworkPortCollection',
  addresses: 'AddressCollection', forwardingGroups: 'ForwardingGroupCollection', systems: 'SystemCollection',
  systemTemplates: 'SystemTemplateCollection', jobs: 'JobCollection', meters: 'MeterCollection', eventLogs: 'EventLogCollection',
};
/** Skybus's own entry point links. */
export const SKYBUS_ENTRY_POINT_LINKS: Readonly<Record<string, string>> = { events: 'EventCollection', apiKeys: 'ApiKeyCollection' };

/** Attributes every CIMI resource may have (DSP0263 common attributes). */
export const COMMON_ATTRIBUTES = ['resourceURI', 'id', 'name', 'description', 'created', 'updated', 'properties', 'operations'] as const;

/** The attributes DSP0263 defines per type (beyond the common ones); anything else is an extension. */
export const SPEC_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  CloudEntryPoint: ['baseURI', ...Object.keys(ENTRY_POINT_LINKS)],
  ResourceMetadata: ['typeUri', 'attributes', 'capabilities', 'actions'],
  Machine: ['state', 'cpu', 'memory', 'disks', 'cpuArch', 'cpuSpeed', 'volumes', 'networkInterfaces', 'latestSnapshot', 'eventLog', 'meters'],
  MachineDisk: ['capacity', 'initialLocation'],
  MachineVolume: ['initialLocation', 'volume'],
  MachineNetworkInterface: ['addresses', 'network', 'networkPort', 'networkType', 'mtu', 'macAddress', 'state'],
  MachineConfiguration: ['cpu', 'memory', 'disks', 'cpuArch', 'cpuSpeed'],
  MachineImage: ['state', 'type', 'imageLocation', 'relatedImage'],
  MachineTemplate: ['machineConfig', 'machineImage', 'credential', 'volumes', 'volumeTemplates', 'networkInterfaces', 'initialState', 'userData', 'meterTemplates', 'eventLogTemplate'],
  Credential: [],
  Job: ['state', 'targetResource', 'affectedResources', 'action', 'returnCode', 'progress', 'statusMessage', 'timeOfStatusChange', 'parentJob', 'nestedJobs'],
  Event: ['timestamp', 'type', 'content', 'outcome', 'severity'],
  EventLog: ['targetResource', 'events', 'persistence', 'summary'],
  Volume: ['state', 'type', 'capacity', 'bootable', 'images', 'meters', 'eventLog'],
  VolumeConfiguration: ['type', 'format', 'capacity'],
  VolumeImage: ['state', 'imageLocation', 'bootable'],
  VolumeTemplate: ['volumeConfig', 'volumeImage', 'meterTemplates', 'eventLogTemplate'],
  Network: ['state', 'networkType', 'mtu', 'classOfService', 'networkPorts', 'forwardingGroup', 'meters', 'eventLog'],
  NetworkConfiguration: ['networkType', 'mtu', 'classOfService'],
  NetworkTemplate: ['networkConfig', 'forwardingGroup', 'meterTemplates', 'eventLogTemplate'],
  MachineNetworkInterfaceAddress: ['address'],
  Address: ['ip', 'hostname', 'allocation', 'defaultGateway', 'dns', 'protocol', 'mask', 'network', 'resource'],
};

/** The non-collection resource types of DSP0263. */
const SPEC_TYPES = new Set([
  'CloudEntryPoint', 'Error', ...Object.values(SPEC_COLLECTIONS).map((c) => c.member),
  'MachineCreate', 'Action', 'VolumeCreate', 'NetworkCreate', 'SystemCreate', 'CredentialCreate',
]);
// Besides its collections' members: the metrics ranges of a machine and a host (docs/monitoring-api.md).
export const SKYBUS_TYPES = new Set([...Object.values(SKYBUS_COLLECTIONS).map((c) => c.member), 'MachineMetrics', 'HostMetrics']);

/** Types whose members carry a URN id rather than a URL: Skybus's audit records (docs/cimi-conformance.md). */
export const URN_ID_TYPES = new Set(['AuditEvent']);

/** Operation rels: DSP0263's own, standard link relations for paging, the CIMI action URIs. */
const OPERATION_RELS = new Set(['add', 'edit', 'delete', 'insert', 'next', 'previous', 'first', 'last']);
export const CIMI_ACTIONS = new Set(['start', 'stop', 'restart', 'pause', 'suspend', 'capture', 'snapshot', 'restore', 'export', 'import', 'enable', 'disable', 'connect', 'disconnect']);

export function isActionRel(rel: string): boolean {
  return rel.startsWith(`${CIMI_BASE}action/`) || rel.startsWith(`${SKYBUS_NS}/action/`);
}

export function validRel(rel: string): boolean {
  if (OPERATION_RELS.has(rel)) return true;
  if (rel.startsWith(`${CIMI_BASE}action/`)) return CIMI_ACTIONS.has(rel.slice(`${CIMI_BASE}action/`.length));
  return rel.startsWith(`${SKYBUS_NS}/`) && rel.length > SKYBUS_NS.length + 1;
}

export interface Report {
  /** the representation's type (e.g. Machine, MachineCollection) */
  type: string | null;
  problems: string[];
  /** URLs a client may GET: ids, hrefs, non-action operation targets */
  links: string[];
  /** every resource found (the representation itself, collection members, inlined collections): type and attributes */
  resources: { type: string; attributes: string[]; body?: Record<string, unknown> }[];
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function typeFromUri(uri: unknown): { type: string; skybus: boolean } | null {
  if (typeof uri !== 'string') return null;
  if (uri.startsWith(CIMI_BASE)) return { type: uri.slice(CIMI_BASE.length), skybus: false };
  if (uri.startsWith(`${SKYBUS_NS}/`)) return { type: uri.slice(SKYBUS_NS.length + 1), skybus: true };
  return null;
}

function collectionSpec(type: string, skybus: boolean): { member: string; members: string } | undefined {
  return skybus ? SKYBUS_COLLECTIONS[type] : SPEC_COLLECTIONS[type];
}

function isUrl(v: unknown): v is string {
  return typeof v === 'string' && /^https?:\/\/[^/]+\//.test(v);
}

function isRef(v: unknown): v is { href: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { href?: unknown }).href === 'string';
}

/** Checks a JSON representation (top-level, or nested: members and inlined collections). */
export function checkJson(body: unknown, where = '$'): Report {
  const report: Report = { type: null, problems: [], links: [], resources: [] };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    report.problems.push(`${where}: not a JSON object`);
    return report;
  }
  checkResourceJson(body as Record<string, unknown>, where, report, null);
  report.type = typeFromUri((body as Record<string, unknown>).resourceURI)?.type ?? null;
  return report;
}

function checkResourceJson(o: Record<string, unknown>, where: string, r: Report, expectedType: string | null): void {
  const t = typeFromUri(o.resourceURI);
  if (!t) { r.problems.push(`${where}: resourceURI ${JSON.stringify(o.resourceURI)} is not a CIMI (or Skybus) type URI`); return; }
  if (expectedType && t.type !== expectedType) r.problems.push(`${where}: a member of type ${t.type}, expected ${expectedType}`);
  const coll = t.type.endsWith('Collection') ? collectionSpec(t.type, t.skybus) : undefined;
  if (!coll && !(t.skybus ? SKYBUS_TYPES : SPEC_TYPES).has(t.type)) r.problems.push(`${where}: ${t.type} is not a ${t.skybus ? 'Skybus' : 'DSP0263'} type${t.skybus ? '' : ' (a Skybus type belongs in Skybus\'s namespace)'}`);
  if (t.skybus && SPEC_TYPES.has(t.type)) r.problems.push(`${where}: ${t.type} is a DSP0263 type and belongs in its namespace`);
  // id: the resource's URL, resolvable
  if (URN_ID_TYPES.has(t.type) && typeof o.id === 'string' && o.id.startsWith('urn:')) { /* documented: no URL per event */ }
  else if (!isUrl(o.id)) r.problems.push(`${where}: id ${JSON.stringify(o.id)} is not an absolute URL`);
  else r.links.push(o.id);
  for (const k of ['created', 'updated', 'timestamp', 'timeOfStatusChange']) {
    if (o[k] !== undefined && (typeof o[k] !== 'string' || !ISO.test(o[k] as string))) r.problems.push(`${where}.${k}: not an ISO-8601 date and time`);
  }
  if (o.properties !== undefined) {
    const p = o.properties;
    if (typeof p !== 'object' || p === null || Array.isArray(p) || Object.values(p).some((v) => typeof v !== 'string')) r.problems.push(`${where}.properties: not a map of strings`);
  }
  if (o.operations !== undefined) checkOperationsJson(o.operations, `${where}.operations`, r);
  if (coll) {
    if (typeof o.count !== 'number' || !Number.isInteger(o.count) || o.count < 0) r.problems.push(`${where}.count: not a non-negative integer`);
    const arrays = Object.keys(o).filter((k) => k !== 'operations' && Array.isArray(o[k]));
    for (const k of arrays) if (k !== coll.members) r.problems.push(`${where}: ${t.type} members are named '${coll.members}', not '${k}'`);
    const members = o[coll.members];
    if (members !== undefined) {
      if (!Array.isArray(members)) r.problems.push(`${where}.${coll.members}: not an array`);
      else {
        if (typeof o.count === 'number' && members.length > o.count) r.problems.push(`${where}: ${members.length} members but count ${o.count}`);
        members.forEach((m, i) => {
          if (typeof m !== 'object' || m === null) { r.problems.push(`${where}.${coll.members}[${i}]: not an object`); return; }
          checkResourceJson(m as Record<string, unknown>, `${where}.${coll.members}[${i}]`, r, coll.member);
        });
      }
    }
  } else {
    r.resources.push({ type: t.type, attributes: Object.keys(o), body: o });
  }
  // Every other attribute: references, inlined collections, nested structures.
  for (const [k, v] of Object.entries(o)) {
    if (k === 'operations' || k === 'id' || k === 'resourceURI' || (coll && k === coll.members)) continue;
    walkValueJson(v, `${where}.${k}`, r);
  }
  if (t.type === 'CloudEntryPoint') {
    if (!isUrl(o.baseURI)) r.problems.push(`${where}.baseURI: not an absolute URL`);
    for (const [k, v] of Object.entries(o)) {
      if (isRef(v) && !ENTRY_POINT_LINKS[k] && !SKYBUS_ENTRY_POINT_LINKS[k]) r.problems.push(`${where}.${k}: not a CloudEntryPoint collection link`);
    }
  }
}

function walkValueJson(v: unknown, where: string, r: Report): void {
  if (Array.isArray(v)) { v.forEach((x, i) => walkValueJson(x, `${where}[${i}]`, r)); return; }
  if (typeof v !== 'object' || v === null) return;
  const o = v as Record<string, unknown>;
  if (isRef(o)) {
    if (!isUrl(o.href)) r.problems.push(`${where}.href: ${JSON.stringify(o.href)} is not an absolute URL`);
    else r.links.push(o.href);
    return;
  }
  if (o.resourceURI !== undefined) { checkResourceJson(o, where, r, null); return; }
  for (const [k, x] of Object.entries(o)) walkValueJson(x, `${where}.${k}`, r);
}

function checkOperationsJson(ops: unknown, where: string, r: Report): void {
  if (!Array.isArray(ops)) { r.problems.push(`${where}: not an array`); return; }
  ops.forEach((op, i) => {
    const o = op as { rel?: unknown; href?: unknown };
    if (typeof o?.rel !== 'string' || typeof o.href !== 'string') { r.problems.push(`${where}[${i}]: needs string rel and href`); return; }
    if (!validRel(o.rel)) r.problems.push(`${where}[${i}]: rel '${o.rel}' is neither a CIMI operation nor a CIMI or Skybus action URI`);
    if (!isUrl(o.href)) r.problems.push(`${where}[${i}]: href ${JSON.stringify(o.href)} is not an absolute URL`);
    else if (!isActionRel(o.rel)) r.links.push(o.href); // action hrefs are POST targets
  });
}

const xmlParser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', removeNSPrefix: false, parseTagValue: false, isArray: (_name, _path, _leaf, isAttribute) => !isAttribute });

type XNode = Record<string, unknown>;

/** Checks an XML representation (DSP0263 XML rendering). */
export function checkXml(text: string): Report {
  const r: Report = { type: null, problems: [], links: [], resources: [] };
  let doc: XNode;
  try { doc = xmlParser.parse(text) as XNode; } catch (e) { r.problems.push(`not XML: ${(e as Error).message}`); return r; }
  const roots = Object.keys(doc).filter((k) => !k.startsWith('?'));
  if (roots.length !== 1) { r.problems.push('expected one root element'); return r; }
  const rootName = roots[0];
  const root = (doc[rootName] as XNode[])[0];
  if (typeof root !== 'object') { r.problems.push(`<${rootName}> is empty`); return r; }
  const ns = root['@_xmlns'];
  if (rootName === 'Collection') {
    const t = typeFromUri(root['@_resourceURI']);
    if (!t || !t.type.endsWith('Collection')) { r.problems.push('<Collection> needs a resourceURI attribute naming its collection type'); return r; }
    r.type = t.type;
    if (ns !== CIMI_NS) r.problems.push(`<Collection> must be in ${CIMI_NS}, is in ${String(ns)}`);
    checkCollectionXml(root, t, '<Collection>', r, false);
  } else {
    r.type = rootName;
    const skybus = SKYBUS_TYPES.has(rootName);
    if (!SPEC_TYPES.has(rootName) && !skybus) r.problems.push(`<${rootName}> is not a DSP0263 or Skybus type`);
    if (rootName.endsWith('Collection')) r.problems.push(`a collection's element is <Collection resourceURI=...>, not <${rootName}>`);
    const want = skybus ? SKYBUS_NS : CIMI_NS;
    if (ns !== want) r.problems.push(`<${rootName}> must be in ${want}, is in ${String(ns)}`);
    checkResourceXml(root, rootName, `<${rootName}>`, r);
  }
  return r;
}

function text(n: unknown): string | undefined {
  if (typeof n === 'string') return n;
  if (typeof n === 'object' && n !== null && typeof (n as XNode)['#text'] === 'string') return (n as XNode)['#text'] as string;
  return undefined;
}

function checkCollectionXml(node: XNode, t: { type: string; skybus: boolean }, where: string, r: Report, inlined: boolean): void {
  const spec = collectionSpec(t.type, t.skybus);
  if (!spec) { r.problems.push(`${where}: ${t.type} is not a known collection type`); return; }
  for (const k of Object.keys(node)) {
    if (k.startsWith('@_')) continue;
    if (k === 'resourceURI') r.problems.push(`${where}: carries a <resourceURI> child`);
    else if (k === 'operation') checkOperationsXml(node[k] as XNode[], where, r);
    else if (k === spec.member) (node[k] as XNode[]).forEach((m, i) => checkResourceXml(m, spec.member, `${where}/${spec.member}[${i}]`, r));
    else if (k === 'id') { const id = text((node[k] as unknown[])[0]); if (isUrl(id)) r.links.push(id); else r.problems.push(`${where}/id: not an absolute URL`); }
    else if (k !== 'count' && k !== 'countCapped') r.problems.push(`${where}: unexpected element <${k}> (members of ${t.type} are <${spec.member}>)`);
  }
  if (!inlined && node.id === undefined) r.problems.push(`${where}: no <id>`);
}

function checkResourceXml(node: unknown, type: string, where: string, r: Report): void {
  if (typeof node !== 'object' || node === null) { r.problems.push(`${where}: empty`); return; }
  const o = node as XNode;
  const attributes: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith('@_')) continue;
    attributes.push(k);
    if (k === 'resourceURI') { r.problems.push(`${where}: carries a <resourceURI> child (the element name says the type)`); continue; }
    if (k === 'operation') { checkOperationsXml(v as XNode[], where, r); continue; }
    if (k === 'id') {
      const id = text((v as unknown[])[0]);
      if (URN_ID_TYPES.has(type) && id?.startsWith('urn:')) continue;
      if (isUrl(id)) r.links.push(id); else r.problems.push(`${where}/id: ${JSON.stringify(id)} is not an absolute URL`);
      continue;
    }
    for (const child of v as unknown[]) walkXml(child, `${where}/${k}`, r);
  }
  r.resources.push({ type, attributes });
}

function walkXml(n: unknown, where: string, r: Report): void {
  if (typeof n !== 'object' || n === null) return;
  const o = n as XNode;
  if (typeof o['@_href'] === 'string') {
    if (isUrl(o['@_href'])) r.links.push(o['@_href']); else r.problems.push(`${where}: href ${JSON.stringify(o['@_href'])} is not an absolute URL`);
  }
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith('@_') || k === '#text') continue;
    if (k === 'resourceURI') { r.problems.push(`${where}: carries a <resourceURI> child`); continue; }
    // Nested, <operation> is an operation only with attributes (an access Event's content has a text <operation>).
    if (k === 'operation' && (v as unknown[]).some((x) => typeof x === 'object')) { checkOperationsXml(v as XNode[], where, r); continue; }
    // An inlined collection's members are elements named after a known type.
    if (SPEC_TYPES.has(k) || SKYBUS_TYPES.has(k)) { (v as unknown[]).forEach((m, i) => checkResourceXml(m, k, `${where}/${k}[${i}]`, r)); continue; }
    for (const child of v as unknown[]) walkXml(child, `${where}/${k}`, r);
  }
}

function checkOperationsXml(ops: XNode[], where: string, r: Report): void {
  ops.forEach((op, i) => {
    const rel = op['@_rel'];
    const href = op['@_href'];
    if (typeof rel !== 'string' || typeof href !== 'string') { r.problems.push(`${where}/operation[${i}]: needs rel and href attributes`); return; }
    if (!validRel(rel)) r.problems.push(`${where}/operation[${i}]: rel '${rel}' is neither a CIMI operation nor a CIMI or Skybus action URI`);
    if (!isUrl(href)) r.problems.push(`${where}/operation[${i}]: href not an absolute URL`);
    else if (!isActionRel(rel)) r.links.push(href);
  });
}
