/**
 * /api/jobs: the tenant's jobs, newest first, each settled as it is read (job-settlement.ts).
 *   GET /jobs       collection ($filter $first $last $orderby $select)
 *   GET /jobs/:id   Job (404 for unknown, malformed or another tenant's)
 *   POST /jobs/:id/stop   Action stop (body optional; must name stop) -> 200 + the STOPPED Job;
 *                         409 naming the state unless it is a queued create (job-stop.ts)
 */
import { Router, type Request } from 'express';
import { NotFoundError, ValidationError } from '../../errors/registry.js';
import { isId } from '../../schema/ids.js';
import { principalOf, type Principal } from '../auth/authenticator.js';
import { checkText, rejectUnknownFields } from '../body-fields.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery, storePages } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { readCimiBody } from '../cimi/request-body.js';
import { actionUri, collectionUrl } from '../cimi/uris.js';
import { settleJob } from '../job-settlement.js';
import { stopJob } from '../job-stop.js';
import { jobView } from '../job-view.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

/** An optional Action body naming stop (compared on its last path segment, case-insensitively). */
function checkStopBody(req: Request): void {
  if (!Buffer.isBuffer(req.body) || req.body.length === 0) return;
  const body = readCimiBody(req, 'Action');
  rejectUnknownFields(body, ['action'], 'Action');
  const a = body.action;
  if (typeof a !== 'string' || a.length === 0 || a.length > 512) throw new ValidationError('Action.action must be an action URI of at most 512 characters', { field: 'action' });
  checkText(a, 'Action.action');
  const last = a.replace(/\/+$/, '').split('/').pop()!.toLowerCase();
  if (last !== 'stop') throw new ValidationError(`Action.action '${a}' is not supported on a job; use ${actionUri('stop')}`, { field: 'action' });
}

async function ownJob(deps: RouteDeps, id: string, who: Principal) {
  const job = isId(id) ? await deps.store.jobs.get(id) : null;
  if (!job || job.tenant !== who.tenant) throw new NotFoundError(`no job ${id}`);
  return job;
}

export function jobRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config, hostConditions } = deps;
  const r = Router();
  defineRoute(r, mountedAt, '/jobs', {
    get: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const q = parseCollectionQuery(req, config);
      const pages = storePages((pageState) => store.jobs.listByTenant(who.tenant, { limit: 200, pageState }));
      const result = await runCollectionQuery(pages, q, async (j) => jobView(await settleJob(store, j, Date.now(), hostConditions), base));
      const id = collectionUrl(base, 'jobs');
      sendCimi(req, res, 200, collectionBody({ type: 'JobCollection', id, member: 'jobs', result, q, next: nextWindowQuery(req, q, result.count) }));
    },
  });
  defineRoute(r, mountedAt, '/jobs/:id', {
    get: async (req, res) => {
      const job = await ownJob(deps, req.params.id as string, principalOf(res));
      sendCimi(req, res, 200, jobView(await settleJob(store, job, Date.now(), hostConditions), baseUrl(req, config)));
    },
  });
  defineRoute(r, mountedAt, '/jobs/:id/stop', {
    post: async (req, res) => {
      const who = principalOf(res);
      const job = await ownJob(deps, req.params.id as string, who);
      checkStopBody(req);
      sendCimi(req, res, 200, jobView(await stopJob(store, who, job), baseUrl(req, config)));
    },
  });
  return r;
}
