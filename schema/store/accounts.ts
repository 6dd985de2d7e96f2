/** Local users and API keys. A user name is claimed once (IF NOT EXISTS). */
import { ConflictError, ValidationError } from '../../errors/registry.js';
import { checkId, isId } from '../ids.js';
import { collectPages, fromJson, toJson } from '../json-column.js';
import type { Row, TableDriver } from '../table-driver.js';
import type { ApiKey, ApiKeyInfo, User } from '../types.js';

const USER_NAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

export function checkUserName(name: unknown): string {
  if (typeof name !== 'string' || name.length > 64 || !USER_NAME.test(name)) throw new ValidationError('user name must be 1-64 lower-case letters, digits, . _ @ -');
  return name;
}

/** Tenant names follow the user-name rule: they appear in URLs, logs and other tenants' never. */
export function checkTenantName(name: unknown): string {
  if (typeof name !== 'string' || name.length > 64 || !USER_NAME.test(name)) throw new ValidationError('tenant name must be 1-64 lower-case letters, digits, . _ @ -');
  return name;
}

function rowToUser(r: Row): User {
  return {
    name: r.name as string, tenant: r.tenant as string, passwordHash: r.password_hash as string,
    roles: fromJson<string[]>(r.roles, 'user roles', []), disabled: r.disabled === true, created: r.created as number,
  };
}

export class AccountStore {
  constructor(private readonly d: TableDriver) {}

  async createUser(u: User): Promise<User> {
    checkUserName(u.name);
    if (!u.tenant) throw new ValidationError('tenant is required');
    checkTenantName(u.tenant);
    const { applied } = await this.d.cas('users', {
      name: u.name, tenant: u.tenant, password_hash: u.passwordHash, roles: toJson(u.roles), disabled: u.disabled, created: u.created,
    }, { ifNotExists: true });
    if (!applied) throw new ConflictError(`user ${u.name} already exists`);
    return u;
  }

  async getUser(name: string): Promise<User | null> {
    const r = await this.d.get('users', { name: checkUserName(name) });
    return r && r.tenant !== null ? rowToUser(r) : null;
  }

  async listUsers(): Promise<User[]> {
    const rows = await collectPages((pageState) => this.d.scan('users', { limit: 1000, pageState }));
    return rows.filter((r) => r.tenant !== null).map(rowToUser);
  }

  async setPassword(name: string, passwordHash: string): Promise<void> {
    const { applied } = await this.d.cas('users', { name: checkUserName(name), password_hash: passwordHash }, { ifExists: true });
    if (!applied) throw new ConflictError(`user ${name} does not exist`);
  }

  /** Disables or re-enables a user; every credential of the user (password, API keys) follows at once. */
  async setUserDisabled(name: string, disabled: boolean): Promise<void> {
    const { applied } = await this.d.cas('users', { name: checkUserName(name), disabled }, { ifExists: true });
    if (!applied) throw new ConflictError(`user ${name} does not exist`);
  }

  /**
   * Stores a new key: the key row (IF NOT EXISTS: an id is used once), then its copy in the owner's
   * listing partition. Refused when that partition already holds MAX_API_KEYS_PER_USER rows (live,
   * revoked or expired; the last two leave by TTL), which bounds the partition. Two concurrent
   * creates may both pass the count: the bound is soft by the number of creates in flight.
   * A key with an expiry is written with a TTL that ends API_KEY_KEEP_S after it.
   */
  async createApiKey(k: ApiKey, now = Date.now()): Promise<ApiKey> {
    checkId(k.keyId, 'api key id');
    checkUserName(k.userName);
    if (typeof k.secretHash !== 'string' || k.secretHash.length === 0) throw new ValidationError('api key secret hash is required');
    if (k.expires !== null && k.expires <= now) throw new ValidationError('api key expiry must be in the future');
    const held = await this.d.select('api_keys_by_user', { user_name: k.userName }, { limit: MAX_API_KEYS_PER_USER });
    if (held.rows.length >= MAX_API_KEYS_PER_USER) {
      throw new ConflictError(`user ${k.userName} already has ${MAX_API_KEYS_PER_USER} API keys (revoked and expired ones count for ${API_KEY_KEEP_S / 86400} days): revoke some first`);
    }
    const ttl = k.expires !== null ? keepTtl(k.expires, now) : undefined;
    const { applied } = await this.d.cas('api_keys', {
      key_id: k.keyId, user_name: k.userName, secret_hash: k.secretHash, created: k.created,
      name: k.name, description: k.description,
      // No null cells on insert (a null is a tombstone in Cassandra): an unset column reads as null.
      ...(k.expires !== null ? { expires: k.expires } : {}), ...(k.revoked !== null ? { revoked: k.revoked } : {}),
    }, { ifNotExists: true }, ttl !== undefined ? { ttlSeconds: ttl } : {});
    if (!applied) throw new ConflictError('api key id already in use');
    await this.d.put('api_keys_by_user', listingRow(k), ttl !== undefined ? { ttlSeconds: ttl } : {});
    return k;
  }

  /** The key by id; null for an unknown (or expired from the bus by TTL) or malformed id. */
  async getApiKey(keyId: string): Promise<ApiKey | null> {
    if (!isId(keyId)) return null;
    const r = await this.d.get('api_keys', { key_id: keyId });
    if (!r || r.user_name === null || r.secret_hash === null) return null;
    return {
      keyId, userName: r.user_name as string, secretHash: r.secret_hash as string, created: r.created as number,
      name: (r.name as string | null) ?? '', description: (r.description as string | null) ?? '',
      expires: (r.expires as number | null) ?? null, revoked: (r.revoked as number | null) ?? null,
    };
  }

  /** A user's keys in creation order (one bounded partition); never the hashes. */
  async listApiKeys(userName: string): Promise<ApiKeyInfo[]> {
    checkUserName(userName);
    const rows = await collectPages((pageState) => this.d.select('api_keys_by_user', { user_name: userName }, { limit: 200, pageState }));
    return rows.filter((r) => r.created !== null).map((r) => ({
      keyId: r.key_id as string, userName, created: r.created as number, name: (r.name as string | null) ?? '',
      description: (r.description as string | null) ?? '', expires: (r.expires as number | null) ?? null, revoked: (r.revoked as number | null) ?? null,
    }));
  }

  /**
   * Revokes a key of `userName` (null when there is no such key of that user). The key row is
   * rewritten whole under a condition (its cells are written by lightweight transactions only) with
   * `revoked` set and a TTL, so it leaves the bus API_KEY_KEEP_S later; the listing copy follows.
   * Revoking a revoked key changes nothing but repairs the listing copy.
   */
  async revokeApiKey(keyId: string, userName: string, now = Date.now()): Promise<ApiKeyInfo | null> {
    const k = await this.getApiKey(keyId);
    if (!k || k.userName !== userName) return null;
    let revoked = k.revoked;
    if (revoked === null) {
      const ttl = Math.min(API_KEY_KEEP_S, k.expires !== null ? keepTtl(k.expires, now) : API_KEY_KEEP_S);
      const { applied } = await this.d.cas('api_keys', {
        key_id: k.keyId, user_name: k.userName, secret_hash: k.secretHash, created: k.created,
        name: k.name, description: k.description, expires: k.expires, revoked: now,
      }, { if: { user_name: userName, revoked: null } }, { ttlSeconds: ttl });
      if (applied) revoked = now;
      else {
        const again = await this.d.get('api_keys', { key_id: keyId }, { serial: true });
        if (!again || again.user_name === null) return null;
        revoked = (again.revoked as number | null) ?? now;
      }
    }
    const { secretHash: _omit, ...info } = { ...k, revoked };
    const ttl = Math.max(1, Math.min(API_KEY_KEEP_S, Math.ceil((revoked + API_KEY_KEEP_S * 1000 - now) / 1000)));
    await this.d.put('api_keys_by_user', listingRow(info), { ttlSeconds: ttl });
    return info;
  }
}

/** At most this many rows in one user's key listing (live keys plus revoked/expired ones kept for a while). */
export const MAX_API_KEYS_PER_USER = 100;
/** How long a revoked or expired key stays listed (and its row kept) before TTL removes it. */
export const API_KEY_KEEP_S = 7 * 86400;

function keepTtl(expires: number, now: number): number {
  return Math.max(1, Math.ceil((expires - now) / 1000) + API_KEY_KEEP_S);
}

function listingRow(k: ApiKeyInfo): Row {
  const row: Row = { user_name: k.userName, key_id: k.keyId, name: k.name, description: k.description, created: k.created };
  if (k.expires !== null) row.expires = k.expires;
  if (k.revoked !== null) row.revoked = k.revoked;
  return row;
}
