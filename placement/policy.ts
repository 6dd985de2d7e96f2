/**
 * The placement policy operators tune live (docs/placement.md): what it may say, its validation
 * (every error a 400 naming the field, before anything is stored) and its compiled form, which the
 * pure chooseHosts uses. The stored row is versioned (schema/store/placement-policies.ts); placers
 * read it every cycle and compile each version once (policy-source.ts).
 */
import { ValidationError } from '../errors/registry.js';
import type { Host } from '../schema/types.js';
import type { Ratios } from './choose-host.js';

export const WEIGHERS = ['packing', 'striping', 'load-aware', 'rank'] as const;
export type Weigher = (typeof WEIGHERS)[number];

export interface HostGroupPolicy {
  name: string;
  /** A host is in the group when it has every one of these labels (first matching group wins). */
  labels: Record<string, string>;
  cpuAllocationRatio: number | null;
  ramAllocationRatio: number | null;
}

export interface PolicyLimits {
  /** At most this many machines claimed on one host within `windowSeconds` (null: no limit). */
  perHost: number | null;
  /** At most this many machines claimed fleet-wide within `windowSeconds`, per placer (null: no limit). */
  global: number | null;
  windowSeconds: number;
}

export interface PolicyDoc {
  weigher: Weigher;
  /** The rank expression (weigher 'rank'; higher is better). */
  rank: string | null;
  /** A requirement expression every host must meet, for every machine (null: none). */
  requirements: string | null;
  cpuAllocationRatio: number;
  ramAllocationRatio: number;
  hostGroups: HostGroupPolicy[];
  limits: PolicyLimits;
  /**
   * With several placers, each machine's placer tries the hosts home to it first (ownership.ts), then
   * the rest, each in weigher order: placers rarely race for one host. False: every host in weigher
   * order alone (the policy's order exactly, at the cost of claim conflicts between placers).
   */
  homeHosts: boolean;
}

/** The expression language's entry points (placement/expression), injected so this file stays small. */
export interface ExpressionEngine {
  /** Throws ValidationError (with position) when the source is not a valid requirement. */
  checkRequirement(src: string, label: string): void;
  checkRank(src: string, label: string): void;
  requirement(src: string): (facts: HostFacts) => boolean;
  rank(src: string): (facts: HostFacts) => number;
}

/** What expressions may read of a host, for one machine being placed. */
export interface HostFacts {
  id: string;
  name: string;
  arch: string;
  labels: Record<string, string>;
  cpu: number;
  memory: number;
  used: { cpu: number; memory: number };
  free: { cpu: number; memory: number };
  machines: number;
  load: { cpu: number; memory: number } | null;
  machine: { cpu: number; memory: number };
}

export function defaultPolicy(r: Ratios = { cpuAllocationRatio: 4, ramAllocationRatio: 1 }, weigher: Weigher = 'packing'): PolicyDoc {
  return {
    weigher, rank: null, requirements: null, cpuAllocationRatio: r.cpuAllocationRatio, ramAllocationRatio: r.ramAllocationRatio,
    hostGroups: [], limits: { perHost: null, global: null, windowSeconds: 30 }, homeHosts: true,
  };
}

type Body = Record<string, unknown>;

const KNOWN = ['weigher', 'rank', 'requirements', 'cpuAllocationRatio', 'ramAllocationRatio', 'hostGroups', 'limits', 'homeHosts'];

function fail(field: string, what: string): never {
  throw new ValidationError(`PlacementPolicy.${field} ${what}`, { field: `PlacementPolicy.${field}` });
}

function ratio(v: unknown, field: string, nullable: boolean): number | null {
  if (v === undefined || v === null) { if (nullable) return null; fail(field, 'is required'); }
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 64) fail(field, `must be a number > 0 and <= 64 (got ${JSON.stringify(v)})`);
  return v;
}

function limit(v: unknown, field: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1_000_000) fail(field, `must be an integer from 1 to 1000000, or null (got ${JSON.stringify(v)})`);
  return v;
}

function labelsOf(v: unknown, field: string): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'must be a map of label to value');
  const out: Record<string, string> = {};
  const entries = Object.entries(v as Body);
  if (entries.length === 0) fail(field, 'must name at least one label');
  for (const [k, x] of entries) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/.test(k)) fail(`${field}.${k}`, 'is not a label name (letters, digits, . _ / -; at most 63)');
    if (typeof x !== 'string' || x.length > 255) fail(`${field}.${k}`, 'must be a string of at most 255 characters');
    out[k] = x;
  }
  return out;
}

/** A policy from a client's body: every field checked, expressions parsed and type-checked. Pure. */
export function parsePolicyBody(body: unknown, engine: ExpressionEngine): PolicyDoc {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('PlacementPolicy must be an object');
  const b = body as Body;
  for (const k of Object.keys(b)) {
    if (!KNOWN.includes(k) && !['resourceURI', 'id', 'version', 'updated', 'updatedBy', 'operations'].includes(k)) fail(k, `is not a policy field (known: ${KNOWN.join(', ')})`);
  }
  const d = defaultPolicy();
  const weigher = b.weigher ?? d.weigher;
  if (typeof weigher !== 'string' || !(WEIGHERS as readonly string[]).includes(weigher)) fail('weigher', `must be one of ${WEIGHERS.join(', ')}`);
  const text = (v: unknown, field: string): string | null => {
    if (v === undefined || v === null || v === '') return null;
    if (typeof v !== 'string') fail(field, 'must be a string');
    return v;
  };
  const rank = text(b.rank, 'rank');
  const requirements = text(b.requirements, 'requirements');
  if (weigher === 'rank' && rank === null) fail('rank', "is required with weigher 'rank'");
  if (rank !== null) engine.checkRank(rank, 'PlacementPolicy.rank');
  if (requirements !== null) engine.checkRequirement(requirements, 'PlacementPolicy.requirements');
  const groupsIn = b.hostGroups ?? [];
  if (!Array.isArray(groupsIn) || groupsIn.length > 100) fail('hostGroups', 'must be a list of at most 100 host groups');
  const names = new Set<string>();
  const hostGroups = groupsIn.map((g: unknown, i: number): HostGroupPolicy => {
    const f = `hostGroups[${i}]`;
    if (typeof g !== 'object' || g === null || Array.isArray(g)) fail(f, 'must be an object');
    const gb = g as Body;
    for (const k of Object.keys(gb)) if (!['name', 'labels', 'cpuAllocationRatio', 'ramAllocationRatio'].includes(k)) fail(`${f}.${k}`, 'is not a host group field');
    if (typeof gb.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(gb.name)) fail(`${f}.name`, 'must be 1-63 letters, digits, dot, dash or underscore');
    if (names.has(gb.name)) fail(`${f}.name`, `repeats the group '${gb.name}'`);
    names.add(gb.name);
    return {
      name: gb.name, labels: labelsOf(gb.labels, `${f}.labels`),
      cpuAllocationRatio: ratio(gb.cpuAllocationRatio, `${f}.cpuAllocationRatio`, true),
      ramAllocationRatio: ratio(gb.ramAllocationRatio, `${f}.ramAllocationRatio`, true),
    };
  });
  const lim = b.limits ?? {};
  if (typeof lim !== 'object' || lim === null || Array.isArray(lim)) fail('limits', 'must be an object');
  const lb = lim as Body;
  for (const k of Object.keys(lb)) if (!['perHost', 'global', 'windowSeconds'].includes(k)) fail(`limits.${k}`, 'is not a limit (perHost, global, windowSeconds)');
  const windowSeconds = lb.windowSeconds ?? 30;
  if (typeof windowSeconds !== 'number' || !Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > 3600) fail('limits.windowSeconds', 'must be an integer from 1 to 3600');
  const homeHosts = b.homeHosts ?? d.homeHosts;
  if (typeof homeHosts !== 'boolean') fail('homeHosts', 'must be true or false');
  return {
    homeHosts,
    weigher: weigher as Weigher, rank, requirements,
    cpuAllocationRatio: ratio(b.cpuAllocationRatio ?? d.cpuAllocationRatio, 'cpuAllocationRatio', false)!,
    ramAllocationRatio: ratio(b.ramAllocationRatio ?? d.ramAllocationRatio, 'ramAllocationRatio', false)!,
    hostGroups, limits: { perHost: limit(lb.perHost, 'limits.perHost'), global: limit(lb.global, 'limits.global'), windowSeconds },
  };
}

/** The policy as chooseHosts uses it. */
export interface CompiledPolicy {
  /** The stored version (0: the built-in default from start-up settings, nothing stored yet). */
  version: number;
  doc: PolicyDoc;
  /** The host's group (null: none) and the ratios that apply to it. */
  groupOf(h: Host): HostGroupPolicy | null;
  ratiosOf(h: Host): Ratios;
  requirement: ((f: HostFacts) => boolean) | null;
  rank: ((f: HostFacts) => number) | null;
}

export function compilePolicy(doc: PolicyDoc, version: number, engine: ExpressionEngine | null): CompiledPolicy {
  const noGroups = doc.hostGroups.length === 0;
  const groupOf = (h: Host) => (noGroups ? null : doc.hostGroups.find((g) => Object.entries(g.labels).every(([k, v]) => h.labels[k] === v)) ?? null);
  const base: Ratios = { cpuAllocationRatio: doc.cpuAllocationRatio, ramAllocationRatio: doc.ramAllocationRatio };
  return {
    version, doc, groupOf,
    ratiosOf(h) {
      if (noGroups) return base;
      const g = groupOf(h);
      return { cpuAllocationRatio: g?.cpuAllocationRatio ?? doc.cpuAllocationRatio, ramAllocationRatio: g?.ramAllocationRatio ?? doc.ramAllocationRatio };
    },
    requirement: doc.requirements && engine ? engine.requirement(doc.requirements) : null,
    rank: doc.rank && engine ? engine.rank(doc.rank) : null,
  };
}

/** The policy as a client reads it (the API, the CLI). */
export function policyView(doc: PolicyDoc, version: number, updated: number | null, updatedBy: string | null): Record<string, unknown> {
  return { version, ...doc, ...(updated ? { updated: new Date(updated).toISOString() } : {}), ...(updatedBy ? { updatedBy } : {}) };
}
