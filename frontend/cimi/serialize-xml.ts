/**
 * CIMI XML from a representation object (DSP0263 XML rendering):
 * - a single resource's root element is its type (last segment of resourceURI) in the namespace of
 *   its resourceURI (http://schemas.dmtf.org/cimi/1, or Skybus's for Skybus types), and carries no
 *   <resourceURI> child: the element name and namespace say the type (JSON keeps resourceURI);
 * - a collection is <Collection resourceURI=".../MachineCollection" xmlns="http://schemas.dmtf.org/cimi/1">
 *   with its members as elements named after the member type (<Machine>), again without <resourceURI>;
 *   a collection inlined in a resource ($expand) is the attribute's element with an href attribute,
 *   holding count, the member elements and operations;
 * - `operations` become <operation rel href/>; references ({href}) elements with an href attribute;
 *   string maps (properties, requirements) <property key="k">v</property>; other arrays repeat the
 *   singular element.
 * Text and attribute values pass through xmlSafe: a character XML 1.0 forbids (which the API never
 * stores, but an older row might hold) becomes U+FFFD instead of breaking the document.
 */
import { XMLBuilder } from 'fast-xml-parser';
import { xmlSafe } from '../text-rules.js';
import { CIMI_NS, SKYBUS_NS } from './uris.js';

export const XML_TYPE = 'application/xml';

/** Element names of array entries that are not collection members. */
const SINGULAR: Record<string, string> = {
  operations: 'operation', disks: 'disk', affectedResources: 'affectedResource', capabilities: 'capability',
  attributes: 'attribute', actions: 'action',
  hostGroups: 'hostGroup', addresses: 'address',
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

function typeOf(o: Record<string, unknown>): string | null {
  const uri = typeof o.resourceURI === 'string' ? o.resourceURI : '';
  const name = uri.slice(uri.lastIndexOf('/') + 1);
  return /^[A-Za-z][A-Za-z0-9]*$/.test(name) ? name : null;
}

/** A collection representation: its type ends in Collection and it has a count. */
function isCollection(o: Record<string, unknown>): boolean {
  return (typeOf(o) ?? '').endsWith('Collection') && typeof o.count === 'number';
}

/** The collection's member array (the one array that is not operations) and the members' element name. */
function membersOf(o: Record<string, unknown>): { key: string | null; element: string } {
  const key = Object.keys(o).find((k) => k !== 'operations' && Array.isArray(o[k])) ?? null;
  return { key, element: (typeOf(o) ?? 'ResourceCollection').replace(/Collection$/, '') || 'Resource' };
}

/** A collection's content: count, members as type-named elements, operations (no resourceURI, no id when inlined). */
function collectionToNode(o: Record<string, unknown>, inlined: boolean): XmlNode {
  const { key, element } = membersOf(o);
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (k !== 'resourceURI' && k !== key && !(inlined && k === 'id')) rest[k] = v;
  const node = objectToNode(rest);
  const ops = node.operation;
  delete node.operation;
  if (key) node[element] = (o[key] as unknown[]).map(valueToNode).filter((x) => x !== undefined);
  if (ops !== undefined) node.operation = ops;
  return node;
}

function objectToNode(o: Record<string, unknown>): XmlNode {
  const node: XmlNode = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === null || v === undefined) continue;
    if (k === 'resourceURI') continue; // said by the element's name (and namespace)
    if (typeof v === 'object' && !Array.isArray(v) && isCollection(v as Record<string, unknown>)) {
      const c = v as Record<string, unknown>;
      node[k] = { ...(typeof c.id === 'string' ? { '@_href': xmlSafe(c.id) } : {}), ...collectionToNode(c, true) };
      continue;
    }
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
  let doc: Record<string, unknown>;
  if (isCollection(body)) {
    doc = { Collection: { '@_resourceURI': xmlSafe(body.resourceURI as string), '@_xmlns': CIMI_NS, ...collectionToNode(body, false) } };
  } else {
    const uri = typeof body.resourceURI === 'string' ? body.resourceURI : '';
    const ns = uri.startsWith(`${SKYBUS_NS}/`) ? SKYBUS_NS : CIMI_NS;
    doc = { [rootElementOf(body)]: { '@_xmlns': ns, ...objectToNode(body) } };
  }
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + (builder.build(doc) as string);
}
