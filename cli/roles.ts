/**
 * Starting the roles: frontend, placement, agent, or all of them in one process (the single-machine
 * profile). Each role is assembled here from its own modules; the logic lives in those modules.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { ldapConfigFromEnv, type LdapConfig } from '../config/ldap-config.js';
import type { StoreConfig } from '../config/store-config.js';
import { ConfigError } from '../errors/registry.js';
import { buildApp } from '../frontend/app.js';
import { parseConfigBody, parseImageBody } from '../frontend/catalog-bodies.js';
import { apiKeyAuth } from '../frontend/auth/api-keys.js';
import { anyOf, asLocalUsers } from '../frontend/auth/authenticator.js';
import { hashPassword } from '../frontend/auth/passwords.js';
import { ldapBasicAuth, localThenLdap } from '../frontend/auth/ldap.js';
import { localBasicAuth } from '../frontend/auth/local-basic.js';
import { LoginThrottle } from '../frontend/auth/login-throttle.js';
import { PasswordChecks } from '../frontend/auth/password-checks.js';
import type { FrontendConfig } from '../frontend/config.js';
import { HypervisorAgent } from '../hypervisor-agent/agent.js';
import type { AgentConfig } from '../hypervisor-agent/config.js';
import type { Logger } from '../observability/logger.js';
import type { SkybusMetrics } from '../observability/metrics.js';
import type { PlacementConfig } from '../placement/config.js';
import { Placer } from '../placement/placer.js';
import { openStore, type BusStore } from '../schema/bus-store.js';

export interface Running { stop(): Promise<void> }

/** Whether a listen address only this machine reaches (a frontend there may build links from Host). */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export async function startFrontend(
  store: BusStore, cfg: FrontendConfig, log: Logger, metrics: SkybusMetrics,
  opts: { ldap?: LdapConfig | null } = {},
): Promise<{ server: Server; url: string } & Running> {
  // --- LDAP login (docs/identity.md): local users first, then the directory, when SKYBUS_LDAP_URL is set.
  const ldap = opts.ldap !== undefined ? opts.ldap : ldapConfigFromEnv();
  // Password checks on the frontend's own bounded worker threads (frontend/auth/password-checks.ts).
  const checks = new PasswordChecks({ workers: cfg.passwordWorkers, queue: cfg.passwordQueue });
  const throttle = new LoginThrottle(store);
  const local = localBasicAuth(store, { checks, throttle });
  const passwords = ldap ? localThenLdap(asLocalUsers(local), ldapBasicAuth(ldap, { log: log.child({ module: 'ldap' }), throttle })) : asLocalUsers(local);
  // API keys (Authorization: Bearer, frontend/auth/api-keys.ts) first: any other header passes on at once.
  const auth = anyOf(apiKeyAuth(store), passwords);
  if (ldap) log.info({ url: ldap.url, starttls: ldap.starttls, groups: ldap.groups.length }, 'LDAP login enabled (local users first)');
  // --- end LDAP login
  const app = buildApp({ store, auth, log, metrics, config: cfg });
  if (cfg.publicBaseUrl === null && !isLoopback(cfg.listenHost)) {
    log.warn({ listen: cfg.listenHost }, 'SKYBUS_FRONTEND_PUBLIC_URL is not set on a non-loopback address: links are built from each request\'s Host header; set it to the URL clients use (required behind a proxy)');
  }
  const server = await new Promise<Server>((resolve, reject) => {
    const fail = (e: NodeJS.ErrnoException) => reject(
      e.code === 'EADDRINUSE' ? new ConfigError(`${cfg.listenHost}:${cfg.listenPort} is already in use: choose another port with --port`)
        : e.code === 'EADDRNOTAVAIL' || e.code === 'EACCES' ? new ConfigError(`cannot listen on ${cfg.listenHost}:${cfg.listenPort} (${e.code})`) : e);
    // Express 5 calls the listen callback with the error when listening fails.
    const s = app.listen(cfg.listenPort, cfg.listenHost, (err?: Error) => (err ? fail(err as NodeJS.ErrnoException) : resolve(s)));
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.listenPort;
  const url = `http://${cfg.listenHost}:${port}`;
  return { server, url, stop: async () => { await new Promise<void>((r) => server.close(() => r())); await checks.close(); } };
}

export function startPlacement(store: BusStore, cfg: PlacementConfig, log: Logger, metrics: SkybusMetrics): Running {
  const p = new Placer({ store, config: cfg, log, metrics });
  p.start();
  return { stop: () => p.stop() };
}

export async function startAgent(store: BusStore, cfg: AgentConfig, log: Logger, metrics: SkybusMetrics): Promise<Running> {
  const a = new HypervisorAgent({ store, config: cfg, log, metrics });
  await a.start();
  return { stop: () => a.stop() };
}

/** The demo login: created once, its password kept (0600) beside the embedded store. */
export async function ensureAdmin(store: BusStore, dataDir: string): Promise<{ user: string; password: string | null }> {
  const file = join(dataDir, 'admin-password');
  const existing = await store.accounts.getUser('admin');
  if (existing) return { user: 'admin', password: existsSync(file) ? readFileSync(file, 'utf8').trim() : null };
  const password = randomBytes(12).toString('base64url');
  mkdirSync(dataDir, { recursive: true });
  await store.accounts.createUser({ name: 'admin', tenant: 'admin', passwordHash: await hashPassword(password), roles: ['admin', 'user'], disabled: false, created: Date.now() });
  writeFileSync(file, password + '\n', { mode: 0o600 });
  return { user: 'admin', password };
}

/** A flavour and an image so a first client can create a machine at once. */
export async function seedCatalog(store: BusStore): Promise<void> {
  if ((await store.catalog.list('machineConfig')).length === 0) {
    for (const body of [
      { name: 'small', description: '1 vCPU, 512 MiB', cpu: 1, memory: 524288 },
      { name: 'medium', description: '2 vCPU, 2 GiB', cpu: 2, memory: 2097152 },
    ]) {
      const { name, doc } = parseConfigBody(body);
      await store.catalog.create('machineConfig', name, null, { ...doc });
    }
  }
  if ((await store.catalog.list('machineImage')).length === 0) {
    const { name, doc } = parseImageBody({ name: 'tiny-linux', description: 'direct kernel boot (the files matter only on real QEMU)', imageLocation: '/var/lib/skybus/images/vmlinuz', format: 'kernel', initrd: '/var/lib/skybus/images/initramfs.gz', kernelCmdline: 'console=ttyS0' });
    await store.catalog.create('machineImage', name, null, { ...doc });
  }
}

export async function openBus(cfg: StoreConfig, log: Logger): Promise<BusStore> {
  const store = await openStore(cfg);
  log.info({ store: cfg.kind, where: cfg.kind === 'embedded' ? cfg.path : cfg.contactPoints.join(',') }, 'bus open');
  return store;
}

