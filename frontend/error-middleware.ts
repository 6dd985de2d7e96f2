/**
 * The one error handler: SkybusError -> its status with a CIMI-style body
 * {resourceURI: .../Error, status, code, message} (XML when the client asked for XML); body-reader
 * errors (too large, aborted, bad encoding) -> 413/400/415; anything else -> 500 with a generic
 * message (the stack goes to the log, never to the client).
 */
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import {
  NotFoundError, PayloadTooLargeError, SkybusError, UnsupportedMediaTypeError, ValidationError, isSkybusError,
} from '../errors/registry.js';
import type { Logger } from '../observability/logger.js';
import { acceptedFormat, sendCimi } from './cimi/negotiate.js';
import { resourceUri } from './cimi/uris.js';

interface HttpishError { status?: unknown; statusCode?: unknown; type?: unknown; expose?: unknown }

/** Messages longer than this are cut (a message may quote client input). */
const MAX_MESSAGE = 1024;

function classify(err: unknown): SkybusError | null {
  if (isSkybusError(err)) {
    // A store's own value check speaks in tables and columns: never show those names to a client.
    if (err instanceof ValidationError && err.details?.storeColumn !== undefined) return new ValidationError('a value in the request is too large or not valid');
    return err;
  }
  // A path segment whose percent-encoding does not decode (/api/jobs/%ZZ) is the client's error.
  if (err instanceof URIError) return new ValidationError('the request path is not valid percent-encoded UTF-8');
  const e = (err ?? {}) as HttpishError;
  if (e.type === 'entity.too.large') return new PayloadTooLargeError('request body is too large');
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return new UnsupportedMediaTypeError('unsupported body encoding');
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 0;
  if (status >= 400 && status < 500 && e.expose === true) {
    if (status === 413) return new PayloadTooLargeError('request body is too large');
    if (status === 415) return new UnsupportedMediaTypeError('unsupported media type');
    return new ValidationError('malformed request');
  }
  return null;
}

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => next(new NotFoundError(`no resource at ${req.path}`));
}

/** Retry-After for a 429 or 503 whose error gives no estimate of its own. */
const DEFAULT_RETRY_AFTER_S = 2;

export function errorMiddleware(log: Logger, challenges: (req: Request) => string[]): ErrorRequestHandler {
  return (err: unknown, req: Request, res, next) => {
    const rlog = (res.locals.log as Logger | undefined) ?? log;
    if (res.headersSent) { rlog.error({ err }, 'error after the response started'); next(err); return; }
    let e = classify(err);
    if (!e || e.status >= 500 && (e.code === 'INTERNAL' || e.code === 'CONFIG')) {
      rlog.error({ err }, 'internal error');
      e = new SkybusError('INTERNAL', 'internal server error');
    } else if (e.status >= 500) {
      rlog.warn({ err }, 'request failed');
    }
    if (e.status === 401) res.setHeader('WWW-Authenticate', challenges(req).join(', '));
    // Every 429 and 503 tells the client when to come back: the error's own estimate, else 2 s.
    const retry = e.details?.retryAfterSeconds;
    if (e.status === 429 || e.status === 503) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(typeof retry === 'number' ? retry : DEFAULT_RETRY_AFTER_S))));
    const message = e.message.length > MAX_MESSAGE ? `${e.message.slice(0, MAX_MESSAGE)}...` : e.message;
    const body = { resourceURI: resourceUri('Error'), status: e.status, code: e.code, message };
    sendCimi(req, res, e.status, body, acceptedFormat(req) ?? 'json');
  };
}
