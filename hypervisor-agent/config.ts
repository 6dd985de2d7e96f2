/** The hypervisor agent's configuration: validated once, with defaults, then passed down. */
import { homedir, hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../errors/registry.js';
import { checkHostId } from '../schema/store/hosts.js';
import { TRANSITIONAL_STATES, type Deadlines } from './deadlines.js';

export type OrphanPolicy = 'report' | 'destroy';
/** What fencing does to a guest (docs/lifecycle.md, "Self-fencing"). */
export type FenceAction = 'destroy' | 'pause';
/** Which guests fencing touches: the highly available ones (the only ones restarted elsewhere), or all. */
export type FenceScope = 'ha' | 'all';

export interface AgentConfig {
  /** The host's id on the bus (default: the machine's hostname). */
  hostId: string;
  /** libvirt connection URI (default test:///default). */
  libvirtUri: string;
  /** Reconcile every intervalMs. */
  intervalMs: number;
  /** The host lease's time to live; renewed every cycle. */
  leaseTtlSeconds: number;
  /** How long a graceful shutdown may take before the domain is destroyed. */
  stopGraceMs: number;
  /** What to do with a prefixed domain that has no machine row. */
  orphanPolicy: OrphanPolicy;
  /** Overlay disks, save files and console logs live here. */
  workDir: string;
  /**
   * Captured machine images are written here (docs/capture.md): `<image id>.qcow2`. Machines made
   * from them are backed by these files, so every host that may run such a machine must reach the
   * same path (shared storage, or the same directory on one box). Default ~/.skybus/images.
   */
  imageDir: string;
  /** The longest a disk copy (qemu-img convert) of a capture may take. */
  captureTimeoutMs: number;
  /**
   * How often accounting (accounting.ts) counts each machine's CPU time into its usage_records. The
   * name predates host monitoring (monitorIntervalMs), which took over the samples it once wrote.
   */
  metricsEveryMs: number;
  /**
   * Host monitoring (host-monitor.ts): one sample of the host and all its machines every this many
   * ms, one row on the bus (docs/data-model.md, "Host monitoring"). 0 turns it off; otherwise
   * 1000..900000 (a sample partition holds an hour: 3,600 rows at most; hourly rollups need several
   * samples an hour). Default 10000.
   */
  monitorIntervalMs: number;
  /** One accounting record per machine per aligned period of this many seconds. */
  accountingPeriodSeconds: number;
  /** Names of the domains this agent manages start with it. */
  domainPrefix: string;
  /** Host labels published at registration (placement matches machine requirements on them). */
  labels: Record<string, string>;
  /** Every fullResyncEvery cycles, status is re-written even when nothing changed. */
  fullResyncEvery: number;
  /**
   * A machine whose action keeps failing is retried after 1, 2, 4, ... cycle intervals, at most this
   * long apart (backoff.ts). At least intervalMs; default 5 minutes.
   */
  backoffMaxMs: number;
  /**
   * Self-fencing (fencing.ts): no heartbeat on the bus for this long and the agent destroys (or
   * pauses) its guests in fenceScope, then acts on nothing until it holds the lease again. At least
   * the lease TTL (heartbeats go every third of it); default 30 s or twice the lease TTL, whichever is longer.
   */
  fenceAfterMs: number;
  fenceAction: FenceAction;
  fenceScope: FenceScope;
  /**
   * The longest the agent waits for one libvirt call before it reports it as not returned (the call
   * cannot be cancelled; nothing else is started on that domain until it returns). Default 60 s.
   */
  libvirtCallTimeoutMs: number;
  /**
   * How long a machine's current generation may stay unconverged on this host, per transitional
   * state, before status.error says so (docs/lifecycle.md, "Deadlines"). Defaults: STARTING 5 min,
   * STOPPING stopGraceMs + 2 min, PAUSING 2 min, SUSPENDING 10 min, DELETING 5 min.
   */
  deadlinesMs: Deadlines;
}

export type AgentConfigInput = Partial<Omit<AgentConfig, 'deadlinesMs'>> & { deadlinesMs?: Partial<Deadlines> };

/** The default deadlines (docs/lifecycle.md gives the reasons). */
export function defaultDeadlines(stopGraceMs: number): Deadlines {
  return {
    STARTING: 5 * 60_000,
    STOPPING: stopGraceMs + 2 * 60_000,
    PAUSING: 2 * 60_000,
    SUSPENDING: 10 * 60_000,
    DELETING: 5 * 60_000,
  };
}

function defaultHostId(): string {
  const h = hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (h || 'localhost').slice(0, 128);
}

function positiveInt(v: unknown, what: string, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ConfigError(`${what} must be an integer >= ${min} (got ${String(v)})`);
  return v;
}

/** Validate and fill in defaults. Throws ConfigError naming the bad field. */
export function agentConfig(input: AgentConfigInput = {}): AgentConfig {
  const hostId = input.hostId ?? defaultHostId();
  try { checkHostId(hostId); } catch (e) { throw new ConfigError(`hostId: ${(e as Error).message}`); }
  const libvirtUri = input.libvirtUri ?? 'test:///default';
  if (typeof libvirtUri !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\//i.test(libvirtUri)) throw new ConfigError(`libvirtUri must be a libvirt URI like qemu:///system or test:///default (got '${String(libvirtUri)}')`);
  const orphanPolicy = input.orphanPolicy ?? 'report';
  if (orphanPolicy !== 'report' && orphanPolicy !== 'destroy') throw new ConfigError(`orphanPolicy must be 'report' or 'destroy' (got '${String(orphanPolicy)}')`);
  const workDir = input.workDir ?? join(homedir(), '.skybus', 'agent', hostId);
  if (typeof workDir !== 'string' || !isAbsolute(workDir)) throw new ConfigError(`workDir must be an absolute path (got '${String(workDir)}')`);
  const imageDir = input.imageDir ?? join(homedir(), '.skybus', 'images');
  if (typeof imageDir !== 'string' || !isAbsolute(imageDir)) throw new ConfigError(`imageDir must be an absolute path (got '${String(imageDir)}')`);
  const domainPrefix = input.domainPrefix ?? 'skybus-';
  if (typeof domainPrefix !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/.test(domainPrefix)) throw new ConfigError(`domainPrefix must be 1-32 letters, digits, dot, dash or underscore (got '${String(domainPrefix)}')`);
  const labels = input.labels ?? {};
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) throw new ConfigError('labels must be a map of strings');
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== 'string' || !k) throw new ConfigError(`label '${k}' must have a string value`);
  }
  const intervalMs = positiveInt(input.intervalMs ?? 1000, 'intervalMs', 10);
  const fenceAction = input.fenceAction ?? 'destroy';
  if (fenceAction !== 'destroy' && fenceAction !== 'pause') throw new ConfigError(`fenceAction must be 'destroy' or 'pause' (got '${String(fenceAction)}')`);
  const fenceScope = input.fenceScope ?? 'ha';
  if (fenceScope !== 'ha' && fenceScope !== 'all') throw new ConfigError(`fenceScope must be 'ha' or 'all' (got '${String(fenceScope)}')`);
  const stopGraceMs = positiveInt(input.stopGraceMs ?? 30_000, 'stopGraceMs', 0);
  const given = input.deadlinesMs ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new ConfigError('deadlinesMs must be a map of transitional state to milliseconds');
  for (const k of Object.keys(given)) {
    if (!(TRANSITIONAL_STATES as readonly string[]).includes(k)) throw new ConfigError(`deadlinesMs: '${k}' is not one of ${TRANSITIONAL_STATES.join(', ')}`);
  }
  const monitorIntervalMs = input.monitorIntervalMs ?? 10_000;
  if (monitorIntervalMs !== 0 && (!Number.isInteger(monitorIntervalMs) || monitorIntervalMs < 1000 || monitorIntervalMs > 900_000)) {
    throw new ConfigError(`monitorIntervalMs must be 0 (off) or an integer from 1000 to 900000 (got ${String(monitorIntervalMs)})`);
  }
  const defaults = defaultDeadlines(stopGraceMs);
  const deadlinesMs = Object.fromEntries(TRANSITIONAL_STATES.map((k) => [k, positiveInt(given[k] ?? defaults[k], `deadlinesMs.${k}`, 100)])) as Deadlines;
  const cfg: AgentConfig = {
    hostId,
    libvirtUri,
    intervalMs,
    leaseTtlSeconds: positiveInt(input.leaseTtlSeconds ?? 15, 'leaseTtlSeconds'),
    stopGraceMs,
    orphanPolicy,
    workDir,
    imageDir,
    captureTimeoutMs: positiveInt(input.captureTimeoutMs ?? 30 * 60_000, 'captureTimeoutMs', 1000),
    metricsEveryMs: positiveInt(input.metricsEveryMs ?? 10_000, 'metricsEveryMs', 10),
    monitorIntervalMs,
    accountingPeriodSeconds: positiveInt(input.accountingPeriodSeconds ?? 300, 'accountingPeriodSeconds'),
    domainPrefix,
    labels: { ...labels },
    fullResyncEvery: positiveInt(input.fullResyncEvery ?? 30, 'fullResyncEvery'),
    backoffMaxMs: positiveInt(input.backoffMaxMs ?? Math.max(300_000, intervalMs), 'backoffMaxMs', intervalMs),
    fenceAfterMs: positiveInt(input.fenceAfterMs ?? Math.max(30_000, 2 * 1000 * (input.leaseTtlSeconds ?? 15)), 'fenceAfterMs', 1000),
    fenceAction,
    fenceScope,
    libvirtCallTimeoutMs: positiveInt(input.libvirtCallTimeoutMs ?? 60_000, 'libvirtCallTimeoutMs', 10),
    deadlinesMs,
  };
  if (cfg.fenceAfterMs < cfg.leaseTtlSeconds * 1000) throw new ConfigError(`fenceAfterMs (${cfg.fenceAfterMs}ms) must be at least leaseTtlSeconds (${cfg.leaseTtlSeconds}s): heartbeats go every third of the lease TTL, and a shorter window fences a healthy host`);
  if (cfg.leaseTtlSeconds * 1000 <= cfg.intervalMs) throw new ConfigError(`leaseTtlSeconds (${cfg.leaseTtlSeconds}s) must be longer than intervalMs (${cfg.intervalMs}ms) or the lease lapses between cycles`);
  return cfg;
}

/** 'test' for the libvirt test driver, 'qemu' (TCG) for everything else: KVM hangs on these machines. */
export function domainTypeFor(uri: string): 'test' | 'qemu' {
  return uri.toLowerCase().startsWith('test:') ? 'test' : 'qemu';
}
