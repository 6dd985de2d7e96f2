/** The SSH public key validator: real keys pass (normalised), everything else is a 400 naming the field. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ValidationError } from '../../../errors/registry.js';
import { parseSshPublicKey, SSH_KEY_MAX_CHARS } from '../../../frontend/ssh-public-key.js';
import { ecdsaPublicKey, ed25519PublicKey, rsaPublicKey } from '../../helpers/ssh-keys.js';

const L = 'CredentialCreate.credentialTemplate.publicKey';

function refused(v: unknown, why: RegExp): void {
  assert.throws(() => parseSshPublicKey(v, L), (e: unknown) => {
    assert.ok(e instanceof ValidationError, `not a ValidationError: ${String(e)}`);
    assert.equal((e as ValidationError).details?.field, L);
    assert.match((e as Error).message, new RegExp(`^${L.replace(/\./g, '\\.')} `));
    assert.match((e as Error).message, why);
    return true;
  });
}

describe('parseSshPublicKey', function () {
  // Generating an RSA 4096 key pair takes seconds on a loaded 2-core machine.
  this.timeout(60_000);
  it('accepts ed25519, RSA 2048/4096 and ECDSA keys, with and without a comment, and normalises whitespace', () => {
    for (const k of [ed25519PublicKey(), ed25519PublicKey('alice@laptop'), rsaPublicKey(2048), rsaPublicKey(4096, 'ops key 2024'), ecdsaPublicKey('e c')]) {
      assert.equal(parseSshPublicKey(k, L), k);
      assert.equal(parseSshPublicKey(`  ${k.replace(/ /g, ' \t ')}\r\n`, L), k);
    }
  });

  it('accepts what ssh-keygen writes (a .pub file with its trailing newline)', function () {
    const dir = mkdtempSync(join(tmpdir(), 'skybus-sshkey-'));
    try {
      try { execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'me@host', '-f', join(dir, 'k')]); } catch { this.skip(); }
      const pub = readFileSync(join(dir, 'k.pub'), 'utf8');
      assert.equal(parseSshPublicKey(pub, L), pub.trim());
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('refuses bad keys with a message naming the field and the problem', () => {
    const ed = ed25519PublicKey();
    const [, body] = ed.split(' ');
    refused(42, /must be a string/);
    refused('', /must start with a key type/);
    refused('ssh-dss AAAAB3NzaC1kc3MAAACBAP', /must start with a key type.*got 'ssh-dss'/);
    refused('ssh-ed25519', /has no key data/);
    refused('ssh-ed25519 not*base64', /not base64/);
    refused('ssh-ed25519 AAAA', /too short/);
    refused(`ssh-rsa ${body}`, /does not begin with its type 'ssh-rsa'/);
    refused(`ssh-ed25519 AAAB${body!.slice(4)}`, /does not begin with its type 'ssh-ed25519'/);
    refused(`${ed} comment\nssh-ed25519 ${body}`, /one line without control characters/);
    refused(`${ed} bell\u0007`, /control characters/);
    refused(`${ed} ${'c'.repeat(256)}`, /comment is longer than 255/);
    refused(`${ed} ${'c'.repeat(SSH_KEY_MAX_CHARS)}`, new RegExp(`longer than ${SSH_KEY_MAX_CHARS} characters`));
    refused({ publicKey: ed }, /must be a string/);
  });

  it('never throws anything but a ValidationError, whatever the input (fast-check)', () => {
    const ed = ed25519PublicKey('x');
    const mutated = fc.tuple(fc.nat(ed.length), fc.string({ maxLength: 8 }), fc.nat(4)).map(([at, ins, del]) => ed.slice(0, at) + ins + ed.slice(at + del));
    const anything = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), mutated, fc.anything(), fc.constantFrom('ssh-rsa ', 'ssh-ed25519 ====', 'ecdsa-sha2-nistp256 AAAAAAAA'));
    fc.assert(fc.property(anything, (v) => {
      try {
        const out = parseSshPublicKey(v, L);
        assert.equal(parseSshPublicKey(out, L), out, 'the normal form is a fixed point');
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
      }
    }), { numRuns: 3000 });
  });
});
