/**
 * CIMI XML request bodies into the same plain objects as JSON bodies: the root element names the
 * type (a resourceURI, as a child element or as the root's attribute, is optional and becomes
 * body.resourceURI), <property key="k">v</property> becomes the properties map (likewise requirement),
 * <disk> elements become disks, href attributes become {href}, integer fields become numbers.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ValidationError } from '../../errors/registry.js';

const INTEGER_FIELDS = new Set(['cpu', 'memory', 'capacity']);
const ARRAY_ELEMENTS: Record<string, string> = { disk: 'disks', hostGroup: 'hostGroups', networkInterface: 'networkInterfaces' };
const KEYED_MAPS: Record<string, string> = { property: 'properties', requirement: 'requirements', hostLabel: 'hostLabels' };

/**
 * CPU bounds, checked in one linear pass before the parser runs: the parser's cost grows with the
 * number of elements, attributes and references, not with bytes (a 240 KB body of tiny elements
 * costs ~200 ms, one of `a a a ...` boolean attributes ~50 ms, one of `&lt;` ~40 ms).
 * A CIMI request needs a few hundred at most (64 properties, 16 disks).
 */
export const MAX_XML_ELEMENTS = 1000;
export const MAX_XML_ATTRIBUTES = 1000;
export const MAX_XML_REFERENCES = 16_384;
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

/**
 * What a numeric character reference may name: XML 1.0's Char production without DEL and the C1
 * controls, which the API never stores either (text-rules.ts). The parser's decoder silently drops
 * some references it dislikes (&#1; &#x7F;) and keeps malformed ones as text (&#x110000; &nbsp;):
 * both would store something other than what the client sent, so such a body is refused instead.
 */
function referableChar(cp: number): boolean {
  return cp === 0x09 || cp === 0x0a || cp === 0x0d || (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff)
    || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

function isDigit(c: number, hex: boolean): boolean {
  return (c >= 0x30 && c <= 0x39) || (hex && ((c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)));
}

/** Checks the reference starting at text[at] === '&' (a predefined entity or a numeric one); returns the index after its ';'. */
function checkReference(text: string, at: number): number {
  // The longest acceptable reference is &#x0010FFFF; (or leading zeros up to that length): never scan further.
  const limit = Math.min(text.length, at + 12);
  let end = at + 1;
  while (end < limit && text.charCodeAt(end) !== 0x3b) end++;
  const bad = (why: string) => new ValidationError(`malformed XML: the reference at character ${at + 1} ${why}`);
  if (end >= limit) throw bad("is malformed or too long (a literal & is written &amp;)");
  const name = text.slice(at + 1, end);
  if (name.charCodeAt(0) !== 0x23) {
    if (!Object.hasOwn(XML_ENTITIES, name)) throw bad('names an entity XML does not define (only amp, lt, gt, quot and apos are)');
    return end + 1;
  }
  const hex = name.charCodeAt(1) === 0x78; // &#x...; (lower-case x only, as XML says)
  const digits = name.slice(hex ? 2 : 1);
  let ok = digits.length > 0;
  for (let j = 0; ok && j < digits.length; j++) ok = isDigit(digits.charCodeAt(j), hex);
  if (!ok) throw bad('is not a valid character reference');
  if (!referableChar(Number.parseInt(digits, hex ? 16 : 10))) throw bad('names a character that is not allowed (a control character, a surrogate or a non-character)');
  return end + 1;
}

function checkShape(text: string): void {
  let elements = 0;
  let attributes = 0;
  let references = 0;
  const tooMany = (what: string, max: number) => new ValidationError(`XML body has more than ${max} ${what}`);
  const countReference = (at: number): number => {
    if (++references > MAX_XML_REFERENCES) throw tooMany('character and entity references', MAX_XML_REFERENCES);
    return checkReference(text, at);
  };
  const skipTo = (from: number, close: string, what: string): number => {
    const e = text.indexOf(close, from);
    if (e < 0) throw new ValidationError(`malformed XML: unterminated ${what}`);
    return e + close.length;
  };
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x26) { i = countReference(i); continue; } // &
    if (c !== 0x3c) { i++; continue; } // <
    if (++elements > MAX_XML_ELEMENTS * 2) throw tooMany('elements', MAX_XML_ELEMENTS); // open and close tags
    // Comments, CDATA sections and processing instructions: their content is not markup.
    if (text.startsWith('<!--', i)) { i = skipTo(i + 4, '-->', 'comment'); continue; }
    if (text.startsWith('<![CDATA[', i)) { i = skipTo(i + 9, ']]>', 'CDATA section'); continue; }
    if (text.startsWith('<?', i)) { i = skipTo(i + 2, '?>', 'processing instruction'); continue; }
    // A tag: count attribute names (a name after white space, outside quoted values).
    i++;
    let quote = 0;
    let afterSpace = false;
    while (i < text.length) {
      const d = text.charCodeAt(i);
      if (quote !== 0) {
        if (d === quote) quote = 0;
        else if (d === 0x26) { i = countReference(i); continue; }
        i++;
        continue;
      }
      if (d === 0x3e) { i++; break; } // >
      if (d === 0x22 || d === 0x27) { quote = d; afterSpace = false; i++; continue; }
      const space = d === 0x20 || d === 0x09 || d === 0x0a || d === 0x0d;
      if (afterSpace && !space && d !== 0x3d && d !== 0x2f && ++attributes > MAX_XML_ATTRIBUTES) throw tooMany('attributes', MAX_XML_ATTRIBUTES);
      afterSpace = space;
      i++;
    }
  }
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
        // DSP0263 writes <property key="k">; some clients write name="k".
        const mk = typeof entry === 'object' ? entry['@_key'] ?? entry['@_name'] : undefined;
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
  const rootNode = doc[roots[0]];
  const content = convert(rootNode, roots[0]);
  const body = typeof content === 'object' && content !== null ? content as Record<string, unknown> : {};
  // The type may also be given as the root's resourceURI attribute (as CIMI's Collection element
  // carries it); a <resourceURI> child, if any, wins. readCimiBody checks that either names the type.
  const attr = typeof rootNode === 'object' && rootNode !== null ? (rootNode as Record<string, unknown>)['@_resourceURI'] : undefined;
  if (body.resourceURI === undefined && typeof attr === 'string') body.resourceURI = attr;
  return { root: roots[0], body };
}
