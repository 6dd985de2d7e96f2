/** The frontend's settings: defaults, then validation. Built once at start-up and passed to buildApp. */
import { ConfigError } from '../errors/registry.js';

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
}

export const FRONTEND_DEFAULTS: FrontendConfig = {
  listenHost: '127.0.0.1',
  listenPort: 8080,
  publicBaseUrl: null,
  bodyLimitBytes: 256 * 1024,
  defaultPageSize: 100,
  maxPageSize: 1000,
  maxOrderedWindow: 10_000,
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
  return c;
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new ConfigError(`${name} must be an integer, got '${v}'`);
  return Number(v);
}

/** The same, read from SKYBUS_FRONTEND_* variables (HOST, PORT, PUBLIC_URL, BODY_LIMIT, PAGE_SIZE, MAX_PAGE_SIZE). */
export function frontendConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<FrontendConfig> = {}): FrontendConfig {
  return frontendConfig({
    listenHost: env.SKYBUS_FRONTEND_HOST || undefined,
    listenPort: envInt(env, 'SKYBUS_FRONTEND_PORT'),
    publicBaseUrl: env.SKYBUS_FRONTEND_PUBLIC_URL || undefined,
    bodyLimitBytes: envInt(env, 'SKYBUS_FRONTEND_BODY_LIMIT'),
    defaultPageSize: envInt(env, 'SKYBUS_FRONTEND_PAGE_SIZE'),
    maxPageSize: envInt(env, 'SKYBUS_FRONTEND_MAX_PAGE_SIZE'),
    ...overrides,
  });
}
