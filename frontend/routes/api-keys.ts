/**
 * /api/apiKeys: the caller's own API keys (a Skybus extension collection; see docs/identity.md).
 *   GET    /apiKeys       the caller's keys ($filter $first $last $orderby $select); never a secret
 *   POST   /apiKeys       ApiKeyCreate {name?, description?, expires? | expiresInDays?} → 201 + Location,
 *                         the ApiKey with `secret`: the only time the secret is shown
 *   GET    /apiKeys/:id   one of the caller's keys (404 for unknown, malformed or another user's)
 *   DELETE /apiKeys/:id   revoke → 200; the key is refused on every frontend from then on
 * Keys belong to local users; creating one needs a password login (not a key). Admins see only
 * their own keys here too.
 */
import { Router, type Request, type Response } from 'express';
import { ForbiddenError, NotFoundError, ValidationError } from '../../errors/registry.js';
import { newId } from '../../schema/ids.js';
import type { ApiKeyInfo } from '../../schema/types.js';
import { hashKeyToken, KEY_PREFIX, newKeyToken } from '../auth/api-keys.js';
import { authSourceOf, principalOf, type Principal } from '../auth/authenticator.js';
import { optString, rejectUnknownFields, type Body } from '../body-fields.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { readCimiBody } from '../cimi/request-body.js';
import { collectionUrl, memberUrl, skybusUri } from '../cimi/uris.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

/** The longest lifetime a key may be given (Cassandra TTLs end at 20 years; keys should rotate far sooner). */
export const MAX_KEY_DAYS = 3650;
const DAY_MS = 86_400_000;

export type KeyState = 'ACTIVE' | 'EXPIRED' | 'REVOKED';

export function keyState(k: ApiKeyInfo, now: number): KeyState {
  if (k.revoked !== null) return 'REVOKED';
  if (k.expires !== null && k.expires <= now) return 'EXPIRED';
  return 'ACTIVE';
}

export function apiKeyView(k: ApiKeyInfo, base: string, now: number): Record<string, unknown> {
  const href = memberUrl(base, 'apiKeys', k.keyId);
  const state = keyState(k, now);
  return {
    resourceURI: skybusUri('ApiKey'), // not a DSP0263 type: Skybus's namespace
    id: href,
    name: k.name,
    description: k.description,
    created: new Date(k.created).toISOString(),
    state,
    // What every token of this key starts with: tells keys apart without showing a secret.
    prefix: `${KEY_PREFIX}${k.keyId}_`,
    ...(k.expires !== null ? { expires: new Date(k.expires).toISOString() } : {}),
    ...(k.revoked !== null ? { revoked: new Date(k.revoked).toISOString() } : {}),
    operations: state === 'REVOKED' ? [] : [{ rel: 'delete', href }],
  };
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** An ApiKeyCreate body: name, description, and at most one of expires (ISO 8601 with a zone) and expiresInDays. */
export function parseApiKeyCreate(body: Body, now: number, xml: boolean): { name: string; description: string; expires: number | null } {
  const where = 'ApiKeyCreate';
  rejectUnknownFields(body, ['expires', 'expiresInDays'], where);
  if (body.properties !== undefined) throw new ValidationError(`unknown field 'properties' in ${where}`, { field: 'properties' });
  const name = optString(body, 'name', 255, `${where}.name`) ?? '';
  const description = optString(body, 'description', 4096, `${where}.description`, 'multiline') ?? '';
  const hasExpires = body.expires !== undefined && body.expires !== null;
  const hasDays = body.expiresInDays !== undefined && body.expiresInDays !== null;
  if (hasExpires && hasDays) throw new ValidationError(`${where}: give expires or expiresInDays, not both`, { field: `${where}.expires` });
  let expires: number | null = null;
  if (hasDays) {
    const label = `${where}.expiresInDays`;
    let v = body.expiresInDays;
    if (xml && typeof v === 'string' && /^\d{1,6}$/.test(v.trim())) v = Number(v.trim());
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_KEY_DAYS) throw new ValidationError(`${label} must be an integer between 1 and ${MAX_KEY_DAYS}`, { field: label });
    expires = now + v * DAY_MS;
  } else if (hasExpires) {
    const label = `${where}.expires`;
    const v = body.expires;
    if (typeof v !== 'string' || v.length > 64 || !ISO_TIME.test(v)) throw new ValidationError(`${label} must be an ISO 8601 date and time with a zone, e.g. 2027-01-31T00:00:00Z`, { field: label });
    const t = Date.parse(v);
    const [y, mo, d] = v.slice(0, 10).split('-').map(Number);
    const day = new Date(Date.UTC(y, mo - 1, d));
    if (!Number.isFinite(t) || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) throw new ValidationError(`${label} is not a valid date and time`, { field: label });
    if (t <= now) throw new ValidationError(`${label} must be in the future`, { field: label });
    if (t > now + MAX_KEY_DAYS * DAY_MS) throw new ValidationError(`${label} may be at most ${MAX_KEY_DAYS} days ahead`, { field: label });
    expires = t;
  }
  return { name, description, expires };
}

function isXml(req: Request): boolean {
  const t = req.get('content-type')?.split(';')[0].trim().toLowerCase() ?? '';
  return t.endsWith('xml');
}

/** The caller, when it is a local user (keys are for local users only). */
function localOwner(res: Response): Principal {
  const who = principalOf(res);
  if (authSourceOf(res) === null) throw new ForbiddenError('API keys are for local users only; directory (LDAP) users cannot own keys');
  return who;
}

export function apiKeyRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  defineRoute(r, mountedAt, '/apiKeys', {
    get: async (req, res) => {
      const who = localOwner(res);
      const base = baseUrl(req, config);
      const q = parseCollectionQuery(req, config);
      const now = Date.now();
      // One bounded partition (at most MAX_API_KEYS_PER_USER rows).
      const keys = await store.accounts.listApiKeys(who.name);
      async function* pages() { yield keys; }
      const result = await runCollectionQuery(pages(), q, (k) => apiKeyView(k, base, now));
      const id = collectionUrl(base, 'apiKeys');
      const canAdd = authSourceOf(res)?.kind === 'local';
      const body = collectionBody({ type: 'ApiKeyCollection', id, member: 'apiKeys', result, q, addHref: canAdd ? id : null, next: nextWindowQuery(req, q, result.count) });
      body.resourceURI = skybusUri('ApiKeyCollection');
      sendCimi(req, res, 200, body);
    },
    post: async (req, res) => {
      const who = localOwner(res);
      if (authSourceOf(res)?.kind !== 'local') throw new ForbiddenError('an API key cannot create API keys: authenticate with your password');
      const now = Date.now();
      const body = readCimiBody(req, 'ApiKeyCreate');
      const { name, description, expires } = parseApiKeyCreate(body, now, isXml(req));
      const keyId = newId(now);
      const token = newKeyToken(keyId);
      const key = await store.accounts.createApiKey({ keyId, userName: who.name, secretHash: hashKeyToken(token), created: now, name, description, expires, revoked: null }, now);
      const base = baseUrl(req, config);
      const { secretHash: _hash, ...info } = key;
      res.setHeader('Location', memberUrl(base, 'apiKeys', keyId));
      sendCimi(req, res, 201, { ...apiKeyView(info, base, now), secret: token });
    },
  });
  defineRoute(r, mountedAt, '/apiKeys/:id', {
    get: async (req, res) => {
      const who = localOwner(res);
      const id = req.params.id as string;
      const key = await store.accounts.getApiKey(id);
      if (!key || key.userName !== who.name) throw new NotFoundError(`no ApiKey ${id.slice(0, 64)}`);
      const { secretHash: _hash, ...info } = key;
      sendCimi(req, res, 200, apiKeyView(info, baseUrl(req, config), Date.now()));
    },
    delete: async (req, res) => {
      const who = localOwner(res);
      const id = req.params.id as string;
      const revoked = await store.accounts.revokeApiKey(id, who.name);
      if (!revoked) throw new NotFoundError(`no ApiKey ${id.slice(0, 64)}`);
      res.status(200).end();
    },
  });
  return r;
}
