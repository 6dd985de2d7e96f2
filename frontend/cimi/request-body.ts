/**
 * A CIMI request body: the raw bytes (read, with the size limit, by express.raw before the routes)
 * parsed by Content-Type into a plain object, and checked to be the expected CIMI type.
 */
import type { Request, RequestHandler } from 'express';
import { UnsupportedMediaTypeError, ValidationError } from '../../errors/registry.js';
import { parseCimiXml } from './parse-xml.js';
import { CIMI_BASE } from './uris.js';

function mediaType(req: Request): string | null {
  const ct = req.get('content-type');
  return ct ? ct.split(';')[0].trim().toLowerCase() : null;
}

function isJsonType(t: string): boolean {
  return t === 'application/json' || /^application\/[a-z0-9.+-]*\+json$/.test(t);
}

function isXmlType(t: string): boolean {
  return t === 'application/xml' || t === 'text/xml' || /^application\/[a-z0-9.+-]*\+xml$/.test(t);
}

/**
 * The type names a body of `type` may carry: the type itself and its Create/plain twin. Clients
 * written from the standard's examples and test plans vary: a Machine is created with <MachineCreate>
 * or <Machine>, a template with <MachineTemplate> or <MachineTemplateCreate>.
 */
function acceptedTypes(type: string): string[] {
  return type.endsWith('Create') ? [type, type.slice(0, -'Create'.length)] : [type, `${type}Create`];
}

/** resourceURI is optional; given, its last segment must name the type (any prefix: clients vary). */
function checkResourceUri(body: Record<string, unknown>, type: string): void {
  if (body.resourceURI === undefined) return;
  if (typeof body.resourceURI !== 'string') throw new ValidationError('resourceURI must be a string');
  const last = body.resourceURI.trim().slice(body.resourceURI.trim().lastIndexOf('/') + 1);
  if (!acceptedTypes(type).includes(last)) throw new ValidationError(`resourceURI must be ${CIMI_BASE}${type}`);
}

/**
 * The body as an object of CIMI type `type` (e.g. 'MachineCreate'): JSON must be an object whose
 * resourceURI, if given, names that type; XML must have that root element (and a resourceURI, given
 * as a child element or a root attribute, must name it too).
 */
export function readCimiBody(req: Request, type: string): Record<string, unknown> {
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const t = mediaType(req);
  if (raw.length === 0) throw new ValidationError(`a ${type} request body is required`);
  if (t === null) throw new UnsupportedMediaTypeError('Content-Type is required: application/json or application/xml');
  const text = raw.toString('utf8');
  if (isJsonType(t)) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new ValidationError(`malformed JSON: ${(e as Error).message}`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ValidationError(`the body must be a JSON object (${type})`);
    const body = v as Record<string, unknown>;
    checkResourceUri(body, type);
    return body;
  }
  if (isXmlType(t)) {
    const { root, body } = parseCimiXml(text);
    if (!acceptedTypes(type).includes(root)) throw new ValidationError(`the XML root element must be <${type}>, got <${root}>`);
    checkResourceUri(body, type);
    return body;
  }
  throw new UnsupportedMediaTypeError(`Content-Type ${t.slice(0, 100)} is not supported: use application/json or application/xml`);
}

/**
 * Every state-changing request (POST, PUT) names a JSON or XML media type, even with an empty body:
 * a browser's cross-site form post (urlencoded, multipart or text/plain, sent with cached Basic
 * credentials) can then never trigger an action. 415 otherwise, before any route runs.
 */
export function requireCimiMediaType(): RequestHandler {
  return (req, _res, next) => {
    const t = mediaType(req);
    if (t === null) { next(new UnsupportedMediaTypeError('Content-Type is required on POST and PUT: application/json or application/xml')); return; }
    if (!isJsonType(t) && !isXmlType(t)) { next(new UnsupportedMediaTypeError(`Content-Type ${t.slice(0, 100)} is not supported: use application/json or application/xml`)); return; }
    next();
  };
}
