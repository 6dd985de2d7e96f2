/**
 * CIMI XML request bodies into the same plain objects as JSON bodies: the root element names the
 * type, <property key="k">v</property> becomes the properties map (likewise requirement),
 * <disk> elements become disks, href attributes become {href}, integer fields become numbers.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ValidationError } from '../../errors/registry.js';

const INTEGER_FIELDS = new Set(['cpu', 'memory', 'capacity']);
const ARRAY_ELEMENTS: Record<string, string> = { disk: 'disks' };
const KEYED_MAPS: Record<string, string> = { property: 'properties', requirement: 'requirements' };

/**
 * CPU bounds, checked in one linear pass before the parser runs: the parser's cost grows with the
 * number of elements and attributes, not with bytes (a 240 KB body of tiny elements costs ~200 ms).
 * A CIMI request needs a few hundred at most (64 properties, 16 disks).
 */
export const MAX_XML_ELEMENTS = 1000;
export const MAX_XML_ATTRIBUTES = 1000;
export const MAX_XML_DEPTH = 16;

/** XML's five predefined entities; given as the parser's entity table so that numeric character
 * references (&#60; &#x3C;) are decoded too, as XML requires, and nothing HTML-only is. */
const XML_ENTITIES = { amp: '&', apos: "'", gt: '>', lt: '<', quot: '"' };

const parser = new XMLParser({
  ignoreAttributes: false, attributeNamePrefix: '@_', textNodeName: '#text', removeNSPrefix: true,
  parseTagValue: false, parseAttributeValue: false, trimValues: true, ignoreDeclaration: true, ignorePiTags: true,
  isArray: (name) => name in ARRAY_ELEMENTS || name in KEYED_MAPS,
  // The typings say boolean; the parser also takes an entity table (fast-xml-parser 5.12).
  processEntities: true, htmlEntities: XML_ENTITIES as unknown as boolean, maxNestedTags: MAX_XML_DEPTH,
});

function checkShape(text: string): void {
  let elements = 0;
  let attributes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3c) elements++; // <
    else if (c === 0x3d) attributes++; // =
  }
  if (elements > MAX_XML_ELEMENTS * 2) throw new ValidationError(`XML body has more than ${MAX_XML_ELEMENTS} elements`);
  if (attributes > MAX_XML_ATTRIBUTES) throw new ValidationError(`XML body has more than ${MAX_XML_ATTRIBUTES} attributes`);
}

function convert(node: unknown, key: string): unknown {
  if (typeof node === 'string') {
    if (INTEGER_FIELDS.has(key) && /^-?\d+$/.test(node.trim())) return Number(node.trim());
    return node;
  }
  if (typeof node !== 'object' || node === null) return node;
  const o = node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === '@_href') out.href = v;
    else if (k.startsWith('@_')) continue; // xmlns and other attributes
    else if (k === '#text') { if (Object.keys(o).filter((x) => !x.startsWith('@_')).length === 1) return convert(v, key); }
    else if (k === 'operation') continue;
    else if (KEYED_MAPS[k]) {
      const map: Record<string, string> = {};
      for (const e of v as unknown[]) {
        const entry = e as Record<string, unknown> | string;
        const mk = typeof entry === 'object' ? entry['@_key'] : undefined;
        if (typeof mk !== 'string') throw new ValidationError(`<${k}> needs a key attribute`);
        if (Object.hasOwn(map, mk)) throw new ValidationError(`<${k} key="${mk}"> appears more than once`);
        const text = typeof entry === 'object' ? entry['#text'] ?? '' : '';
        if (typeof text !== 'string') throw new ValidationError(`<${k} key="${mk}"> must hold text only`);
        Object.defineProperty(map, mk, { value: text, enumerable: true, writable: true, configurable: true });
      }
      out[KEYED_MAPS[k]] = map;
    } else if (ARRAY_ELEMENTS[k]) out[ARRAY_ELEMENTS[k]] = (v as unknown[]).map((e) => convert(e, k));
    else if (Array.isArray(v)) throw new ValidationError(`element <${k}> may appear only once`);
    else out[k] = convert(v, k);
  }
  if (Object.keys(out).length === 0 && Object.keys(o).some((k) => k === '#text')) return convert(o['#text'], key);
  return out;
}

/** Parses a CIMI XML document; returns the root element's name and its content as a plain object. */
export function parseCimiXml(text: string): { root: string; body: Record<string, unknown> } {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new ValidationError('malformed XML: DTDs and entity declarations are not accepted');
  checkShape(text);
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new ValidationError(`malformed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`);
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch (e) {
    // The parser refuses names like __proto__ and nesting deeper than MAX_XML_DEPTH: client errors.
    const why = /nested/i.test((e as Error).message) ? `nested deeper than ${MAX_XML_DEPTH} elements` : 'an element or attribute name is not allowed';
    throw new ValidationError(`malformed XML: ${why}`);
  }
  const roots = Object.keys(doc).filter((k) => !k.startsWith('?'));
  if (roots.length !== 1) throw new ValidationError('malformed XML: expected exactly one root element');
  const content = convert(doc[roots[0]], roots[0]);
  const body = typeof content === 'object' && content !== null ? content as Record<string, unknown> : {};
  return { root: roots[0], body };
}
