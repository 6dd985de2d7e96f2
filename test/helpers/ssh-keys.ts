/** Real OpenSSH public key lines made with node:crypto (no ssh-keygen needed): wire format per RFC 4253 / 8709. */
import { generateKeyPairSync } from 'node:crypto';

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function mpint(b: Buffer): Buffer {
  let v = b;
  while (v.length > 1 && v[0] === 0) v = v.subarray(1);
  return sshString(v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

export function ed25519PublicKey(comment = ''): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const body = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(raw)]).toString('base64');
  return `ssh-ed25519 ${body}${comment ? ` ${comment}` : ''}`;
}

export function rsaPublicKey(bits: number, comment = ''): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = publicKey.export({ format: 'jwk' });
  const body = Buffer.concat([sshString(Buffer.from('ssh-rsa')), mpint(Buffer.from(jwk.e!, 'base64url')), mpint(Buffer.from(jwk.n!, 'base64url'))]).toString('base64');
  return `ssh-rsa ${body}${comment ? ` ${comment}` : ''}`;
}

export function ecdsaPublicKey(comment = ''): string {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const point = publicKey.export({ format: 'der', type: 'spki' }).subarray(-65);
  const body = Buffer.concat([sshString(Buffer.from('ecdsa-sha2-nistp256')), sshString(Buffer.from('nistp256')), sshString(point)]).toString('base64');
  return `ecdsa-sha2-nistp256 ${body}${comment ? ` ${comment}` : ''}`;
}
