/**
 * Credentials (CIMI Credential, an SSH public key): the CredentialCreate body validated into the
 * document kept in store.catalog (kind 'credential', owned by the creating tenant), and the CIMI
 * representation. CIMI leaves a Credential's own attributes to the provider; Skybus has one kind,
 * `publicKey` (an OpenSSH authorized_keys line). There is no CredentialTemplates collection: the
 * template is given inline in the CredentialCreate, as DSP0263 allows (docs/guest-data.md).
 */
import { ValidationError } from '../errors/registry.js';
import type { CatalogItem } from '../schema/types.js';
import type { Principal } from './auth/authenticator.js';
import { optObject, rejectUnknownFields, type Body } from './body-fields.js';
import { commonFields } from './catalog-bodies.js';
import { memberUrl, resourceUri } from './cimi/uris.js';
import { parseSshPublicKey } from './ssh-public-key.js';

export interface CredentialDoc { description: string; properties: Record<string, string>; publicKey: string }

/** The inline credential template: `{publicKey}` (with optional name, description, properties, which are ignored). */
export function parseCredentialTemplate(tpl: Body, where: string): string {
  if (tpl.href !== undefined) {
    throw new ValidationError(`${where}: this cloud keeps no CredentialTemplates; give the key inline as ${where}.publicKey`, { field: `${where}.href` });
  }
  rejectUnknownFields(tpl, ['publicKey'], where);
  if (tpl.publicKey === undefined || tpl.publicKey === null) throw new ValidationError(`${where}.publicKey is required`, { field: `${where}.publicKey` });
  return parseSshPublicKey(tpl.publicKey, `${where}.publicKey`);
}

export function parseCredentialCreate(body: Body, where = 'CredentialCreate'): { name: string; doc: CredentialDoc } {
  rejectUnknownFields(body, ['credentialTemplate'], where);
  const { name, description, properties } = commonFields(body, where);
  const tpl = optObject(body, 'credentialTemplate', `${where}.credentialTemplate`);
  if (!tpl) throw new ValidationError(`${where}.credentialTemplate is required`, { field: `${where}.credentialTemplate` });
  return { name, doc: { description, properties, publicKey: parseCredentialTemplate(tpl, `${where}.credentialTemplate`) } };
}

/** `namedByTemplate`: a MachineTemplate names it, so its DELETE is refused and not advertised. */
export function credentialView(item: CatalogItem, base: string, who: Principal, namedByTemplate = false): Record<string, unknown> {
  const id = memberUrl(base, 'credentials', item.id);
  const b = item.body;
  return {
    resourceURI: resourceUri('Credential'), id, name: item.name, description: b.description ?? '',
    created: new Date(item.created).toISOString(), updated: new Date(item.updated).toISOString(), properties: b.properties ?? {},
    publicKey: b.publicKey,
    operations: item.tenant === who.tenant && !namedByTemplate ? [{ rel: 'delete', href: id }] : [],
  };
}
