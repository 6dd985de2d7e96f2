/**
 * How the frontend learns who is calling. An Authenticator is a middleware that either stores the
 * caller's Principal (setPrincipal) and calls next(), or fails with UnauthenticatedError; its
 * challenges go into WWW-Authenticate on every 401. Local users (HTTP Basic) now; API keys and LDAP
 * can be added as further Authenticators and combined with anyOf().
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ForbiddenError, UnauthenticatedError } from '../../errors/registry.js';

export interface Principal {
  name: string;
  tenant: string;
  roles: string[];
}

export interface Authenticator {
  /** Authenticates the request or passes an UnauthenticatedError to next(). */
  middleware(): RequestHandler;
  /** WWW-Authenticate challenges sent with a 401, e.g. `Basic realm="skybus"`. */
  challenges(): string[];
}

export function setPrincipal(res: Response, p: Principal): void {
  res.locals.principal = p;
}

/**
 * How the principal was authenticated, for routes that care (API-key management: keys are for local
 * users, and only a password login may create one). Unset means another source (e.g. LDAP).
 */
export type AuthSource = { kind: 'local' } | { kind: 'apiKey'; keyId: string };

export function setAuthSource(res: Response, kind: 'local'): void;
export function setAuthSource(res: Response, kind: 'apiKey', keyId: string): void;
export function setAuthSource(res: Response, kind: 'local' | 'apiKey', keyId?: string): void {
  res.locals.authSource = kind === 'local' ? { kind } : { kind, keyId: keyId! };
}

export function authSourceOf(res: Response): AuthSource | null {
  return (res.locals.authSource as AuthSource | undefined) ?? null;
}

/** `auth` with every principal it accepts marked as a local user (wrap localBasicAuth with it). */
export function asLocalUsers(auth: Authenticator): Authenticator {
  return {
    challenges: () => auth.challenges(),
    middleware(): RequestHandler {
      const inner = auth.middleware();
      return (req: Request, res: Response, next: NextFunction) => inner(req, res, (err?: unknown) => {
        if (err === undefined && res.locals.principal && !res.locals.authSource) setAuthSource(res, 'local');
        next(err);
      });
    },
  };
}

export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new UnauthenticatedError();
  return p;
}

export function isAdmin(p: Principal): boolean {
  return p.roles.includes('admin');
}

export function requireAdmin(res: Response): Principal {
  const p = principalOf(res);
  if (!isAdmin(p)) throw new ForbiddenError('this operation needs the admin role');
  return p;
}

/** Tries each authenticator in turn; the first that accepts the request wins. */
export function anyOf(...auths: Authenticator[]): Authenticator {
  return {
    challenges: () => auths.flatMap((a) => a.challenges()),
    middleware(): RequestHandler {
      const handlers = auths.map((a) => a.middleware());
      return (req: Request, res: Response, next: NextFunction) => {
        let i = 0;
        const tryNext = (): void => {
          if (i >= handlers.length) { next(new UnauthenticatedError()); return; }
          const h = handlers[i++];
          void Promise.resolve(h(req, res, (err?: unknown) => {
            if (err === undefined && res.locals.principal) next();
            else if (err === undefined || err instanceof UnauthenticatedError) tryNext();
            else next(err);
          })).catch(next);
        };
        tryNext();
      };
    },
  };
}
