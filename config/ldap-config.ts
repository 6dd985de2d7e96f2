/**
 * LDAP login settings: defaults, then validation, once at start-up. Read from SKYBUS_LDAP_*
 * variables (ldapConfigFromEnv, null when SKYBUS_LDAP_URL is unset: LDAP off) or built in code
 * (ldapConfig). Every ConfigError names the bad key (the variable, or the field) in its message and
 * in details.key. See docs/identity.md.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors/registry.js';
import { compileFilter } from '../frontend/auth/ldap-filter.js';

export interface LdapGroupMapping {
  /** The group entry's DN, as in the directory (compared case- and space-insensitively). */
  groupDn: string;
  /** The tenant members get, or null for a group that only adds roles (e.g. admins). */
  tenant: string | null;
  roles: string[];
}

export interface LdapConfig {
  /** ldap://host[:port] or ldaps://host[:port] */
  url: string;
  /** Upgrade an ldap:// connection with StartTLS (not with ldaps://). */
  starttls: boolean;
  /** PEM file of the CA(s) to trust for ldaps:// / StartTLS; null: Node's default CAs. */
  caFile: string | null;
  /** Service account the frontend binds as to search; null: search anonymously. */
  bindDn: string | null;
  bindPassword: string | null;
  searchBase: string;
  /** {{username}} is replaced by the RFC 4515-escaped login name. */
  searchFilter: string;
  groupSearchBase: string;
  /** {{dn}} is replaced by the escaped user DN, {{username}} by the escaped login name. */
  groupSearchFilter: string;
  /** In order: the first mapped group with a tenant decides the tenant; roles are the union. */
  groups: LdapGroupMapping[];
  /** Connect and per-operation timeout (ms); a login never waits much longer than twice this. */
  timeoutMs: number;
  /** How long a successful LDAP login is remembered (ms); 0: bind every time. */
  cacheTtlMs: number;
  cacheMaxEntries: number;
}

export type LdapConfigInput = Partial<Omit<LdapConfig, 'bindPassword'>> & {
  bindPassword?: string | null;
  /** Read the bind password from this file (trailing newline dropped) instead of bindPassword. */
  bindPasswordFile?: string | null;
};

export const LDAP_DEFAULTS = {
  starttls: false,
  caFile: null,
  bindDn: null,
  searchFilter: '(uid={{username}})',
  groupSearchFilter: '(member={{dn}})',
  timeoutMs: 5000,
  cacheTtlMs: 60_000,
  cacheMaxEntries: 10_000,
} as const;

const TENANT = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ROLE = /^[a-z][a-z0-9_-]{0,31}$/;

/** The env variable (or field) each setting is read from, for error messages. */
type Key = keyof LdapConfigInput;
type Names = Partial<Record<Key, string>>;

function bad(names: Names, key: Key, msg: string): never {
  const name = names[key] ?? key;
  throw new ConfigError(`${name} ${msg}`, { key: name });
}

/** Parenthesised, parentheses balanced (ignoring escaped ones): ldapjs's parser is lenient about both. */
function wellFormedFilter(f: string): boolean {
  if (!f.startsWith('(') || !f.endsWith(')')) return false;
  let depth = 0;
  for (let i = 0; i < f.length; i++) {
    const c = f[i];
    if (c === '\\') { i++; continue; }
    if (c === '(') depth++;
    else if (c === ')') { depth--; if (depth < 0 || (depth === 0 && i !== f.length - 1)) return false; }
  }
  return depth === 0;
}

/** Why the template is not a usable filter, or null. */
function filterProblem(f: string): string | null {
  if (!wellFormedFilter(f)) return 'not an LDAP filter: parentheses unbalanced, or not one parenthesised filter';
  try { compileFilter(f); return null; } catch (e) { return (e as Error).message; }
}

/**
 * A DN in a form fit for comparing: RFC 4514 escapes decoded, spaces around , = + dropped,
 * lower-cased (group naming attributes such as cn, ou, dc are case-insensitive).
 */
export function normaliseDn(dn: string): string {
  const rdns: string[] = [];
  let cur = '';
  const hex = /^[0-9a-fA-F]{2}$/;
  const bytes: number[] = [];
  // Decoded hex escapes are re-escaped where special, so "a\\2cb" and "a\\,b" compare equal.
  const flush = () => {
    if (bytes.length) { cur += Buffer.from(bytes).toString('utf8').replace(/[,+="\\<>;#]/g, (c) => '\\' + c); bytes.length = 0; }
  };
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i];
    if (c === '\\' && i + 1 < dn.length) {
      const pair = dn.slice(i + 1, i + 3);
      if (hex.test(pair)) { bytes.push(parseInt(pair, 16)); i += 2; continue; }
      flush();
      // An escaped special character stays escaped, so "a\,b" never equals RDNs "a" and "b".
      const e = dn[i + 1];
      cur += ',+="\\<>;#'.includes(e) ? '\\' + e : e;
      i++;
      continue;
    }
    flush();
    if (c === ',') { rdns.push(cur); cur = ''; continue; }
    cur += c;
  }
  flush();
  rdns.push(cur);
  return rdns
    .map((r) => r.split(/(?<!\\)\+/).map((ava) => {
      const eq = ava.indexOf('=');
      return eq < 0 ? ava.trim() : `${ava.slice(0, eq).trim()}=${ava.slice(eq + 1).trim()}`;
    }).join('+'))
    .join(',')
    .toLowerCase();
}

function checkDn(names: Names, key: Key, v: unknown, what = 'must be a DN such as ou=people,dc=example,dc=org'): string {
  if (typeof v !== 'string' || !v.trim() || !/^[A-Za-z][A-Za-z0-9-]*\s*=/.test(v.trim()) || v.length > 1024 || /[\0\r\n]/.test(v)) {
    bad(names, key, `${what}, got ${JSON.stringify(v)}`);
  }
  return v.trim();
}

function checkMapping(names: Names, m: unknown, i: number): LdapGroupMapping {
  const at = `entry ${i + 1}`;
  if (typeof m !== 'object' || m === null) bad(names, 'groups', `${at} must be {groupDn, tenant?, roles}`);
  const o = m as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['groupDn', 'tenant', 'roles'].includes(k)) bad(names, 'groups', `${at}: unknown field '${k}' (groupDn, tenant, roles)`);
  const groupDn = checkDn(names, 'groups', o.groupDn, `${at}: groupDn must be a DN such as cn=research,ou=groups,dc=example,dc=org`);
  const tenant = o.tenant === undefined || o.tenant === null || o.tenant === '' ? null : o.tenant;
  if (tenant !== null && (typeof tenant !== 'string' || !TENANT.test(tenant))) {
    bad(names, 'groups', `${at} (${groupDn}): tenant must be 1-64 lower-case letters, digits, . _ -, got ${JSON.stringify(tenant)}`);
  }
  const roles = o.roles ?? [];
  if (!Array.isArray(roles) || roles.some((r) => typeof r !== 'string' || !ROLE.test(r))) {
    bad(names, 'groups', `${at} (${groupDn}): roles must be a list of role names (lower-case letters, digits, _ -), got ${JSON.stringify(o.roles)}`);
  }
  if (tenant === null && roles.length === 0) bad(names, 'groups', `${at} (${groupDn}) gives neither a tenant nor a role`);
  return { groupDn, tenant: tenant as string | null, roles: [...new Set(roles as string[])] };
}

function intIn(names: Names, key: Key, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(names, key, `must be an integer between ${min} and ${max}, got ${String(v)}`);
  return v;
}

/** Defaults filled in, every value checked; throws ConfigError naming the bad setting. */
export function ldapConfig(input: LdapConfigInput, names: Names = {}): LdapConfig {
  const i: LdapConfigInput = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));

  if (typeof i.url !== 'string' || !i.url) bad(names, 'url', 'is required (ldap://host:port or ldaps://host:port)');
  let u: URL;
  try { u = new URL(i.url); } catch { bad(names, 'url', `is not a URL: '${i.url}'`); }
  if (u.protocol !== 'ldap:' && u.protocol !== 'ldaps:') bad(names, 'url', `must start with ldap:// or ldaps://, got '${i.url}'`);
  if (!u.hostname) bad(names, 'url', `has no host: '${i.url}'`);
  if ((u.pathname && u.pathname !== '/') || u.search || u.hash || u.username || u.password) {
    bad(names, 'url', `must be just ldap[s]://host[:port] (no DN, query, or credentials): '${i.url}'`);
  }
  const url = `${u.protocol}//${u.host}`;

  const starttls = i.starttls ?? LDAP_DEFAULTS.starttls;
  if (typeof starttls !== 'boolean') bad(names, 'starttls', `must be true or false, got ${String(starttls)}`);
  if (starttls && u.protocol === 'ldaps:') bad(names, 'starttls', 'cannot be used with ldaps:// (the connection is TLS already); use ldap:// with StartTLS, or ldaps:// alone');

  const caFile = i.caFile ?? LDAP_DEFAULTS.caFile;
  if (caFile !== null) {
    if (typeof caFile !== 'string' || !caFile) bad(names, 'caFile', 'must be a file path');
    if (u.protocol !== 'ldaps:' && !starttls) bad(names, 'caFile', 'is set but the connection is not TLS: use ldaps:// or StartTLS');
    let pem: string;
    try { pem = readFileSync(caFile, 'utf8'); } catch (e) { bad(names, 'caFile', `cannot be read: ${caFile} (${(e as NodeJS.ErrnoException).code ?? String(e)})`); }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) bad(names, 'caFile', `is not a PEM certificate file: ${caFile}`);
  }

  const bindDn = i.bindDn ?? LDAP_DEFAULTS.bindDn;
  let bindPassword: string | null = null;
  if (bindDn !== null) {
    checkDn(names, 'bindDn', bindDn);
    const hasPw = i.bindPassword !== null && i.bindPassword !== undefined;
    const hasFile = i.bindPasswordFile !== null && i.bindPasswordFile !== undefined;
    if (hasPw && hasFile) bad(names, 'bindPassword', `and ${names.bindPasswordFile ?? 'bindPasswordFile'} are both set; set one`);
    if (hasFile) {
      try { bindPassword = readFileSync(i.bindPasswordFile as string, 'utf8').replace(/\r?\n$/, ''); } catch (e) {
        bad(names, 'bindPasswordFile', `cannot be read: ${String(i.bindPasswordFile)} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      if (!bindPassword) bad(names, 'bindPasswordFile', `is empty: ${String(i.bindPasswordFile)} (an empty password would be an unauthenticated bind)`);
    } else if (hasPw) {
      if (typeof i.bindPassword !== 'string' || !i.bindPassword) bad(names, 'bindPassword', 'must be a non-empty string (an empty password would be an unauthenticated bind)');
      bindPassword = i.bindPassword;
    } else {
      bad(names, 'bindPassword', `is required with ${names.bindDn ?? 'bindDn'} (or set ${names.bindPasswordFile ?? 'bindPasswordFile'})`);
    }
  } else if ((i.bindPassword ?? null) !== null || (i.bindPasswordFile ?? null) !== null) {
    bad(names, 'bindDn', 'is required when a bind password is given');
  }

  const searchBase = checkDn(names, 'searchBase', i.searchBase);
  const searchFilter = i.searchFilter ?? LDAP_DEFAULTS.searchFilter;
  if (typeof searchFilter !== 'string' || !searchFilter.includes('{{username}}')) {
    bad(names, 'searchFilter', `must be an LDAP filter containing {{username}}, got ${JSON.stringify(searchFilter)}`);
  }
  const sfProblem = filterProblem(searchFilter);
  if (sfProblem) bad(names, 'searchFilter', `is ${sfProblem}: ${JSON.stringify(searchFilter)}`);
  const groupSearchBase = checkDn(names, 'groupSearchBase', i.groupSearchBase);
  const groupSearchFilter = i.groupSearchFilter ?? LDAP_DEFAULTS.groupSearchFilter;
  if (typeof groupSearchFilter !== 'string' || !/\{\{(dn|username)\}\}/.test(groupSearchFilter)) {
    bad(names, 'groupSearchFilter', `must be an LDAP filter containing {{dn}} or {{username}}, got ${JSON.stringify(groupSearchFilter)}`);
  }
  const gfProblem = filterProblem(groupSearchFilter);
  if (gfProblem) bad(names, 'groupSearchFilter', `is ${gfProblem}: ${JSON.stringify(groupSearchFilter)}`);

  if (!Array.isArray(i.groups) || i.groups.length === 0) bad(names, 'groups', 'must map at least one group to a tenant (nobody could log in otherwise)');
  const groups = i.groups.map((m, n) => checkMapping(names, m, n));
  const seen = new Set<string>();
  for (const g of groups) {
    const k = normaliseDn(g.groupDn);
    if (seen.has(k)) bad(names, 'groups', `maps ${g.groupDn} twice`);
    seen.add(k);
  }
  if (!groups.some((g) => g.tenant !== null)) bad(names, 'groups', 'must give at least one group a tenant (nobody could log in otherwise)');

  return {
    url, starttls, caFile, bindDn: bindDn === null ? null : bindDn.trim(), bindPassword,
    searchBase, searchFilter, groupSearchBase, groupSearchFilter, groups,
    timeoutMs: intIn(names, 'timeoutMs', i.timeoutMs ?? LDAP_DEFAULTS.timeoutMs, 100, 60_000),
    cacheTtlMs: intIn(names, 'cacheTtlMs', i.cacheTtlMs ?? LDAP_DEFAULTS.cacheTtlMs, 0, 3_600_000),
    cacheMaxEntries: intIn(names, 'cacheMaxEntries', i.cacheMaxEntries ?? LDAP_DEFAULTS.cacheMaxEntries, 1, 1_000_000),
  };
}

/**
 * The group mapping from one string. Either JSON, `[{"groupDn": "...", "tenant": "...", "roles": [...]}, ...]`,
 * or the compact form `DN=tenant:role,role;DN=:role;...`: entries split at `;`, each at its LAST
 * `=` (tenant and role names never contain one), tenant empty for a roles-only group. A DN that
 * contains `;` needs the JSON form.
 */
export function parseGroupMapping(s: string, name = 'SKYBUS_LDAP_GROUPS'): unknown[] {
  const t = s.trim();
  if (t.startsWith('[') || t.startsWith('{')) {
    let v: unknown;
    try { v = JSON.parse(t); } catch (e) { throw new ConfigError(`${name} is not valid JSON: ${(e as Error).message}`, { key: name }); }
    if (!Array.isArray(v)) throw new ConfigError(`${name} must be a JSON array`, { key: name });
    return v;
  }
  return t.split(';').map((e) => e.trim()).filter(Boolean).map((entry) => {
    const eq = entry.lastIndexOf('=');
    const rest = eq < 0 ? '' : entry.slice(eq + 1);
    const colon = rest.indexOf(':');
    if (eq < 0 || colon < 0) throw new ConfigError(`${name} entry '${entry}' must be DN=tenant:role[,role] (tenant may be empty: DN=:admin)`, { key: name });
    return {
      groupDn: entry.slice(0, eq),
      tenant: rest.slice(0, colon).trim() || null,
      roles: rest.slice(colon + 1).split(',').map((r) => r.trim()).filter(Boolean),
    };
  });
}

function envBool(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new ConfigError(`${name} must be true or false, got '${v}'`, { key: name });
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new ConfigError(`${name} must be an integer, got '${v}'`, { key: name });
  return Number(v);
}

export const LDAP_ENV: Required<Names> = {
  url: 'SKYBUS_LDAP_URL',
  starttls: 'SKYBUS_LDAP_STARTTLS',
  caFile: 'SKYBUS_LDAP_CA_FILE',
  bindDn: 'SKYBUS_LDAP_BIND_DN',
  bindPassword: 'SKYBUS_LDAP_BIND_PASSWORD',
  bindPasswordFile: 'SKYBUS_LDAP_BIND_PASSWORD_FILE',
  searchBase: 'SKYBUS_LDAP_SEARCH_BASE',
  searchFilter: 'SKYBUS_LDAP_SEARCH_FILTER',
  groupSearchBase: 'SKYBUS_LDAP_GROUP_SEARCH_BASE',
  groupSearchFilter: 'SKYBUS_LDAP_GROUP_SEARCH_FILTER',
  groups: 'SKYBUS_LDAP_GROUPS',
  timeoutMs: 'SKYBUS_LDAP_TIMEOUT_MS',
  cacheTtlMs: 'SKYBUS_LDAP_CACHE_TTL_MS',
  cacheMaxEntries: 'SKYBUS_LDAP_CACHE_MAX_ENTRIES',
};

/** LDAP settings from SKYBUS_LDAP_* variables; null when SKYBUS_LDAP_URL is unset or empty (LDAP off). */
export function ldapConfigFromEnv(env: NodeJS.ProcessEnv = process.env): LdapConfig | null {
  const s = (k: keyof typeof LDAP_ENV) => (env[LDAP_ENV[k]] === '' ? undefined : env[LDAP_ENV[k]]);
  if (!s('url')) {
    const stray = Object.values(LDAP_ENV).filter((n) => env[n]);
    if (stray.length > 0) throw new ConfigError(`${LDAP_ENV.url} is required when other SKYBUS_LDAP_* variables are set (${stray.join(', ')})`, { key: LDAP_ENV.url });
    return null;
  }
  const groups = s('groups');
  return ldapConfig({
    url: s('url'),
    starttls: envBool(env, LDAP_ENV.starttls),
    caFile: s('caFile'),
    bindDn: s('bindDn'),
    bindPassword: s('bindPassword'),
    bindPasswordFile: s('bindPasswordFile'),
    searchBase: s('searchBase'),
    searchFilter: s('searchFilter'),
    groupSearchBase: s('groupSearchBase'),
    groupSearchFilter: s('groupSearchFilter'),
    groups: groups === undefined ? undefined : parseGroupMapping(groups, LDAP_ENV.groups) as LdapGroupMapping[],
    timeoutMs: envInt(env, LDAP_ENV.timeoutMs),
    cacheTtlMs: envInt(env, LDAP_ENV.cacheTtlMs),
    cacheMaxEntries: envInt(env, LDAP_ENV.cacheMaxEntries),
  }, LDAP_ENV);
}
