/** Local users over HTTP Basic (a strict passport strategy, basic-credentials.ts), checked against store.accounts. */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Passport } from 'passport';
import { UnauthenticatedError, ValidationError } from '../../errors/registry.js';
import type { BusStore } from '../../schema/bus-store.js';
import { setPrincipal, type Authenticator, type Principal } from './authenticator.js';
import { StrictBasicStrategy } from './basic-credentials.js';
import { PasswordChecks } from './password-checks.js';
import { decoyHash } from './passwords.js';
import { VerifiedCredentials } from './verified-credentials.js';

export const BASIC_REALM = 'skybus';

export interface LocalCheckDeps { store: BusStore; checks: PasswordChecks; verified?: VerifiedCredentials }

/** The Principal for name/password, or null (unknown user, wrong password, disabled user). */
export async function checkLocalUser(deps: LocalCheckDeps, name: string, password: string): Promise<Principal | null> {
  const { store, checks, verified } = deps;
  let user;
  try {
    user = await store.accounts.getUser(name);
  } catch (e) {
    if (e instanceof ValidationError) user = null; // not a valid user name: nobody
    else throw e;
  }
  if (!user) {
    await checks.verify(password, await decoyHash());
    return null;
  }
  if (!verified?.has(user.name, password, user.passwordHash)) {
    if (!(await checks.verify(password, user.passwordHash))) return null;
    verified?.add(user.name, password, user.passwordHash);
  }
  if (user.disabled) return null;
  return { name: user.name, tenant: user.tenant, roles: [...user.roles] };
}

export interface LocalBasicOptions {
  realm?: string;
  /** The password-check pool (password-checks.ts); one per authenticator by default. */
  checks?: PasswordChecks;
}

export function localBasicAuth(store: BusStore, opts: LocalBasicOptions = {}): Authenticator & { checks: PasswordChecks } {
  const realm = opts.realm ?? BASIC_REALM;
  const checks = opts.checks ?? new PasswordChecks();
  const verified = new VerifiedCredentials();
  const passport = new Passport();
  passport.use(new StrictBasicStrategy('basic', realm, (name, password) => checkLocalUser({ store, checks, verified }, name, password)));
  return {
    checks,
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
