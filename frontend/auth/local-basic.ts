/** Local users over HTTP Basic (a strict passport strategy, basic-credentials.ts), checked against store.accounts. */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Passport } from 'passport';
import { UnauthenticatedError, ValidationError } from '../../errors/registry.js';
import type { BusStore } from '../../schema/bus-store.js';
import { setPrincipal, type Authenticator, type Principal } from './authenticator.js';
import { StrictBasicStrategy } from './basic-credentials.js';
import { LoginThrottle } from './login-throttle.js';
import { PasswordChecks } from './password-checks.js';
import { decoyHash } from './passwords.js';
import { VerifiedCredentials } from './verified-credentials.js';

export const BASIC_REALM = 'skybus';

export interface LocalCheckDeps { store: BusStore; checks: PasswordChecks; verified?: VerifiedCredentials; throttle?: LoginThrottle }

/**
 * The Principal for name/password, or null (unknown user, wrong password, disabled user). A check
 * of an existing user's password first passes the login throttle (login-throttle.ts: 429 beyond
 * it); a remembered credential needs no check and is never throttled. Unknown names are checked
 * against a decoy hash (timing) without the throttle: the password pool bounds their cost.
 */
export async function checkLocalUser(deps: LocalCheckDeps, name: string, password: string, address = 'unknown'): Promise<Principal | null> {
  const { store, checks, verified, throttle } = deps;
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
    await throttle?.admit(user.name, address);
    if (!(await checks.verify(password, user.passwordHash))) return null;
    verified?.add(user.name, password, user.passwordHash);
    if (!user.disabled) await throttle?.succeeded(user.name, address);
  }
  if (user.disabled) return null;
  return { name: user.name, tenant: user.tenant, roles: [...user.roles] };
}

export interface LocalBasicOptions {
  realm?: string;
  /** The password-check pool (password-checks.ts); one per authenticator by default. */
  checks?: PasswordChecks;
  /** Failed-login throttling in the bus (login-throttle.ts); on by default. null: off. */
  throttle?: LoginThrottle | null;
}

export function localBasicAuth(store: BusStore, opts: LocalBasicOptions = {}): Authenticator & { checks: PasswordChecks } {
  const realm = opts.realm ?? BASIC_REALM;
  const checks = opts.checks ?? new PasswordChecks();
  const verified = new VerifiedCredentials();
  const throttle = opts.throttle === undefined ? new LoginThrottle(store) : opts.throttle ?? undefined;
  const passport = new Passport();
  passport.use(new StrictBasicStrategy('basic', realm, (name, password, address) => checkLocalUser({ store, checks, verified, throttle }, name, password, address)));
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
