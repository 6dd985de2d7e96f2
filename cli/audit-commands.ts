/** skybus audit list: the audit trail, read from the bus directly (an operator command, like `user add`). */
import type { Argv } from 'yargs';
import { ValidationError } from '../errors/registry.js';
import { openStore } from '../schema/bus-store.js';
import type { AuditEvent } from '../schema/store/audit.js';
import { table } from './output.js';
import { storeConfigOf, storeOptions } from './store-options.js';

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** '90m', '24h', '7d' (before now), or an ISO-8601 time. */
export function parseSince(v: string, now: number): number {
  const rel = /^(\d{1,6})([mhd])$/.exec(v);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]];
  const t = v.length <= 40 ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw new ValidationError(`'${v.slice(0, 60)}' is not a time: give 90m, 24h, 7d or an ISO-8601 time`);
  return t;
}

export function auditCommands<T>(y: Argv<T>): Argv<T> {
  return y.command('audit list', 'the audit trail: logins and state changes, newest first', (a) => storeOptions(a)
    .option('since', { type: 'string', default: '24h', describe: 'from: 90m, 24h, 7d or an ISO time' })
    .option('until', { type: 'string', describe: 'to (default now): an ISO time' })
    .option('user', { type: 'string', describe: 'only this actor' })
    .option('limit', { type: 'number', default: 1000 })
    .option('json', { type: 'boolean', default: false }),
  async (a) => {
    const now = Date.now();
    const since = parseSince(a.since, now);
    const until = a.until ? parseSince(a.until, now) : now + 1;
    if (since >= until) throw new ValidationError('--since must be before --until');
    if (until - since > 31 * UNIT_MS.d) throw new ValidationError('a read covers at most 31 days: narrow --since/--until');
    if (!Number.isInteger(a.limit) || a.limit < 1 || a.limit > 100_000) throw new ValidationError('--limit must be 1..100000');
    const s = await openStore(storeConfigOf(a));
    const out: AuditEvent[] = [];
    try {
      for await (const page of s.audit.between(since, until)) {
        for (const e of page) if (!a.user || e.actor === a.user) out.push(e);
        if (out.length >= a.limit) break;
      }
    } finally { await s.close(); }
    const rows = out.slice(0, a.limit).map((e) => ({ time: new Date(e.ts).toISOString(), actor: e.actor, tenant: e.tenant, action: e.action, resource: e.resource, outcome: e.outcome, status: e.status, address: e.address, requestId: e.requestId }));
    process.stdout.write((a.json ? JSON.stringify(rows, null, 2) : table(rows, ['time', 'actor', 'tenant', 'action', 'resource', 'outcome', 'status', 'address'])) + '\n');
  });
}
