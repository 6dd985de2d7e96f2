/**
 * LDAP users over HTTP Basic, through passport-ldapauth (ldapauth-fork 6, ldapjs 3): search the
 * user as the service account, bind as the user's DN with their password, search their groups,
 * map groups to a tenant and roles (config/ldap-config.ts). Combine with local users through
 * localThenLdap() (anyOf, local first). See docs/identity.md.
 *
 * Rules:
 *  - Only `Authorization: Basic`, parsed strictly (basic-credentials.ts). A missing or empty
 *    password, a name that is empty, longer than 256 characters or has control characters (NUL,
 *    CR, LF, ...) is a 401 before any connection: an LDAP bind with a DN and an empty password is
 *    an "unauthenticated bind" that some servers accept as a success, so it is never attempted.
 *  - The login name goes into the search as a filter value object (ldap-filter.ts), not as
 *    escaped filter text: ldapauth-fork's sanitiser escapes the backslashes of its own \28 \29 \2a
 *    again, its String.replace lets a name containing $' or $` splice filter text, and ldapjs 3
 *    does not decode escapes in filter strings at all — a uid with ( ) * could never log in.
 *    ldapauth-fork only ever calls searchFilter.replace(...) and hands the result to ldapjs, so
 *    the search filter is given as an object whose replace() returns the ready filter.
 *  - Wrong password, unknown user, a locked account (ppolicy answers invalidCredentials) → 401.
 *    A user in no mapped group, or only in groups without a tenant → 403.
 *  - The directory unreachable, a timeout, a TLS failure or any other directory error → 503
 *    'the LDAP directory is unavailable' (cause logged, never shown).
 *  - Successful logins are remembered for cacheTtlMs (HMAC-keyed by name and password, bounded), so
 *    a client sending Basic on every request binds once a minute, not on every request. A lock or
 *    group change in the directory therefore takes effect within cacheTtlMs.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Passport } from 'passport';
import LdapStrategy from 'passport-ldapauth';
import { normaliseDn, type LdapConfig } from '../../config/ldap-config.js';
import { ForbiddenError, UnauthenticatedError, UnavailableError } from '../../errors/registry.js';
import type { Logger } from '../../observability/logger.js';
import { anyOf, setPrincipal, type Authenticator, type Principal } from './authenticator.js';
import { clientAddress, parseBasic } from './basic-credentials.js';
import type { LoginThrottle } from './login-throttle.js';
import { compileFilter } from './ldap-filter.js';
import { applyStartTlsFix } from './ldap-starttls.js';
import { BASIC_REALM } from './local-basic.js';

export const MAX_LDAP_NAME_CHARS = 256;
const MAX_PASSWORD_BYTES = 1024;
export const LDAP_UNAVAILABLE = 'the LDAP directory is unavailable';

/** Why a login name is refused before contacting the directory, or null when it may be tried. */
export function badLdapName(name: string): string | null {
  if (name.length === 0) return 'empty user name';
  if ([...name].length > MAX_LDAP_NAME_CHARS) return `user name longer than ${MAX_LDAP_NAME_CHARS} characters`;
  // C0 and C1 controls, DEL, and the Unicode line/paragraph separators.
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name)) return 'control character in user name';
  return null;
}

/** Successful LDAP logins for a short time, keyed by an HMAC (per-process key) of name and password. */
export class LdapLoginCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, { principal: Principal; until: number }>();

  constructor(private readonly maxEntries: number, private readonly ttlMs: number) {}

  private digest(name: string, password: string): string {
    return createHmac('sha256', this.key).update(name).update('\0').update(password).digest('base64');
  }

  get(name: string, password: string, now = Date.now()): Principal | null {
    if (this.ttlMs <= 0) return null;
    const k = this.digest(name, password);
    const e = this.entries.get(k);
    if (!e) return null;
    if (e.until <= now) { this.entries.delete(k); return null; }
    return { ...e.principal, roles: [...e.principal.roles] };
  }

  set(name: string, password: string, principal: Principal, now = Date.now()): void {
    if (this.ttlMs <= 0) return;
    const k = this.digest(name, password);
    this.entries.delete(k);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    this.entries.set(k, { principal: { ...principal, roles: [...principal.roles] }, until: now + this.ttlMs });
  }

  get size(): number { return this.entries.size; }
  clear(): void { this.entries.clear(); }
}

interface LdapUser { dn: string; uid?: string | string[]; _groups?: Array<{ dn: string }> }

/** The tenant and roles of a user in these groups, or null when no mapped group gives a tenant. */
export function mapGroups(cfg: Pick<LdapConfig, 'groups'>, groupDns: string[]): { tenant: string; roles: string[] } | null {
  const member = new Set(groupDns.map(normaliseDn));
  const matched = cfg.groups.filter((g) => member.has(normaliseDn(g.groupDn)));
  // The first mapping in configuration order that has a tenant decides it; roles come from the
  // groups of that tenant and from tenant-less (roles-only) groups, never from another tenant's.
  const tenant = matched.find((g) => g.tenant !== null)?.tenant;
  if (!tenant) return null;
  const roles = new Set<string>();
  for (const g of matched) if (g.tenant === null || g.tenant === tenant) for (const r of g.roles) roles.add(r);
  return { tenant, roles: [...roles].sort() };
}

type Outcome =
  | { kind: 'user'; user: LdapUser }
  | { kind: 'fail'; why: string }
  | { kind: 'error'; err: unknown };

function errInfo(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; lde_message?: unknown };
    return { name: e.name, message: e.message, code: e.code };
  }
  return { message: String(err) };
}

export interface LdapAuthOptions {
  realm?: string;
  log?: Logger;
  /** Failed-login throttling in the bus (login-throttle.ts), applied before every bind. */
  throttle?: LoginThrottle;
}

export interface LdapAuthenticator extends Authenticator {
  /** The Principal of a login this authenticator accepted within cacheTtlMs, for these exact credentials. */
  cached(req: Request): Principal | null;
  /** Forget cached logins (e.g. after a directory change in tests). */
  clearCache(): void;
  readonly cache: LdapLoginCache;
}

export function ldapBasicAuth(cfg: LdapConfig, opts: LdapAuthOptions = {}): LdapAuthenticator {
  if (cfg.starttls) applyStartTlsFix();
  const realm = opts.realm ?? BASIC_REALM;
  const log = opts.log;
  const cache = new LdapLoginCache(cfg.cacheMaxEntries, cfg.cacheTtlMs);
  const url = new URL(cfg.url);
  const tls = url.protocol === 'ldaps:' || cfg.starttls;
  let tlsOptions: ConnectionOptions | undefined;
  if (tls) {
    tlsOptions = { rejectUnauthorized: true, minVersion: 'TLSv1.2', host: url.hostname };
    if (!isIP(url.hostname)) tlsOptions.servername = url.hostname;
    if (cfg.caFile) tlsOptions.ca = [readFileSync(cfg.caFile)];
  }
  const timeLimitSeconds = Math.max(1, Math.ceil(cfg.timeoutMs / 1000));
  const pending = new WeakMap<IncomingMessage, { username: string; password: string }>();
  const userFilter = compileFilter(cfg.searchFilter);
  const groupFilter = compileFilter(cfg.groupSearchFilter);

  // Options are built per request: the filters carry this login name (see the header comment).
  const strategy = new LdapStrategy((req: IncomingMessage, cb: LdapStrategy.OptionsFunctionCallback) => {
    const c = pending.get(req);
    if (!c) { cb(new Error('no credentials for this request'), undefined as never); return; }
    cb(null, {
      server: {
        url: cfg.url,
        bindDN: cfg.bindDn ?? undefined,
        bindCredentials: cfg.bindPassword ?? undefined,
        searchBase: cfg.searchBase,
        // Adapter: ldapauth-fork does `searchFilter.replace(/{{username}}/g, ...)` and passes the
        // result to ldapjs's search, which takes a filter object as well as a string.
        searchFilter: { replace: () => userFilter.build({ username: c.username }) } as unknown as string,
        searchScope: 'sub',
        searchAttributes: ['uid'],
        groupSearchBase: cfg.groupSearchBase,
        groupSearchFilter: ((user: { dn?: unknown }) => groupFilter.build({ dn: String(user.dn ?? ''), username: c.username })) as unknown as (u: object) => string,
        groupSearchScope: 'sub',
        groupSearchAttributes: ['cn'],
        starttls: cfg.starttls,
        tlsOptions,
        timeout: cfg.timeoutMs,
        connectTimeout: cfg.timeoutMs,
        timeLimit: timeLimitSeconds,
        reconnect: false,
        cache: false,
      } as LdapStrategy.Options['server'],
      credentialsLookup: () => ({ username: c.username, password: c.password }),
    });
  });
  const passport = new Passport();
  passport.use('ldapauth', strategy as unknown as import('passport').Strategy);

  /** One directory round: resolves exactly once, within twice the configured timeout. */
  function directoryLogin(req: Request, res: Response, username: string, password: string): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let done = false;
      const settle = (o: Outcome) => { if (!done) { done = true; clearTimeout(timer); pending.delete(req); resolve(o); } };
      const timer = setTimeout(() => settle({ kind: 'error', err: new Error(`no answer within ${2 * cfg.timeoutMs} ms`) }), 2 * cfg.timeoutMs);
      pending.set(req, { username, password });
      const handler = passport.authenticate('ldapauth', { session: false }, (err: unknown, user: LdapUser | false, info: unknown) => {
        if (err) settle({ kind: 'error', err });
        else if (user) settle({ kind: 'user', user });
        else settle({ kind: 'fail', why: typeof info === 'object' && info && 'message' in info ? String((info as { message: unknown }).message) : 'rejected' });
      }) as RequestHandler;
      try {
        void handler(req, res, (e?: unknown) => settle(e ? { kind: 'error', err: e } : { kind: 'fail', why: 'passed' }));
      } catch (e) {
        settle({ kind: 'error', err: e });
      }
    });
  }

  async function authenticate(req: Request, res: Response): Promise<Principal> {
    // The same strict RFC 7617 parsing as local users (basic-credentials.ts).
    const creds = parseBasic(req.headers.authorization);
    if (creds.kind !== 'basic') throw new UnauthenticatedError('valid credentials required');
    const { name: username, password } = creds;
    if (badLdapName(username) !== null || password.length === 0 || Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
      throw new UnauthenticatedError('valid credentials required');
    }
    const cached = cache.get(username, password);
    if (cached) return cached;
    await opts.throttle?.admit(username, clientAddress(req));

    const t0 = process.hrtime.bigint();
    const o = await directoryLogin(req, res, username, password);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (o.kind === 'fail') {
      log?.debug({ user: username, why: o.why, ms }, 'LDAP login refused');
      throw new UnauthenticatedError('valid credentials required');
    }
    if (o.kind === 'error') {
      // ldapauth-fork reports an ambiguous search (several entries for one name) as a plain string.
      if (typeof o.err === 'string' && /unexpected number of matches/.test(o.err)) {
        log?.warn({ user: username }, 'LDAP login refused: the search filter matches several entries');
        throw new UnauthenticatedError('valid credentials required');
      }
      log?.warn({ err: errInfo(o.err), url: cfg.url, ms }, 'LDAP login failed: directory unavailable');
      throw new UnavailableError(LDAP_UNAVAILABLE, { retryAfterSeconds: 5 });
    }
    const uid = Array.isArray(o.user.uid) ? o.user.uid[0] : o.user.uid;
    const name = typeof uid === 'string' && uid.length > 0 ? uid : username;
    const mapped = mapGroups(cfg, (o.user._groups ?? []).map((g) => String(g.dn)));
    if (!mapped) {
      log?.info({ user: name, ms }, 'LDAP login refused: in no group mapped to a tenant');
      throw new ForbiddenError(`LDAP user '${name}' is in no group mapped to a tenant`);
    }
    const principal: Principal = { name, tenant: mapped.tenant, roles: mapped.roles };
    cache.set(username, password, principal);
    await opts.throttle?.succeeded(username, clientAddress(req));
    log?.debug({ user: name, tenant: principal.tenant, ms }, 'LDAP login');
    return principal;
  }

  return {
    cache,
    cached(req: Request): Principal | null {
      const c = parseBasic(req.headers.authorization);
      return c.kind === 'basic' && c.password ? cache.get(c.name, c.password) : null;
    },
    clearCache: () => cache.clear(),
    challenges: () => [`Basic realm="${realm}"`],
    middleware(): RequestHandler {
      return (req: Request, res: Response, next: NextFunction) => {
        authenticate(req, res).then((p) => { setPrincipal(res, p); next(); }, next);
      };
    },
  };
}

/**
 * Local users first, then LDAP (anyOf: a 401 from one tries the next; any other error ends the
 * attempt). Local first means a directory outage (503 from LDAP) never locks out local users such
 * as the admin, and a local user name shadows the same name in the directory.
 *
 * One shortcut: credentials the LDAP authenticator accepted within its cache TTL go straight to
 * their cached Principal. They only got there because the local check had refused them, and the
 * local check of a name that is not a local user costs a full decoy scrypt (it hides which names
 * exist), which would otherwise be paid on every request of every LDAP user. The one difference it
 * makes: a local user created with the very same name and password as a cached LDAP login takes
 * over only when that cache entry expires.
 *
 * The two share the Basic realm, so the challenge is sent once.
 */
export function localThenLdap(local: Authenticator, ldap: LdapAuthenticator): Authenticator {
  const both = anyOf(local, ldap);
  return {
    challenges: () => [...new Set(both.challenges())],
    middleware(): RequestHandler {
      const handler = both.middleware();
      return (req: Request, res: Response, next: NextFunction) => {
        const p = ldap.cached(req);
        if (p) { setPrincipal(res, p); next(); return; }
        void handler(req, res, next);
      };
    },
  };
}
