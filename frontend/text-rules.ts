/**
 * What text a client may store. Every string that reaches the bus through the API obeys two rules,
 * checked in one linear pass (no regular expression touches unbounded client input):
 *
 * - No character that XML 1.0 forbids (C0 controls other than tab/LF/CR, lone surrogates, U+FFFE,
 *   U+FFFF), and no DEL or C1 control (U+007F-U+009F): such text would break every XML
 *   representation that contains it, and libvirt refuses some of it (a title with a newline).
 * - Single-line fields (names, property keys and values, tenant and user names) also refuse tab,
 *   LF and CR. Only multi-line fields (descriptions) may hold those three.
 */
export type TextKind = 'line' | 'multiline';

/** The 0-based index of the first forbidden UTF-16 unit, or -1. */
export function firstForbiddenChar(s: string, kind: TextKind): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) {
      if (kind === 'multiline' && (c === 0x09 || c === 0x0a || c === 0x0d)) continue;
      return i;
    }
    if (c >= 0x7f && c <= 0x9f) return i;
    if (c === 0xfffe || c === 0xffff) return i;
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = s.charCodeAt(i + 1);
      if (n >= 0xdc00 && n <= 0xdfff) { i++; continue; }
      return i;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

/** A readable name for the character at i (for error messages: never echo the raw character). */
export function describeChar(s: string, i: number): string {
  const c = s.charCodeAt(i);
  const names: Record<number, string> = { 0x09: 'a tab', 0x0a: 'a line feed', 0x0d: 'a carriage return', 0x00: 'a NUL' };
  return names[c] ?? `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The XML 1.0 rule alone (used when writing XML): true when s holds only characters XML allows. */
export function isXmlSafe(s: string): boolean {
  return firstForbiddenChar(s, 'multiline') === -1;
}

/** s with every character XML 1.0 forbids replaced by U+FFFD (for rows stored before the rules). */
export function xmlSafe(s: string): string {
  if (isXmlSafe(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = s.charCodeAt(i + 1);
      if (n >= 0xdc00 && n <= 0xdfff) { out += s[i] + s[i + 1]; i++; continue; }
      out += '\uFFFD';
      continue;
    }
    const bad = (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || (c >= 0x7f && c <= 0x9f) || c === 0xfffe || c === 0xffff || (c >= 0xdc00 && c <= 0xdfff);
    out += bad ? '\uFFFD' : s[i];
  }
  return out;
}
