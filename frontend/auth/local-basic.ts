/** Local users over HTTP Basic (passport-http), checked against store.accounts. */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Passport } from 'passport';
import { BasicStrategy } from 'passport-http';
import { UnauthenticatedError, ValidationError } from '../../errors/registry.js';
import type { BusStore } from '../../schema/bus-store.js';
import { setPrincipal, type Authenticator, type Principal } from './authenticator.js';
import { decoyHash, verifyPassword } from './passwords.js';
import { VerifiedCredentials } from './verified-credentials.js';

export const BASIC_REALM = 'skybus';

/** The Principal for name/password, or null (unknown user, wrong password, disabled user). */
export async function checkLocalUser(store: BusStore, name: string, password: string, verified?: VerifiedCredentials): Promise<Principal | null> {
  let user;
  try {
    user = await store.accounts.getUser(name);
  } catch (e) {
    if (e instanceof ValidationError) user = null; // not a valid user name: nobody
    else throw e;
  }
  if (!user) {
    await verifyPassword(password, await decoyHash());
    return null;
  }
  if (!verified?.has(user.name, password, user.passwordHash)) {
    if (!(await verifyPassword(password, user.passwordHash))) return null;
    verified?.add(user.name, password, user.passwordHash);
  }
  if (user.disabled) return null;
  return { name: user.name, tenant: user.tenant, roles: [...user.roles] };
}

export function localBasicAuth(store: BusStore, opts: { realm?: string } = {}): Authenticator {
  const realm = opts.realm ?? BASIC_REALM;
  const passport = new Passport();
  const verified = new VerifiedCredentials();
  passport.use('basic', new BasicStrategy({ realm }, (name, password, done) => {
    checkLocalUser(store, name, password, verified).then((p) => done(null, p ?? false), (e) => done(e));
  }));
  return {
    challenges: () => [`Basic realm="${realm}"`],
    middleware(): RequestHandler {
      return (req: Request, res: Response, next: NextFunction) => {
        const handler = passport.authenticate('basic', { session: false }, (err: unknown, user: Principal | false) => {
          if (err) { next(err); return; }
          if (!user) { next(new UnauthenticatedError('valid credentials required')); return; }
          setPrincipal(res, user);
          next();
        }) as RequestHandler;
        void handler(req, res, next);
      };
    },
  };
}
