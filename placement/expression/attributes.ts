/**
 * The host attributes an expression may read, their types, and how each is read from HostFacts.
 * Lookups go through this fixed table: a name in an expression never becomes a property access.
 */
import type { HostFacts } from '../policy.js';

export type ValueType = 'number' | 'string' | 'boolean';

/** A value during evaluation; `undefined` is "absent" (a missing label or load, an undefined result). */
export type Value = number | string | boolean | undefined;

const ATTRIBUTES: Record<string, { type: 'number' | 'string'; read: (f: HostFacts) => number | string | undefined }> = {
  id: { type: 'string', read: (f) => f.id },
  name: { type: 'string', read: (f) => f.name },
  arch: { type: 'string', read: (f) => f.arch },
  cpu: { type: 'number', read: (f) => f.cpu },
  memory: { type: 'number', read: (f) => f.memory },
  'used.cpu': { type: 'number', read: (f) => f.used.cpu },
  'used.memory': { type: 'number', read: (f) => f.used.memory },
  'free.cpu': { type: 'number', read: (f) => f.free.cpu },
  'free.memory': { type: 'number', read: (f) => f.free.memory },
  machines: { type: 'number', read: (f) => f.machines },
  'load.cpu': { type: 'number', read: (f) => f.load?.cpu },
  'load.memory': { type: 'number', read: (f) => f.load?.memory },
  'machine.cpu': { type: 'number', read: (f) => f.machine.cpu },
  'machine.memory': { type: 'number', read: (f) => f.machine.memory },
};

export const ATTRIBUTE_NAMES: readonly string[] = Object.keys(ATTRIBUTES);

export function attributeType(name: string): 'number' | 'string' | null {
  return Object.prototype.hasOwnProperty.call(ATTRIBUTES, name) ? ATTRIBUTES[name].type : null;
}

/** The attribute's value for the host; absent for an unknown name, a missing load, a non-finite number. */
export function readAttribute(name: string, facts: HostFacts): number | string | undefined {
  if (!Object.prototype.hasOwnProperty.call(ATTRIBUTES, name)) return undefined;
  const v = ATTRIBUTES[name].read(facts);
  return typeof v === 'number' && !Number.isFinite(v) ? undefined : v;
}

/** The label's value, or absent when the host has no such label (own properties only: never `__proto__` and kin). */
export function readLabel(key: string, facts: HostFacts): string | undefined {
  return Object.prototype.hasOwnProperty.call(facts.labels, key) ? facts.labels[key] : undefined;
}
