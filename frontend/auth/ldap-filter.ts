/**
 * Search filters with the login name (or the user's DN) put in as a value, never as filter text.
 *
 * Why not a string: ldapjs 3's filter parser (@ldapjs/filter 2.1) does not decode RFC 4515 escapes,
 * it sends `\28` as the three characters \ 2 8, so an escaped filter string can never match a value
 * containing ( ) * \ — and ldapauth-fork escapes its own escapes again. Instead the configured
 * template is parsed once with placeholders replaced by marker words, and for every login the tree
 * is rebuilt with the markers replaced by the raw value. The value then reaches the directory as
 * the octets of an assertion value in BER: no character of it can change the filter's structure,
 * and a * in it is a literal * (equality match), not a wildcard.
 *
 * Escapes the administrator wrote in the template itself (`\2a`) are decoded here.
 */
import filters, { type AndFilter, type ExtensibleFilter, type FilterString, type NotFilter, type SubstringFilter } from '@ldapjs/filter';

export type FilterValues = { username?: string; dn?: string };
const MARK: Record<keyof FilterValues, string> = { username: 'zqxskybususernamezqx', dn: 'zqxskybusdnzqx' };
const MARK_RE = new RegExp(`(${MARK.username}|${MARK.dn})`);

/** Decodes \XX escapes (RFC 4515) in text the administrator wrote. */
function unescapeTemplate(s: string): string {
  if (!s.includes('\\')) return s;
  const out: number[] = [];
  const b = Buffer.from(s, 'utf8');
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x5c && i + 2 < b.length && /^[0-9a-fA-F]{2}$/.test(b.subarray(i + 1, i + 3).toString('latin1'))) {
      out.push(parseInt(b.subarray(i + 1, i + 3).toString('latin1'), 16));
      i += 2;
    } else {
      out.push(b[i]);
    }
  }
  return Buffer.from(out).toString('utf8');
}

function subst(s: string, v: FilterValues): string {
  return s.split(MARK_RE).map((part, i) => {
    if (i % 2 === 0) return unescapeTemplate(part);
    return part === MARK.username ? v.username ?? '' : v.dn ?? '';
  }).join('');
}

function has(s: unknown): boolean {
  return typeof s === 'string' && MARK_RE.test(s);
}

function rebuild(f: FilterString, v: FilterValues): FilterString {
  const attribute = f.attribute as string;
  const value = () => subst(String(f.value ?? ''), v);
  switch (f.type) {
    case 'AndFilter': return new filters.AndFilter({ filters: (f as AndFilter).filters.map((c) => rebuild(c, v)) });
    case 'OrFilter': return new filters.OrFilter({ filters: (f as AndFilter).filters.map((c) => rebuild(c, v)) });
    case 'NotFilter': return new filters.NotFilter({ filter: rebuild((f as NotFilter).filter, v) });
    case 'EqualityFilter': return new filters.EqualityFilter({ attribute, value: value() });
    case 'ApproximateFilter': return new filters.ApproximateFilter({ attribute, value: value() });
    case 'GreaterThanEqualsFilter': return new filters.GreaterThanEqualsFilter({ attribute, value: value() });
    case 'LessThanEqualsFilter': return new filters.LessThanEqualsFilter({ attribute, value: value() });
    case 'PresenceFilter': return new filters.PresenceFilter({ attribute });
    case 'SubstringFilter': {
      const s = f as SubstringFilter;
      const opt = (x: string | undefined) => (x === undefined ? undefined : subst(x, v));
      return new filters.SubstringFilter({ attribute, initial: opt(s.initial), any: s.any.map((x) => subst(x, v)), final: opt(s.final) });
    }
    case 'ExtensibleFilter': {
      const e = f as ExtensibleFilter;
      return new filters.ExtensibleFilter({ attribute: f.attribute, value: value(), rule: e.matchingRule, dnAttributes: e.dnAttributes });
    }
    default: throw new Error(`unsupported filter type ${f.type}`);
  }
}

function check(f: FilterString): void {
  if (has(f.attribute)) throw new Error('a placeholder may only stand for a value, not an attribute name');
  if (f.type === 'AndFilter' || f.type === 'OrFilter') (f as AndFilter).filters.forEach(check);
  if (f.type === 'NotFilter') check((f as NotFilter).filter);
  if (f.type === 'ExtensibleFilter' && has((f as ExtensibleFilter).matchingRule)) throw new Error('a placeholder may not stand for a matching rule');
}

export interface CompiledFilter {
  /** A fresh filter object (ldapjs FilterString) with the values put in. */
  build(values: FilterValues): FilterString;
  readonly template: string;
}

/** Parses a template such as `(&(uid={{username}})(objectClass=person))`; throws Error with the reason when it is not a filter. */
export function compileFilter(template: string): CompiledFilter {
  const marked = template.replace(/\{\{(username|dn)\}\}/g, (_m, k: keyof FilterValues) => MARK[k]);
  let parsed: FilterString;
  try { parsed = filters.parseString(marked); } catch (e) { throw new Error(`not an LDAP filter: ${(e as Error).message}`); }
  check(parsed);
  // An empty value would make EqualityFilter throw: the login name is never empty here.
  return { template, build: (values) => rebuild(parsed, values) };
}
