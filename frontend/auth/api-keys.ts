/**
 * API keys: `Authorization: Bearer sbk_<keyId>_<secret>` (docs/identity.md, "API keys").
 *
 *   sbk_                 a fixed prefix (secret scanners and humans recognise the token)
 *   <keyId>              the key's id (a UUID), so checking a key is ONE single-row read
 *   <secret>             32 random bytes, base64url (43 characters, 256 bits)
 *
 * Stored: `hs256$<salt>$<HMAC-SHA-256(salt, token)>` with 16 random bytes of salt per key, compared
 * in constant time. Why a fast keyed hash and not scrypt like passwords (passwords.ts):
 *  - A slow KDF exists to make guessing LOW-entropy secrets (passwords) expensive after a leak of
 *    the hashes. A key carries 256 bits from the CSPRNG: even with the stored hash and salt, finding
 *    the secret is a 2^256 search, which no KDF work factor changes in any way that matters.
 *  - A key is sent on EVERY request, not once per login. A KDF per request (~60 ms of CPU with
 *    scrypt, see password-checks.ts) would make each key-carrying request cost what a login costs,
 *    and a flood of requests with made-up keys (`sbk_<any id>_<junk>`) a lever to exhaust the
 *    frontend's CPU — the denial of service password-checks.ts bounds for logins. HMAC-SHA-256 costs
 *    about a microsecond; the bus read costs more.
 *  - The salt makes equal secrets (there are none in practice) hash differently and keeps the stored
 *    value useless as a lookup key in another system.
 *
 * Every request re-reads the key row (revoked? expired? whose?) and the owner's user row (disabled?
 * tenant? roles?), so a revoke, an expiry, a disabled owner or a role change takes effect at once on
 * every frontend: nothing about a key is cached in this process.
 *
 * Keys belong to LOCAL users only: an LDAP user's tenant and roles come from the directory at login,
 * and acting "at the time of use" would need a directory query per request. Creating a key needs a
 * password login (a key cannot mint keys: a leaked key must not be able to outlive its revocation).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { UnauthenticatedError, ValidationError } from '../../errors/registry.js';
import type { BusStore } from '../../schema/bus-store.js';
import { setAuthSource, setPrincipal, type Authenticator } from './authenticator.js';

export const BEARER_REALM = 'skybus';
export const KEY_PREFIX = 'sbk_';
const SECRET_BYTES = 32;
const SALT_BYTES = 16;
const TOKEN = /^sbk_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const MAX_HEADER = 8192;

export type BearerParse =
  | { kind: 'absent' }
  | { kind: 'malformed'; why: string }
  | { kind: 'key'; keyId: string; token: string };

/** The Bearer token of an Authorization header; 'absent' for no header or another scheme. */
export function parseBearer(header: string | undefined): BearerParse {
  if (header === undefined || header === '') return { kind: 'absent' };
  const sp = header.indexOf(' ');
  const scheme = sp < 0 ? header : header.slice(0, sp);
  if (scheme.toLowerCase() !== 'bearer') return { kind: 'absent' };
  if (header.length > MAX_HEADER) return { kind: 'malformed', why: 'the Authorization header is too long' };
  const token = header.slice(sp < 0 ? header.length : sp).trim();
  if (token.length === 0) return { kind: 'malformed', why: 'the Bearer token is missing' };
  const m = TOKEN.exec(token);
  if (!m) return { kind: 'malformed', why: 'not a Skybus API key' };
  return { kind: 'key', keyId: m[1], token };
}

/** A new key's secret token for `keyId`: shown to its owner once, never stored. */
export function newKeyToken(keyId: string): string {
  return `${KEY_PREFIX}${keyId}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
}

function digest(salt: Buffer, token: string): Buffer {
  return createHmac('sha256', salt).update(token, 'utf8').digest();
}

/** The stored form of a token (see the header comment for why it is not a slow KDF). */
export function hashKeyToken(token: string): string {
  const salt = randomBytes(SALT_BYTES);
  return `hs256$${salt.toString('base64url')}$${digest(salt, token).toString('base64url')}`;
}

/** Whether token matches the stored form, in constant time; false for any stored value it cannot read. */
export function verifyKeyToken(token: string, stored: string): boolean {
  const parts = stored.split('$');
  if (parts.length !== 3 || parts[0] !== 'hs256') return false;
  const salt = Buffer.from(parts[1], 'base64url');
  const want = Buffer.from(parts[2], 'base64url');
  if (salt.length !== SALT_BYTES || want.length !== 32) return false;
  return timingSafeEqual(digest(salt, token), want);
}

export interface ApiKeyAuthOptions { realm?: string; now?: () => number }

/**
 * The Authenticator for API keys. A request without a Bearer header fails with UnauthenticatedError
 * without reading anything, so anyOf() goes on to the next authenticator (Basic). A Bearer header
 * that does not name a live key of an enabled user is a 401; a store failure is a 503, never a 401
 * and never a 500.
 */
export function apiKeyAuth(store: BusStore, opts: ApiKeyAuthOptions = {}): Authenticator {
  const realm = opts.realm ?? BEARER_REALM;
  const now = opts.now ?? Date.now;
  const refuse = (next: NextFunction) => next(new UnauthenticatedError('valid credentials required'));
  return {
    challenges: () => [`Bearer realm="${realm}"`],
    middleware(): RequestHandler {
      return (req: Request, res: Response, next: NextFunction) => {
        const c = parseBearer(req.get('authorization'));
        if (c.kind !== 'key') { refuse(next); return; }
        void (async () => {
          const key = await store.accounts.getApiKey(c.keyId);
          if (!key || !verifyKeyToken(c.token, key.secretHash)) { refuse(next); return; }
          if (key.revoked !== null || (key.expires !== null && key.expires <= now())) { refuse(next); return; }
          let owner;
          try {
            owner = await store.accounts.getUser(key.userName);
          } catch (e) {
            if (e instanceof ValidationError) owner = null;
            else throw e;
          }
          if (!owner || owner.disabled) { refuse(next); return; }
          setPrincipal(res, { name: owner.name, tenant: owner.tenant, roles: [...owner.roles] });
          setAuthSource(res, 'apiKey', key.keyId);
          next();
        })().catch(next);
      };
    },
  };
}
