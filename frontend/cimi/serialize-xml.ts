/**
 * CIMI XML from a representation object: root element named after the type (last segment of
 * resourceURI), namespace http://schemas.dmtf.org/cimi/1; `operations` become
 * <operation rel href/>; references ({href}) become elements with an href attribute; string maps
 * (properties, requirements) become <property key="k">v</property>; arrays repeat the singular element.
 * Text and attribute values pass through xmlSafe: a character XML 1.0 forbids (which the API never
 * stores, but an older row might hold) becomes U+FFFD instead of breaking the document.
 */
import { XMLBuilder } from 'fast-xml-parser';
import { xmlSafe } from '../text-rules.js';
import { CIMI_NS } from './uris.js';

export const XML_TYPE = 'application/xml';

const SINGULAR: Record<string, string> = {
  machines: 'Machine', jobs: 'Job', machineConfigs: 'MachineConfiguration', machineImages: 'MachineImage',
  machineTemplates: 'MachineTemplate', events: 'Event', operations: 'operation', disks: 'disk',
  affectedResources: 'affectedResource', capabilities: 'capability',
  apiKeys: 'ApiKey',
  networks: 'Network', machineNetworkInterfaces: 'MachineNetworkInterface', hostGroups: 'hostGroup', addresses: 'address',
};
const KEYED_MAPS: Record<string, string> = { properties: 'property', requirements: 'requirement', hostLabels: 'hostLabel' };

type XmlNode = Record<string, unknown>;

function isRef(v: unknown): v is { href: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { href?: unknown }).href === 'string';
}

function singular(key: string): string {
  return SINGULAR[key] ?? (key.endsWith('s') ? key.slice(0, -1) : key);
}

function valueToNode(v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  if (isRef(v)) return { '@_href': xmlSafe(v.href) };
  if (typeof v === 'object' && !Array.isArray(v)) return objectToNode(v as Record<string, unknown>);
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  return typeof v === 'string' ? xmlSafe(v) : v;
}

function objectToNode(o: Record<string, unknown>): XmlNode {
  const node: XmlNode = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === null || v === undefined) continue;
    if (k === 'operations' && Array.isArray(v)) {
      node.operation = v.map((op: { rel: string; href: string }) => ({ '@_rel': xmlSafe(op.rel), '@_href': xmlSafe(op.href) }));
    } else if (KEYED_MAPS[k] && typeof v === 'object' && !Array.isArray(v)) {
      node[KEYED_MAPS[k]] = Object.entries(v as Record<string, unknown>).map(([key, val]) => ({ '@_key': xmlSafe(key), '#text': xmlSafe(String(val)) }));
    } else if (Array.isArray(v)) {
      node[singular(k)] = v.map(valueToNode).filter((x) => x !== undefined);
    } else {
      const n = valueToNode(v);
      if (n !== undefined) node[k] = n;
    }
  }
  return node;
}

// suppressBooleanAttributes (the builder's default: true) would write an attribute whose value is the
// text 'true' as a bare name (<property key>), which is not XML: a property named "true" broke every
// XML representation of its machine.
const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', textNodeName: '#text', format: true, suppressEmptyNode: true, suppressBooleanAttributes: false });

export function rootElementOf(body: Record<string, unknown>, fallback = 'Resource'): string {
  const uri = typeof body.resourceURI === 'string' ? body.resourceURI : '';
  const name = uri.slice(uri.lastIndexOf('/') + 1);
  return /^[A-Za-z][A-Za-z0-9]*$/.test(name) ? name : fallback;
}

export function toCimiXml(body: Record<string, unknown>): string {
  const root = rootElementOf(body);
  const node = { '@_xmlns': CIMI_NS, ...objectToNode(body) };
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + (builder.build({ [root]: node }) as string);
}
