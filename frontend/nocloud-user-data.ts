/**
 * The user data a machine's guest receives when it is created with a Credential: a cloud-init
 * (NoCloud "user-data") document that carries the SSH public keys, merged with the tenant's own
 * user data. The rules are in docs/guest-data.md; in short:
 *
 *  - no own user data: a `#cloud-config` document with `ssh_authorized_keys` only;
 *  - own user data: a MIME multipart/mixed document (cloud-init's multi-part format): first the
 *    tenant's data as one part, then that same `#cloud-config` with a `merge_how` that appends the
 *    keys to any `ssh_authorized_keys` the tenant's own cloud-config has and replaces nothing else.
 *
 * Pure and deterministic (the boundary comes from a hash of the content), so the result can be
 * compared byte for byte in tests. Input and output are base64, as MachineSpec.userData is.
 */
import { createHash } from 'node:crypto';

/** First-line markers cloud-init recognises, and the part type each one gets. */
const MARKERS: readonly (readonly [string, string])[] = [
  ['#cloud-config', 'text/cloud-config'],
  ['#cloud-boothook', 'text/cloud-boothook'],
  ['#include', 'text/x-include-url'],
  ['#part-handler', 'text/part-handler'],
  ['#!', 'text/x-shellscript'],
];

/** The `#cloud-config` that carries the keys; each key is a YAML double-quoted (JSON) string. */
export function credentialCloudConfig(keys: readonly string[], mergeWithEarlierParts: boolean): string {
  const lines = ['#cloud-config'];
  if (mergeWithEarlierParts) {
    lines.push('merge_how:', '  - name: list', '    settings: [append]', '  - name: dict', '    settings: [no_replace, recurse_list]');
  }
  lines.push('ssh_authorized_keys:', ...keys.map((k) => `  - ${JSON.stringify(k)}`));
  return lines.join('\n') + '\n';
}

function isText(b: Buffer): boolean {
  if (b.includes(0)) return false;
  return Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}

/** The tenant's data as one MIME body part (headers, blank line, content), without the trailing newline. */
function userPart(data: Buffer): string {
  const text = isText(data) ? data.toString('utf8') : null;
  // Already MIME (e.g. made by cloud-init's make-mime): its own headers head the part.
  if (text !== null && /^(content-type|mime-version):/i.test(text)) return text.replace(/\n$/, '');
  const marker = text === null ? undefined : MARKERS.find(([m]) => text.startsWith(m));
  if (text !== null && marker) {
    return [`Content-Type: ${marker[1]}; charset="utf-8"`, 'Content-Transfer-Encoding: 8bit', 'Content-Disposition: attachment; filename="user-data"', '', text.replace(/\n$/, '')].join('\n');
  }
  // Anything else (plain text without a marker, gzip, binary): cloud-init sniffs the decoded bytes.
  const b64 = data.toString('base64').replace(/.{1,76}/g, '$&\n').replace(/\n$/, '');
  return ['Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment; filename="user-data"', '', b64].join('\n');
}

/** The guest's user data (base64) for these keys and the tenant's own user data (base64 or null). */
export function guestUserData(keys: readonly string[], ownUserData: string | null): string | null {
  if (keys.length === 0) return ownUserData;
  const own = ownUserData === null ? null : Buffer.from(ownUserData, 'base64');
  if (own === null || own.length === 0) return Buffer.from(credentialCloudConfig(keys, false), 'utf8').toString('base64');
  const parts = [
    userPart(own),
    ['Content-Type: text/cloud-config; charset="utf-8"', 'Content-Transfer-Encoding: 8bit', 'Content-Disposition: attachment; filename="skybus-credentials.cfg"', '', credentialCloudConfig(keys, true).replace(/\n$/, '')].join('\n'),
  ];
  const hash = createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 24);
  let boundary = `skybus-${hash}`;
  for (let n = 1; parts.some((p) => p.includes(boundary)); n++) boundary = `skybus-${hash}-${n}`;
  const doc = [
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    'MIME-Version: 1.0',
    '',
    ...parts.flatMap((p) => [`--${boundary}`, p]),
    `--${boundary}--`,
    '',
  ].join('\n');
  return Buffer.from(doc, 'utf8').toString('base64');
}
