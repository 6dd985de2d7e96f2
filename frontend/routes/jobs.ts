/**
 * /api/jobs: the tenant's jobs, newest first, each settled as it is read (job-settlement.ts).
 *   GET /jobs       collection ($filter $first $last $orderby $select)
 *   GET /jobs/:id   Job (404 for unknown, malformed or another tenant's)
 */
import { Router } from 'express';
import { NotFoundError } from '../../errors/registry.js';
import { isId } from '../../schema/ids.js';
import { principalOf } from '../auth/authenticator.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery, storePages } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { collectionUrl } from '../cimi/uris.js';
import { settleJob } from '../job-settlement.js';
import { jobView } from '../job-view.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

export function jobRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  defineRoute(r, mountedAt, '/jobs', {
    get: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const q = parseCollectionQuery(req, config);
      const pages = storePages((pageState) => store.jobs.listByTenant(who.tenant, { limit: 200, pageState }));
      const result = await runCollectionQuery(pages, q, async (j) => jobView(await settleJob(store, j), base));
      const id = collectionUrl(base, 'jobs');
      sendCimi(req, res, 200, collectionBody({ type: 'JobCollection', id, member: 'jobs', result, q, next: nextWindowQuery(req, q, result.count) }));
    },
  });
  defineRoute(r, mountedAt, '/jobs/:id', {
    get: async (req, res) => {
      const who = principalOf(res);
      const id = req.params.id as string;
      const job = isId(id) ? await store.jobs.get(id) : null;
      if (!job || job.tenant !== who.tenant) throw new NotFoundError(`no job ${id}`);
      sendCimi(req, res, 200, jobView(await settleJob(store, job), baseUrl(req, config)));
    },
  });
  return r;
}
