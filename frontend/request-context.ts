/**
 * Per-request plumbing: a request id (X-Request-Id, echoed), a child logger bound to it, metrics by
 * route template, and the base URL absolute ids are built from.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ValidationError } from '../errors/registry.js';
import type { Logger } from '../observability/logger.js';
import type { SkybusMetrics } from '../observability/metrics.js';
import type { FrontendConfig } from './config.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

export function requestContext(log: Logger, metrics: SkybusMetrics): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    // Express 5's req.query is a getter that parses the query string again on every read, and a
    // collection read looks at it several times: with up to 1000 keys of malformed escapes
    // (a%41%=...) that was ~60 ms of CPU per request. Parse it once, here.
    Object.defineProperty(req, 'query', { value: req.query, writable: true, enumerable: true, configurable: true });
    const given = req.get('x-request-id');
    const reqId = given && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', reqId);
    const rlog = log.child({ reqId });
    res.locals.log = rlog;
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (res.locals.routeTemplate as string | undefined) ?? 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ method: req.method, route }, seconds);
      rlog.debug({ method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request');
    });
    next();
  };
}

export function requestLog(res: Response): Logger {
  return res.locals.log as Logger;
}

/** Remembers the matched route template (for metrics and logs). */
export function markRoute(template: string): RequestHandler {
  return (_req, res, next) => { res.locals.routeTemplate = template; next(); };
}

/** Scheme://host[:port] that absolute URLs start with: the configured public URL, else from the request. */
export function baseUrl(req: Request, cfg: FrontendConfig): string {
  if (cfg.publicBaseUrl) return cfg.publicBaseUrl;
  const host = req.get('host') ?? '';
  if (!HOST.test(host)) throw new ValidationError('the Host header is missing or malformed');
  return `${req.protocol}://${host}`;
}
