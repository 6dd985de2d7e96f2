/**
 * StartTLS with ldapauth-fork 6 + ldapjs 3 sends the first bind in cleartext. ldapauth-fork issues
 * StartTLS on its two connections in its constructor, and passport-ldapauth calls authenticate()
 * at once; ldapjs queues both requests until the TCP connection is up and then writes them back to
 * back (its StartTLS has a "TODO: block traffic"), so the service account's bind request — with its
 * password — goes out before the TLS handshake, and slapd drops the connection ("unexpected TLS
 * packet"). Observed against slapd 2.5: every StartTLS login failed, and the bind crossed the wire
 * unencrypted.
 *
 * The fix, applied once on import: when starttls is on, LdapAuth#authenticate waits until StartTLS
 * has completed on both connections (ldapjs marks `_starttls.success` once the extended response
 * arrived and every later write goes through the TLS socket), or until the connection fails
 * (the error reaches passport-ldapauth as before), or until the timeout. Nothing is sent on the
 * connection before that. The patch checks the shape it relies on and throws at start-up if a
 * future ldapauth-fork changes it.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface LdapjsClientLike { _starttls?: { success?: boolean } | null; connected?: boolean; _socket?: unknown }
interface LdapAuthLike {
  opts: { starttls?: boolean; timeout?: number; connectTimeout?: number };
  _adminClient: LdapjsClientLike;
  _userClient: LdapjsClientLike;
  once(ev: 'error', f: (e: unknown) => void): void;
  removeListener(ev: 'error', f: (e: unknown) => void): void;
  authenticate(u: string, p: string, cb: (err: unknown, user?: unknown) => void): void;
  _findUser?: unknown;
}

const PATCHED = Symbol.for('skybus.ldapauth-fork.starttls-wait');

function tlsUp(c: LdapjsClientLike): boolean {
  return c._starttls?.success === true;
}

export function applyStartTlsFix(): void {
  const LdapAuth = require('ldapauth-fork') as { prototype: LdapAuthLike & { [PATCHED]?: true } };
  const proto = LdapAuth.prototype;
  if (proto[PATCHED]) return;
  if (typeof proto.authenticate !== 'function' || typeof proto._findUser !== 'function') {
    throw new Error('ldapauth-fork changed shape (no LdapAuth#authenticate/_findUser): re-check frontend/auth/ldap-starttls.ts');
  }
  const original = proto.authenticate;
  proto.authenticate = function (this: LdapAuthLike, username, password, callback) {
    if (!this.opts.starttls) { original.call(this, username, password, callback); return; }
    if (!this._adminClient || !this._userClient) throw new Error('ldapauth-fork changed shape (no _adminClient/_userClient)');
    const limit = Date.now() + (this.opts.connectTimeout ?? this.opts.timeout ?? 5000) + 1000;
    let failed = false;
    const onError = () => { failed = true; };
    this.once('error', onError);
    const poll = () => {
      if (failed) return; // passport-ldapauth already reported the error
      if (tlsUp(this._adminClient) && tlsUp(this._userClient)) {
        this.removeListener('error', onError);
        original.call(this, username, password, callback);
        return;
      }
      if (Date.now() > limit) {
        this.removeListener('error', onError);
        callback(new Error('StartTLS did not complete in time'));
        return;
      }
      setTimeout(poll, 2);
    };
    poll();
  };
  proto[PATCHED] = true;
}
