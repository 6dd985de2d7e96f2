/** Local users and API keys. A user name is claimed once (IF NOT EXISTS). */
import { ConflictError, ValidationError } from '../../errors/registry.js';
import { collectPages, fromJson, toJson } from '../json-column.js';
import type { Row, TableDriver } from '../table-driver.js';
import type { ApiKey, User } from '../types.js';

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

  async createApiKey(k: ApiKey): Promise<ApiKey> {
    const { applied } = await this.d.cas('api_keys', { key_id: k.keyId, user_name: k.userName, secret_hash: k.secretHash, created: k.created }, { ifNotExists: true });
    if (!applied) throw new ConflictError('api key id already in use');
    return k;
  }

  async getApiKey(keyId: string): Promise<ApiKey | null> {
    const r = await this.d.get('api_keys', { key_id: keyId });
    return r && r.user_name !== null ? { keyId, userName: r.user_name as string, secretHash: r.secret_hash as string, created: r.created as number } : null;
  }
}
