/** Which representation a client gets (Accept), and sending one. JSON unless the client prefers XML. */
import type { Request, Response } from 'express';
import { NotAcceptableError } from '../../errors/registry.js';
import { JSON_TYPE, toCimiJson } from './serialize-json.js';
import { XML_TYPE, toCimiXml } from './serialize-xml.js';

export type Format = 'json' | 'xml';

/** null when the Accept header admits neither representation. */
export function acceptedFormat(req: Request): Format | null {
  if (!req.get('accept')) return 'json';
  const t = req.accepts([JSON_TYPE, XML_TYPE, 'text/xml']);
  if (t === false) return null;
  return t === JSON_TYPE ? 'json' : 'xml';
}

export function responseFormat(req: Request): Format {
  const f = acceptedFormat(req);
  if (f === null) throw new NotAcceptableError('this API serves application/json and application/xml');
  return f;
}

export function sendCimi(req: Request, res: Response, status: number, body: Record<string, unknown>, format?: Format): void {
  const f = format ?? responseFormat(req);
  res.status(status);
  res.vary('Accept');
  if (f === 'xml') res.type(XML_TYPE).send(toCimiXml(body));
  else res.type(JSON_TYPE).send(toCimiJson(body));
}
