/** The frontend's settings: defaults, then validation. Built once at start-up and passed to buildApp. */
import { DEFAULT_LIVENESS, hostLivenessFromEnv, hostLivenessPolicy, type HostLivenessPolicy } from '../schema/host-health.js';
import { ConfigError } from '../errors/registry.js';
import { RATE_LIMIT_DEFAULTS, type RateLimitConfig } from './rate-limit.js';

export interface FrontendConfig {
  listenHost: string;
  listenPort: number;
  /** Base of every absolute URL the API emits (e.g. https://cloud.example.org). null: derived from each request's Host. */
  publicBaseUrl: string | null;
  /** Largest request body accepted (bytes); larger bodies get 413. */
  bodyLimitBytes: number;
  /** Members returned by a collection read that gives no $last. */
  defaultPageSize: number;
  /** Most members one collection read ever returns ($last beyond $first + maxPageSize - 1 is capped). */
  maxPageSize: number;
  /** Most members kept while sorting ($orderby): $last may not exceed this. */
  maxOrderedWindow: number;
  /** Matching members counted beyond a window before `count` becomes a lower bound (docs/api-costs.md). */
  countLimit: number;
  /** Stored members one collection read examines at most (docs/api-costs.md). */
  maxScan: number;
  /** Who may read /metrics: 'admin' (credentials of an admin, as for the API) or 'public'. */
  metricsAccess: 'admin' | 'public';
  /** The fleet gauges on /metrics (fleet-gauges.ts) are read from the bus at most once per this many ms. */
  fleetGaugesMinIntervalMs: number;
  /** Password checks (scrypt) running at once, on the frontend's own worker threads. */
  passwordWorkers: number;
  /** Password checks waiting for a worker; beyond this a login is refused at once with 503 + Retry-After. */
  passwordQueue: number;
  /** Bounds on what a MachineCreate may ask for (inline configurations, and any machine at all). */
  machineLimits: MachineLimits;
  /** How long audit events live (days). */
  auditTtlDays: number;
  /** Limits on requests that change something, per tenant and per client address, over all frontends. */
  rateLimit: RateLimitConfig;
  /** When a host counts as down (schema/host-health.ts; SKYBUS_HOST_*): what machine views say of its machines. */
  hostLiveness: HostLivenessPolicy;
}

/** Operator-set bounds on a single machine (a per-request bound; quotas are per tenant). */
export interface MachineLimits {
  maxCpu: number;
  maxMemoryKiB: number;
  maxDisks: number;
  maxDiskKiB: number;
  /** Disk formats a configuration may name. */
  diskFormats: string[];
  /** Whether tenants (not only admins) may give a machineConfig inline rather than by href. */
  tenantInlineConfig: boolean;
}

export const FRONTEND_DEFAULTS: FrontendConfig = {
  listenHost: '127.0.0.1',
  listenPort: 8080,
  publicBaseUrl: null,
  bodyLimitBytes: 256 * 1024,
  defaultPageSize: 100,
  maxPageSize: 1000,
  maxOrderedWindow: 10_000,
  countLimit: 1000,
  maxScan: 20_000,
  metricsAccess: 'admin',
  fleetGaugesMinIntervalMs: 15_000,
  passwordWorkers: 1,
  passwordQueue: 32,
  auditTtlDays: 90,
  rateLimit: RATE_LIMIT_DEFAULTS,
  hostLiveness: DEFAULT_LIVENESS,
  machineLimits: {
    maxCpu: 64, maxMemoryKiB: 256 * 1024 * 1024, maxDisks: 8, maxDiskKiB: 2 * 1024 * 1024 * 1024,
    diskFormats: ['qcow2', 'raw'], tenantInlineConfig: true,
  },
};

function positiveInt(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw new ConfigError(`${what} must be an integer between 1 and ${max}, got ${String(v)}`);
  return v;
}

/** Defaults filled in, every value checked; throws ConfigError naming the bad setting. */
export function frontendConfig(input: Partial<FrontendConfig> = {}): FrontendConfig {
  const c: FrontendConfig = { ...FRONTEND_DEFAULTS, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) };
  if (typeof c.listenHost !== 'string' || c.listenHost.length === 0) throw new ConfigError('listenHost must be a non-empty string');
  if (typeof c.listenPort !== 'number' || !Number.isInteger(c.listenPort) || c.listenPort < 0 || c.listenPort > 65535) {
    throw new ConfigError(`listenPort must be an integer between 0 and 65535, got ${String(c.listenPort)}`);
  }
  if (c.publicBaseUrl !== null) {
    let u: URL;
    try { u = new URL(c.publicBaseUrl); } catch { throw new ConfigError(`publicBaseUrl is not a URL: '${c.publicBaseUrl}'`); }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError('publicBaseUrl must be http or https');
    if (u.search || u.hash) throw new ConfigError('publicBaseUrl may not have a query or fragment');
    c.publicBaseUrl = c.publicBaseUrl.replace(/\/+$/, '');
  }
  positiveInt(c.bodyLimitBytes, 'bodyLimitBytes', 64 * 1024 * 1024);
  positiveInt(c.maxPageSize, 'maxPageSize', 100_000);
  positiveInt(c.defaultPageSize, 'defaultPageSize', c.maxPageSize);
  positiveInt(c.maxOrderedWindow, 'maxOrderedWindow', 1_000_000);
  if (c.maxOrderedWindow < c.maxPageSize) throw new ConfigError('maxOrderedWindow must be at least maxPageSize');
  positiveInt(c.countLimit, 'countLimit', 1_000_000);
  positiveInt(c.maxScan, 'maxScan', 10_000_000);
  if (c.maxScan < c.maxOrderedWindow) throw new ConfigError('maxScan must be at least maxOrderedWindow');
  if (c.metricsAccess !== 'admin' && c.metricsAccess !== 'public') throw new ConfigError(`metricsAccess must be 'admin' or 'public', got ${String(c.metricsAccess)}`);
  positiveInt(c.fleetGaugesMinIntervalMs, 'fleetGaugesMinIntervalMs', 3_600_000);
  positiveInt(c.passwordWorkers, 'passwordWorkers', 64);
  positiveInt(c.passwordQueue, 'passwordQueue', 100_000);
  c.machineLimits = machineLimits(c.machineLimits);
  positiveInt(c.auditTtlDays, 'auditTtlDays', 7300);
  c.rateLimit = rateLimit(c.rateLimit);
  c.hostLiveness = hostLivenessPolicy(c.hostLiveness);
  return c;
}

function nonNegativeInt(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new ConfigError(`${what} must be an integer between 0 and ${max}, got ${String(v)}`);
  return v;
}

function rateLimit(input: Partial<RateLimitConfig>): RateLimitConfig {
  const r: RateLimitConfig = { ...RATE_LIMIT_DEFAULTS, ...Object.fromEntries(Object.entries(input ?? {}).filter(([, v]) => v !== undefined)) };
  positiveInt(r.windowSeconds, 'rateLimit.windowSeconds', 60);
  nonNegativeInt(r.perTenant, 'rateLimit.perTenant (0: no limit)', 10_000_000);
  nonNegativeInt(r.perClient, 'rateLimit.perClient (0: no limit)', 10_000_000);
  return { ...r };
}

function machineLimits(input: Partial<MachineLimits>): MachineLimits {
  const l: MachineLimits = { ...FRONTEND_DEFAULTS.machineLimits, ...Object.fromEntries(Object.entries(input ?? {}).filter(([, v]) => v !== undefined)) };
  positiveInt(l.maxCpu, 'machineLimits.maxCpu', 1024);
  positiveInt(l.maxMemoryKiB, 'machineLimits.maxMemoryKiB', 2 ** 34);
  positiveInt(l.maxDisks, 'machineLimits.maxDisks', 16);
  positiveInt(l.maxDiskKiB, 'machineLimits.maxDiskKiB', 2 ** 40);
  if (!Array.isArray(l.diskFormats) || l.diskFormats.length === 0 || !l.diskFormats.every((f) => typeof f === 'string' && /^[a-z0-9]{1,16}$/.test(f))) {
    throw new ConfigError('machineLimits.diskFormats must be a non-empty list of lower-case format names');
  }
  if (typeof l.tenantInlineConfig !== 'boolean') throw new ConfigError('machineLimits.tenantInlineConfig must be true or false');
  return { ...l, diskFormats: [...l.diskFormats] };
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new ConfigError(`${name} must be an integer, got '${v}'`);
  return Number(v);
}

function envList(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  return v.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

function envBool(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ConfigError(`${name} must be true or false, got '${v}'`);
}

/**
 * The same, read from SKYBUS_FRONTEND_* variables: HOST, PORT, PUBLIC_URL, BODY_LIMIT, PAGE_SIZE,
 * MAX_PAGE_SIZE, COUNT_LIMIT, MAX_SCAN, METRICS_ACCESS, FLEET_GAUGES_MIN_INTERVAL_MS, PASSWORD_WORKERS, PASSWORD_QUEUE, AUDIT_TTL_DAYS,
 * the rate limits RATE_WINDOW_S, RATE_PER_TENANT, RATE_PER_CLIENT (0: no limit), and the
 * machine limits MAX_CPU, MAX_MEMORY_KIB, MAX_DISKS, MAX_DISK_KIB, DISK_FORMATS, TENANT_INLINE_CONFIG.
 */
export function frontendConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<FrontendConfig> = {}): FrontendConfig {
  const access = env.SKYBUS_FRONTEND_METRICS_ACCESS || undefined;
  return frontendConfig({
    countLimit: envInt(env, 'SKYBUS_FRONTEND_COUNT_LIMIT'),
    maxScan: envInt(env, 'SKYBUS_FRONTEND_MAX_SCAN'),
    metricsAccess: access as FrontendConfig['metricsAccess'] | undefined,
    fleetGaugesMinIntervalMs: envInt(env, 'SKYBUS_FRONTEND_FLEET_GAUGES_MIN_INTERVAL_MS'),
    passwordWorkers: envInt(env, 'SKYBUS_FRONTEND_PASSWORD_WORKERS'),
    passwordQueue: envInt(env, 'SKYBUS_FRONTEND_PASSWORD_QUEUE'),
    auditTtlDays: envInt(env, 'SKYBUS_FRONTEND_AUDIT_TTL_DAYS'),
    rateLimit: {
      windowSeconds: envInt(env, 'SKYBUS_FRONTEND_RATE_WINDOW_S'),
      perTenant: envInt(env, 'SKYBUS_FRONTEND_RATE_PER_TENANT'),
      perClient: envInt(env, 'SKYBUS_FRONTEND_RATE_PER_CLIENT'),
    } as RateLimitConfig,
    machineLimits: {
      maxCpu: envInt(env, 'SKYBUS_FRONTEND_MAX_CPU'),
      maxMemoryKiB: envInt(env, 'SKYBUS_FRONTEND_MAX_MEMORY_KIB'),
      maxDisks: envInt(env, 'SKYBUS_FRONTEND_MAX_DISKS'),
      maxDiskKiB: envInt(env, 'SKYBUS_FRONTEND_MAX_DISK_KIB'),
      diskFormats: envList(env, 'SKYBUS_FRONTEND_DISK_FORMATS'),
      tenantInlineConfig: envBool(env, 'SKYBUS_FRONTEND_TENANT_INLINE_CONFIG'),
    } as MachineLimits,
    hostLiveness: hostLivenessFromEnv(env),
    listenHost: env.SKYBUS_FRONTEND_HOST || undefined,
    listenPort: envInt(env, 'SKYBUS_FRONTEND_PORT'),
    publicBaseUrl: env.SKYBUS_FRONTEND_PUBLIC_URL || undefined,
    bodyLimitBytes: envInt(env, 'SKYBUS_FRONTEND_BODY_LIMIT'),
    defaultPageSize: envInt(env, 'SKYBUS_FRONTEND_PAGE_SIZE'),
    maxPageSize: envInt(env, 'SKYBUS_FRONTEND_MAX_PAGE_SIZE'),
    ...overrides,
  });
}
