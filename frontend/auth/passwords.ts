/**
 * Password hashes: scrypt (N=16384, r=8, p=1), 16-byte random salt, 32-byte key, stored as the
 * self-describing string `scrypt$16384$8$1$<salt b64>$<hash b64>`.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LEN = 32;
export const MAX_PASSWORD_BYTES = 1024;

function scryptAsync(pw: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(pw, salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * What a password may be so that the API can always accept it: 8 to 1024 bytes of UTF-8, no control
 * characters and no unpaired surrogate (which would not survive UTF-8). A colon is fine: Basic
 * credentials are split at the first colon only. Returns a reason, or null when it is acceptable.
 */
export function passwordProblem(pw: string): string | null {
  if (pw.length < 8) return 'a password must have at least 8 characters';
  if (Buffer.byteLength(pw) > MAX_PASSWORD_BYTES) return `a password may have at most ${MAX_PASSWORD_BYTES} bytes`;
  if (Buffer.from(pw, 'utf8').toString('utf8') !== pw) return 'a password must be valid Unicode text';
  for (let i = 0; i < pw.length; i++) {
    const c = pw.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return 'a password may not contain control characters';
  }
  return null;
}

export async function hashPassword(pw: string): Promise<string> {
  if (typeof pw !== 'string' || pw.length === 0) throw new TypeError('password must be a non-empty string');
  if (Buffer.byteLength(pw) > MAX_PASSWORD_BYTES) throw new TypeError(`password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  const salt = randomBytes(16);
  const key = await scryptAsync(pw, salt, KEY_LEN, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export interface ParsedHash { n: number; r: number; p: number; salt: Buffer; key: Buffer }

/** The parameters of a stored hash, or null when it is malformed or asks for unreasonable cost. */
export function parseHash(stored: string): ParsedHash | null {
  const parts = typeof stored === 'string' ? stored.split('$') : [];
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  // Refuse parameters that would let a tampered row make verification expensive.
  if (![n, r, p].every(Number.isInteger) || n < 2 || n > 1 << 20 || (n & (n - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return null;
  const salt = Buffer.from(parts[4], 'base64');
  const key = Buffer.from(parts[5], 'base64');
  if (salt.length < 8 || key.length < 16 || key.length > 128) return null;
  return { n, r, p, salt, key };
}

/** Whether pw matches the stored hash (constant time in the comparison; false for malformed hashes). */
export async function verifyPassword(pw: string, stored: string): Promise<boolean> {
  if (typeof pw !== 'string' || Buffer.byteLength(pw) > MAX_PASSWORD_BYTES) return false;
  const h = parseHash(stored);
  if (!h) return false;
  const key = await scryptAsync(pw, h.salt, h.key.length, { N: h.n, r: h.r, p: h.p, maxmem: 256 * h.n * h.r + 64 * 1024 * 1024 });
  return timingSafeEqual(key, h.key);
}

/** A valid hash of a random password: verified against when the user does not exist, so timing does not tell. */
let decoy: Promise<string> | null = null;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  return decoy;
}
