/**
 * Usage reports, a Skybus extension resource (docs/data-model.md, "Accounting"):
 *   GET /usage?from=…&to=…[&by=machine|day][&tenant=t|*][&format=json|xml|csv]
 * from/to: ISO 8601 or ms since the epoch; the records whose period starts in [from, to) count.
 * Tenants get their own tenant's report; admins one tenant (tenant=t) or every tenant with usage in
 * the range (tenant=* or none). JSON and XML as negotiated (Accept), CSV with Accept: text/csv or
 * format=csv (a download).
 */
import { Router } from 'express';
import { BadQueryError, ForbiddenError } from '../../errors/registry.js';
import { checkTenantName } from '../../schema/store/accounts.js';
import { isAdmin, principalOf } from '../auth/authenticator.js';
import { sendCimi, type Format } from '../cimi/negotiate.js';
import { API_PREFIX, SKYBUS_NS } from '../cimi/uris.js';
import { queryInstant } from '../query-time.js';
import { baseUrl } from '../request-context.js';
import { usageCsv } from '../usage-csv.js';
import { tenantsWithUsage, tenantUsage, type TenantUsage } from '../usage-report.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

function reportView(r: TenantUsage): Record<string, unknown> {
  return {
    tenant: r.tenant, from: new Date(r.from).toISOString(), to: new Date(r.to).toISOString(), machines: r.machines, totals: r.totals,
    ...(r.byMachine ? {
      byMachine: r.byMachine.map((m) => ({
        machineId: m.machineId, totals: m.totals, moreGaps: m.moreGaps,
        gaps: m.gaps.map((g) => ({ from: new Date(g.from).toISOString(), to: new Date(g.to).toISOString(), unobservedHours: g.unobservedHours })),
      })),
    } : {}),
    ...(r.byDay ? { byDay: r.byDay.map((d) => ({ day: d.day, totals: d.totals })) } : {}),
  };
}

export function usageRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  defineRoute(r, mountedAt, '/usage', {
    get: async (req, res) => {
      const who = principalOf(res);
      const q = req.query as Record<string, unknown>;
      const from = queryInstant(q.from, 'from');
      const to = queryInstant(q.to, 'to');
      if (q.by !== undefined && q.by !== 'machine' && q.by !== 'day' && q.by !== 'tenant') throw new BadQueryError("by must be 'machine', 'day' or 'tenant'");
      const byMachine = q.by === 'machine';
      const byDay = q.by === 'day';
      const format = q.format;
      if (format !== undefined && format !== 'json' && format !== 'xml' && format !== 'csv') throw new BadQueryError("format must be 'json', 'xml' or 'csv'");
      let tenants: string[];
      if (q.tenant === undefined) {
        tenants = isAdmin(who) ? await tenantsWithUsage(store, from, to) : [who.tenant];
      } else if (q.tenant === '*') {
        if (!isAdmin(who)) throw new ForbiddenError('every tenant\'s usage is for admins only');
        tenants = await tenantsWithUsage(store, from, to);
      } else {
        if (typeof q.tenant !== 'string') throw new BadQueryError('tenant must be one name');
        const t = checkTenantName(q.tenant);
        if (t !== who.tenant && !isAdmin(who)) throw new ForbiddenError("a tenant's usage is for that tenant and admins only");
        tenants = [t];
      }
      const reports: TenantUsage[] = [];
      for (const t of tenants) reports.push(await tenantUsage(store, { tenant: t, from, to, byMachine, byDay }));
      const csv = format === 'csv' || (format === undefined && req.accepts(['application/json', 'application/xml', 'text/csv']) === 'text/csv' && !!req.get('accept'));
      if (csv) {
        res.status(200).type('text/csv').attachment(`usage-${tenants.length === 1 ? tenants[0] : 'all'}-${new Date(from).toISOString().slice(0, 10)}.csv`).send(usageCsv(reports));
        return;
      }
      const base = baseUrl(req, config);
      const self = `${base}${API_PREFIX}/usage?${new URLSearchParams(Object.entries(q).filter(([, v]) => typeof v === 'string') as [string, string][]).toString()}`;
      sendCimi(req, res, 200, { resourceURI: `${SKYBUS_NS}/UsageReport`, id: self, count: reports.length, reports: reports.map(reportView) }, format as Format | undefined);
    },
  });
  return r;
}
