/**
 * HTTP Basic credentials (RFC 7617) parsed strictly, and a passport strategy built on that parser
 * for every directory that checks a name and a password (local users, LDAP).
 *
 *   Authorization: Basic <token68>      scheme matched as a whole token, case-insensitively;
 *                                       exactly one token after it, nothing else;
 *   token68 = base64(user-id ":" password)   split at the FIRST colon: a user-id has none, a
 *                                       password may contain any number.
 * A header with another scheme (Bearer ...) is not ours: the strategy fails without a verdict so
 * the next authenticator can try. A Basic header that breaks these rules is refused.
 */
import type { Request } from 'express';
import passport from 'passport';
import type { Principal } from './authenticator.js';

export type BasicParse =
  | { kind: 'absent' }
  | { kind: 'malformed'; why: string }
  | { kind: 'basic'; name: string; password: string };

const MAX_HEADER = 8192;

function isToken68Char(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f || c === 0x3d;
}

export function parseBasic(header: string | undefined): BasicParse {
  if (header === undefined || header === '') return { kind: 'absent' };
  if (header.length > MAX_HEADER) return { kind: 'malformed', why: 'the Authorization header is too long' };
  const sp = header.indexOf(' ');
  const scheme = sp < 0 ? header : header.slice(0, sp);
  if (scheme.toLowerCase() !== 'basic') return { kind: 'absent' };
  let i = sp < 0 ? header.length : sp;
  while (i < header.length && header[i] === ' ') i++;
  const token = header.slice(i);
  if (token.length === 0) return { kind: 'malformed', why: 'Basic credentials are missing' };
  for (let j = 0; j < token.length; j++) {
    if (!isToken68Char(token.charCodeAt(j))) return { kind: 'malformed', why: 'Basic credentials must be one base64 token' };
  }
  const eq = token.indexOf('=');
  if ((eq >= 0 && /[^=]/.test(token.slice(eq))) || token.length % 4 !== 0) return { kind: 'malformed', why: 'Basic credentials are not valid base64' };
  const bytes = Buffer.from(token, 'base64');
  if (bytes.toString('base64') !== token) return { kind: 'malformed', why: 'Basic credentials are not valid base64' };
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').compare(bytes) !== 0) return { kind: 'malformed', why: 'Basic credentials are not UTF-8' };
  const colon = text.indexOf(':');
  if (colon < 0) return { kind: 'malformed', why: 'Basic credentials need user-id:password' };
  return { kind: 'basic', name: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Checks a name and password (from the client at `address`): the principal, or null when they do not authenticate. */
export type VerifyBasic = (name: string, password: string, address: string) => Promise<Principal | null>;

/** The client's address as the frontend sees it (express's req.ip: the socket, or X-Forwarded-For with 'trust proxy'). */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** A passport strategy over parseBasic: success with the principal, fail (401) otherwise. */
export class StrictBasicStrategy extends passport.Strategy {
  constructor(override readonly name: string, private readonly realm: string, private readonly verify: VerifyBasic) {
    super();
  }

  override authenticate(req: Request): void {
    const c = parseBasic(req.get('authorization'));
    const challenge = `Basic realm="${this.realm}"`;
    if (c.kind !== 'basic') { this.fail(challenge, 401); return; }
    this.verify(c.name, c.password, clientAddress(req)).then(
      (user) => (user ? this.success(user) : this.fail(challenge, 401)),
      (e: unknown) => this.error(e as Error),
    );
  }
}
