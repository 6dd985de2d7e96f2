/** A frontend over a fresh embedded bus, with users in three tenants and a small catalog. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type express from 'express';
import request from 'supertest';
import { buildApp } from '../../../frontend/app.js';
import { apiKeyAuth } from '../../../frontend/auth/api-keys.js';
import { anyOf, asLocalUsers } from '../../../frontend/auth/authenticator.js';
import { localBasicAuth } from '../../../frontend/auth/local-basic.js';
import { hashPassword } from '../../../frontend/auth/passwords.js';
import { frontendConfig, type FrontendConfig } from '../../../frontend/config.js';
import { silentLogger } from '../../../observability/logger.js';
import { SkybusMetrics } from '../../../observability/metrics.js';
import { openStore, type BusStore } from '../../../schema/bus-store.js';
import { dayOf } from '../../../schema/store/telemetry.js';
import type { MachineSpec } from '../../../schema/types.js';

export const PASSWORD = 'correct horse battery staple';
let hashed: Promise<string> | null = null;

export interface Harness {
  store: BusStore;
  app: express.Express;
  metrics: SkybusMetrics;
  dir: string;
  catalog: { config: string; image: string; template: string };
  cleanup(): Promise<void>;
}

export async function harness(cfg: Partial<FrontendConfig> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'skybus-frontend-'));
  const store = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
  hashed ??= hashPassword(PASSWORD);
  const h = await hashed;
  const now = Date.now();
  await store.accounts.createUser({ name: 'root', tenant: 'ops', passwordHash: h, roles: ['admin', 'user'], disabled: false, created: now });
  await store.accounts.createUser({ name: 'alice', tenant: 'acme', passwordHash: h, roles: ['user'], disabled: false, created: now });
  await store.accounts.createUser({ name: 'bob', tenant: 'globex', passwordHash: h, roles: ['user'], disabled: false, created: now });
  await store.accounts.createUser({ name: 'carol', tenant: 'acme', passwordHash: h, roles: ['user'], disabled: true, created: now });
  const config = await store.catalog.create('machineConfig', 'small', null, { description: '', properties: {}, cpu: 2, memory: 2097152, cpuArch: 'x86_64', disks: [{ capacity: 10485760, format: 'qcow2' }] });
  const image = await store.catalog.create('machineImage', 'debian', null, { description: '', properties: {}, imageLocation: '/var/lib/skybus/images/debian.qcow2', format: 'qcow2', initrd: null, kernelCmdline: null, cpuArch: 'x86_64' });
  const template = await store.catalog.create('machineTemplate', 'small-debian', null, { description: '', properties: {}, machineConfig: config.id, machineImage: image.id, initialState: 'STARTED', userData: null });
  const metrics = new SkybusMetrics();
  const app = buildApp({ store, auth: anyOf(apiKeyAuth(store), asLocalUsers(localBasicAuth(store))), log: silentLogger(), metrics, config: frontendConfig(cfg) });
  return {
    store, app, metrics, dir, catalog: { config: config.id, image: image.id, template: template.id },
    async cleanup() { await store.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

type Method = 'get' | 'post' | 'put' | 'delete';
/** A supertest request authenticated as `user`. */
export function as(app: express.Express, user: string, method: Method, path: string): request.Test {
  return request(app)[method](path).auth(user, PASSWORD);
}

/** Everything a rejected request must not have changed, for one tenant. */
export async function footprint(store: BusStore, tenant: string): Promise<Record<string, number>> {
  const count = async (list: (ps: string | null) => Promise<{ items: unknown[]; pageState: string | null }>) => {
    let n = 0;
    let ps: string | null = null;
    do { const p = await list(ps); n += p.items.length; ps = p.pageState; } while (ps);
    return n;
  };
  return {
    machines: await count((ps) => store.machines.listByTenant(tenant, { limit: 500, pageState: ps })),
    jobs: await count((ps) => store.jobs.listByTenant(tenant, { limit: 500, pageState: ps })),
    events: await count((ps) => store.telemetry.events(tenant, dayOf(Date.now()), { limit: 500, pageState: ps })),
    configs: (await store.catalog.list('machineConfig')).length,
    images: (await store.catalog.list('machineImage')).length,
    templates: (await store.catalog.list('machineTemplate')).length,
  };
}

export function spec(overrides: Partial<MachineSpec> = {}): MachineSpec {
  return {
    cpu: 1, memoryKiB: 1048576, cpuArch: 'x86_64',
    image: { id: '00000000-0000-7000-8000-000000000001', name: 'img', format: 'qcow2', location: '/img.qcow2', initrd: null, cmdline: null, cpuArch: 'x86_64' },
    disks: [], userData: null, requirements: {}, ...overrides,
  };
}

export function idOf(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}
