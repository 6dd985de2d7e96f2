/**
 * SSH public keys as a Credential holds them: one OpenSSH authorized_keys line without options,
 * `<type> <base64 body> [comment]`. The body must decode and start with the same type string (the
 * SSH wire format's first field), so a key pasted into the wrong place or truncated is refused
 * here, with a 400 naming the field, rather than failing silently inside the guest.
 */
import { ValidationError } from '../errors/registry.js';

export const SSH_KEY_TYPES = [
  'ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
] as const;
/** An RSA 16384-bit key's line is about 2,800 characters; nothing valid comes near this. */
export const SSH_KEY_MAX_CHARS = 4096;
export const SSH_KEY_COMMENT_MAX_CHARS = 255;

/**
 * The key in its normal form (single spaces, no surrounding whitespace) or a ValidationError naming
 * `label`. Never throws anything else, whatever `v` is.
 */
export function parseSshPublicKey(v: unknown, label: string): string {
  const bad = (why: string) => new ValidationError(`${label} ${why}`, { field: label });
  if (typeof v !== 'string') throw bad('must be a string: an SSH public key such as the content of ~/.ssh/id_ed25519.pub');
  if (v.length > SSH_KEY_MAX_CHARS) throw bad(`is longer than ${SSH_KEY_MAX_CHARS} characters`);
  const line = v.replace(/^[ \t]+|[ \t\r\n]+$/g, '');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000A-\u001F\u007F-\u009F\u2028\u2029]/u.test(line)) throw bad('must be one line without control characters');
  const [type, body, ...rest] = line.split(/[ \t]+/);
  if (!type || !(SSH_KEY_TYPES as readonly string[]).includes(type)) {
    throw bad(`must start with a key type: one of ${SSH_KEY_TYPES.join(', ')}${type ? ` (got '${type.slice(0, 40)}')` : ''}`);
  }
  if (!body) throw bad(`has no key data after '${type}'`);
  if (body.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw bad('key data is not base64');
  const raw = Buffer.from(body, 'base64');
  if (raw.length < 4 + type.length) throw bad('key data is too short');
  const n = raw.readUInt32BE(0);
  if (n !== type.length || raw.subarray(4, 4 + n).toString('latin1') !== type) throw bad(`key data does not begin with its type '${type}' (a damaged or mislabelled key)`);
  const comment = rest.join(' ');
  if (comment.length > SSH_KEY_COMMENT_MAX_CHARS) throw bad(`comment is longer than ${SSH_KEY_COMMENT_MAX_CHARS} characters`);
  return comment ? `${type} ${body} ${comment}` : `${type} ${body}`;
}
