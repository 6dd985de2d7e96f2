/**
 * The audit trail's writer (docs/identity.md, "Audit"): a middleware that records, when a response
 * finishes,
 * - every state-changing request under /api (POST, PUT, DELETE): who, tenant, action (method and
 *   route template), resource (path), outcome and status, source address, request id;
 * - every failed authentication (a 401 or 429 for a request that carried credentials), with the
 *   name it gave;
 * - a successful authentication at most once a minute per user and address on this frontend
 *   (clients send credentials on every request; a row per request would say nothing more).
 * Writes go to the bus after the response, never delaying it; a failed write is logged.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../observability/logger.js';
import type { BusStore } from '../schema/bus-store.js';
import type { AuditEvent } from '../schema/store/audit.js';
import type { Principal } from './auth/authenticator.js';
import { clientAddress, parseBasic } from './auth/basic-credentials.js';

const MUTATING = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);
const SUCCESS_EVERY_MS = 60_000;
const MAX_REMEMBERED = 10_000;

/** The name a request's credentials claim (for failed logins): the Basic user-id, cut to 256 characters. */
function claimedName(req: Request): string {
  const c = parseBasic(req.get('authorization'));
  if (c.kind === 'basic') return c.name.slice(0, 256);
  return /^bearer\s/i.test(req.get('authorization') ?? '') ? '(api key)' : '';
}

export function auditTrail(store: BusStore, ttlSeconds: number, log: Logger): RequestHandler {
  const lastSuccess = new Map<string, number>();
  const write = (e: Omit<AuditEvent, 'id'>) => {
    store.audit.append(e, ttlSeconds).catch((err: unknown) => log.warn({ err, action: e.action }, 'audit write failed'));
  };
  return (req: Request, res: Response, next) => {
    res.on('finish', () => {
      const now = Date.now();
      const p = res.locals.principal as Principal | undefined;
      const address = clientAddress(req);
      const requestId = String(res.getHeader('x-request-id') ?? '');
      const status = res.statusCode;
      const hadCredentials = req.get('authorization') !== undefined;
      if (!p && hadCredentials && (status === 401 || status === 429)) {
        write({ ts: now, actor: claimedName(req), tenant: '', action: 'login', resource: '', outcome: status === 429 ? 'throttled' : 'failure', status, address, requestId });
      }
      if (p) {
        const key = `${p.name}\0${address}`;
        const last = lastSuccess.get(key);
        if (last === undefined || now - last >= SUCCESS_EVERY_MS) {
          if (lastSuccess.size >= MAX_REMEMBERED) lastSuccess.delete(lastSuccess.keys().next().value!);
          lastSuccess.delete(key);
          lastSuccess.set(key, now);
          write({ ts: now, actor: p.name, tenant: p.tenant, action: 'login', resource: '', outcome: 'success', status: 200, address, requestId });
        }
      }
      if (MUTATING.has(req.method) && req.originalUrl.startsWith('/api/')) {
        const route = (res.locals.routeTemplate as string | undefined) ?? 'unmatched';
        write({
          ts: now, actor: p?.name ?? claimedName(req), tenant: p?.tenant ?? '', action: `${req.method} ${route}`,
          resource: req.originalUrl.split('?')[0].slice(0, 512),
          outcome: status < 400 ? 'success' : 'failure', status, address, requestId,
        });
      }
    });
    next();
  };
}
