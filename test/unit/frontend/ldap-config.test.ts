import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LDAP_DEFAULTS, ldapConfig, ldapConfigFromEnv, normaliseDn, parseGroupMapping, type LdapConfigInput } from '../../../config/ldap-config.js';
import { ConfigError } from '../../../errors/registry.js';
import { compileFilter } from '../../../frontend/auth/ldap-filter.js';
import { mapGroups } from '../../../frontend/auth/ldap.js';

const RESEARCH = 'cn=research,ou=groups,dc=skybus,dc=test';
const ADMINS = 'cn=cloud-admins,ou=groups,dc=skybus,dc=test';

const base = (over: LdapConfigInput = {}): LdapConfigInput => ({
  url: 'ldap://127.0.0.1:3890',
  searchBase: 'ou=people,dc=skybus,dc=test',
  groupSearchBase: 'ou=groups,dc=skybus,dc=test',
  groups: [{ groupDn: RESEARCH, tenant: 'research', roles: ['user'] }, { groupDn: ADMINS, tenant: null, roles: ['admin'] }],
  ...over,
});

/** Asserts a ConfigError whose message starts with, and whose details.key is, `key`. */
function throwsFor(key: string, f: () => unknown, msg?: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.ok(e.message.startsWith(key + ' '), `message should name ${key}: ${e.message}`);
    assert.equal(e.details?.key, key);
    if (msg) assert.match(e.message, msg);
    return true;
  });
}

describe('config: LDAP', () => {
  let dir: string;
  let ca: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skybus-ldap-config-'));
    ca = join(dir, 'ca.crt');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('fills in the defaults', () => {
    const c = ldapConfig(base());
    assert.equal(c.url, 'ldap://127.0.0.1:3890');
    assert.equal(c.starttls, false);
    assert.equal(c.caFile, null);
    assert.equal(c.bindDn, null);
    assert.equal(c.bindPassword, null);
    assert.equal(c.searchFilter, '(uid={{username}})');
    assert.equal(c.groupSearchFilter, '(member={{dn}})');
    assert.equal(c.timeoutMs, LDAP_DEFAULTS.timeoutMs);
    assert.equal(c.cacheTtlMs, 60_000);
    assert.deepEqual(c.groups[1], { groupDn: ADMINS, tenant: null, roles: ['admin'] });
  });

  it('accepts ldap:// and ldaps:// only, with a host and nothing else', () => {
    assert.equal(ldapConfig(base({ url: 'ldaps://ldap.example.org' })).url, 'ldaps://ldap.example.org');
    assert.equal(ldapConfig(base({ url: 'ldap://ldap.example.org:389/' })).url, 'ldap://ldap.example.org:389');
    throwsFor('url', () => ldapConfig(base({ url: undefined })), /required/);
    throwsFor('url', () => ldapConfig(base({ url: 'http://x' })), /ldap:\/\/ or ldaps:\/\//);
    throwsFor('url', () => ldapConfig(base({ url: 'not a url' })));
    throwsFor('url', () => ldapConfig(base({ url: 'ldap://x/dc=example' })));
    throwsFor('url', () => ldapConfig(base({ url: 'ldap://u:p@x' })));
  });

  it('StartTLS only on ldap://; a CA file only with TLS, and it must be a readable PEM', () => {
    assert.equal(ldapConfig(base({ starttls: true, caFile: ca })).caFile, ca);
    assert.equal(ldapConfig(base({ url: 'ldaps://127.0.0.1:6360', caFile: ca })).starttls, false);
    throwsFor('starttls', () => ldapConfig(base({ url: 'ldaps://x', starttls: true })), /ldaps/);
    throwsFor('caFile', () => ldapConfig(base({ caFile: ca })), /not TLS/);
    throwsFor('caFile', () => ldapConfig(base({ starttls: true, caFile: join(dir, 'missing.crt') })), /cannot be read.*ENOENT/);
    const notPem = join(dir, 'x.txt');
    writeFileSync(notPem, 'hello');
    throwsFor('caFile', () => ldapConfig(base({ starttls: true, caFile: notPem })), /PEM/);
  });

  it('a bind DN needs exactly one non-empty password source; a password file loses its trailing newline', () => {
    const pw = join(dir, 'bind.pw');
    writeFileSync(pw, 'reader-secret\n');
    const c = ldapConfig(base({ bindDn: 'cn=reader,dc=skybus,dc=test', bindPasswordFile: pw }));
    assert.equal(c.bindPassword, 'reader-secret');
    assert.equal(ldapConfig(base({ bindDn: 'cn=reader,dc=skybus,dc=test', bindPassword: 'p' })).bindPassword, 'p');
    throwsFor('bindPassword', () => ldapConfig(base({ bindDn: 'cn=reader,dc=skybus,dc=test' })), /required/);
    throwsFor('bindPassword', () => ldapConfig(base({ bindDn: 'cn=reader,dc=skybus,dc=test', bindPassword: '' })), /unauthenticated bind/);
    throwsFor('bindPassword', () => ldapConfig(base({ bindDn: 'cn=reader,dc=skybus,dc=test', bindPassword: 'p', bindPasswordFile: pw })), /both/);
    const empty = join(dir, 'empty.pw');
    writeFileSync(empty, '\n');
    throwsFor('bindPasswordFile', () => ldapConfig(base({ bindDn: 'cn=reader,dc=skybus,dc=test', bindPasswordFile: empty })), /empty/);
    throwsFor('bindPasswordFile', () => ldapConfig(base({ bindDn: 'cn=reader,dc=skybus,dc=test', bindPasswordFile: join(dir, 'nope') })), /ENOENT/);
    throwsFor('bindDn', () => ldapConfig(base({ bindPassword: 'p' })), /required when a bind password/);
    throwsFor('bindDn', () => ldapConfig(base({ bindDn: 'not a dn', bindPassword: 'p' })));
  });

  it('filters must parse and use their placeholder as a value only', () => {
    assert.equal(ldapConfig(base({ searchFilter: '(&(objectClass=inetOrgPerson)(|(uid={{username}})(mail={{username}})))' })).searchFilter.length > 0, true);
    throwsFor('searchFilter', () => ldapConfig(base({ searchFilter: '(uid=alice)' })), /\{\{username\}\}/);
    throwsFor('searchFilter', () => ldapConfig(base({ searchFilter: '(uid={{username}}' })), /not an LDAP filter/);
    throwsFor('searchFilter', () => ldapConfig(base({ searchFilter: '({{username}}=x)' })), /attribute/);
    throwsFor('groupSearchFilter', () => ldapConfig(base({ groupSearchFilter: '(objectClass=groupOfNames)' })), /\{\{dn\}\}/);
    throwsFor('searchBase', () => ldapConfig(base({ searchBase: '' })));
    throwsFor('groupSearchBase', () => ldapConfig(base({ groupSearchBase: undefined })));
  });

  it('checks the group mapping', () => {
    throwsFor('groups', () => ldapConfig(base({ groups: [] })), /at least one/);
    throwsFor('groups', () => ldapConfig(base({ groups: [{ groupDn: ADMINS, tenant: null, roles: ['admin'] }] })), /tenant/);
    throwsFor('groups', () => ldapConfig(base({ groups: [{ groupDn: RESEARCH, tenant: 'Research!', roles: [] }] })), /entry 1.*tenant/);
    throwsFor('groups', () => ldapConfig(base({ groups: [{ groupDn: RESEARCH, tenant: 'r', roles: ['Admin'] }] })), /roles/);
    throwsFor('groups', () => ldapConfig(base({ groups: [{ groupDn: RESEARCH, tenant: null, roles: [] }] })), /neither a tenant nor a role/);
    throwsFor('groups', () => ldapConfig(base({ groups: [{ groupDn: 'research', tenant: 'r', roles: [] }] })), /groupDn/);
    throwsFor('groups', () => ldapConfig(base({ groups: [{ groupDn: RESEARCH, tenant: 'r', roles: [], role: 'x' } as never] })), /unknown field 'role'/);
    throwsFor('groups', () => ldapConfig(base({ groups: [{ groupDn: RESEARCH, tenant: 'a', roles: [] }, { groupDn: 'CN=Research, OU=groups,dc=skybus,dc=test', tenant: 'b', roles: [] }] })), /twice/);
    throwsFor('timeoutMs', () => ldapConfig(base({ timeoutMs: 5 })));
    throwsFor('cacheTtlMs', () => ldapConfig(base({ cacheTtlMs: -1 })));
  });

  it('parses the group mapping from the compact and the JSON form', () => {
    assert.deepEqual(parseGroupMapping(`${RESEARCH}=research:user; ${ADMINS}=:admin,operator`), [
      { groupDn: RESEARCH, tenant: 'research', roles: ['user'] },
      { groupDn: ADMINS, tenant: null, roles: ['admin', 'operator'] },
    ]);
    assert.deepEqual(parseGroupMapping('cn=a\\=b,dc=x=t:'), [{ groupDn: 'cn=a\\=b,dc=x', tenant: 't', roles: [] }], 'split at the last =');
    assert.deepEqual(parseGroupMapping(`[{"groupDn":"cn=x;y,dc=t","tenant":"t","roles":["user"]}]`), [{ groupDn: 'cn=x;y,dc=t', tenant: 't', roles: ['user'] }]);
    throwsFor('SKYBUS_LDAP_GROUPS', () => parseGroupMapping(`${RESEARCH}research`));
    throwsFor('SKYBUS_LDAP_GROUPS', () => parseGroupMapping('[{"groupDn":'), /JSON/);
    throwsFor('SKYBUS_LDAP_GROUPS', () => parseGroupMapping('{"groupDn":"x"}'), /not valid JSON|array/);
  });

  it('reads SKYBUS_LDAP_* (null when SKYBUS_LDAP_URL is unset) and names the bad variable', () => {
    assert.equal(ldapConfigFromEnv({}), null);
    assert.equal(ldapConfigFromEnv({ SKYBUS_LDAP_URL: '' }), null);
    throwsFor('SKYBUS_LDAP_URL', () => ldapConfigFromEnv({ SKYBUS_LDAP_SEARCH_BASE: 'dc=x' }), /SKYBUS_LDAP_SEARCH_BASE/);
    const env = {
      SKYBUS_LDAP_URL: 'ldap://127.0.0.1:3890', SKYBUS_LDAP_STARTTLS: 'true', SKYBUS_LDAP_CA_FILE: ca,
      SKYBUS_LDAP_BIND_DN: 'cn=skybus-reader,ou=services,dc=skybus,dc=test', SKYBUS_LDAP_BIND_PASSWORD: 'reader-secret',
      SKYBUS_LDAP_SEARCH_BASE: 'ou=people,dc=skybus,dc=test', SKYBUS_LDAP_GROUP_SEARCH_BASE: 'ou=groups,dc=skybus,dc=test',
      SKYBUS_LDAP_GROUPS: `${RESEARCH}=research:user;${ADMINS}=:admin`, SKYBUS_LDAP_TIMEOUT_MS: '2000', SKYBUS_LDAP_CACHE_TTL_MS: '0',
    };
    const c = ldapConfigFromEnv(env)!;
    assert.equal(c.starttls, true);
    assert.equal(c.caFile, ca);
    assert.equal(c.bindPassword, 'reader-secret');
    assert.equal(c.timeoutMs, 2000);
    assert.equal(c.cacheTtlMs, 0);
    assert.deepEqual(c.groups.map((g) => g.tenant), ['research', null]);
    throwsFor('SKYBUS_LDAP_STARTTLS', () => ldapConfigFromEnv({ ...env, SKYBUS_LDAP_STARTTLS: 'maybe' }));
    throwsFor('SKYBUS_LDAP_TIMEOUT_MS', () => ldapConfigFromEnv({ ...env, SKYBUS_LDAP_TIMEOUT_MS: '2s' }));
    throwsFor('SKYBUS_LDAP_TIMEOUT_MS', () => ldapConfigFromEnv({ ...env, SKYBUS_LDAP_TIMEOUT_MS: '1' }));
    throwsFor('SKYBUS_LDAP_URL', () => ldapConfigFromEnv({ ...env, SKYBUS_LDAP_URL: 'ldapx://h' }));
    throwsFor('SKYBUS_LDAP_CA_FILE', () => ldapConfigFromEnv({ ...env, SKYBUS_LDAP_STARTTLS: 'false' }));
    throwsFor('SKYBUS_LDAP_BIND_PASSWORD', () => ldapConfigFromEnv({ ...env, SKYBUS_LDAP_BIND_PASSWORD: '' }));
    throwsFor('SKYBUS_LDAP_GROUPS', () => ldapConfigFromEnv({ ...env, SKYBUS_LDAP_GROUPS: `${ADMINS}=:admin` }));
    throwsFor('SKYBUS_LDAP_SEARCH_FILTER', () => ldapConfigFromEnv({ ...env, SKYBUS_LDAP_SEARCH_FILTER: 'uid={{username}})' }));
  });

  it('compares DNs case-, space- and escape-insensitively', () => {
    assert.equal(normaliseDn('CN=Research, OU=Groups ,DC=skybus,DC=test'), normaliseDn(RESEARCH));
    assert.equal(normaliseDn('cn=a\\2cb,dc=x'), normaliseDn('cn=a\\,b,dc=x'));
    assert.notEqual(normaliseDn('cn=a\\,b,dc=x'), normaliseDn('cn=a,b,dc=x'));
    assert.equal(normaliseDn('uid=d\\28a\\29v\\2ae,dc=x'), normaliseDn('uid=d(a)v*e,dc=x'));
  });

  it('maps groups: first tenant in mapping order, roles from that tenant and from tenant-less groups', () => {
    const cfg = ldapConfig(base({
      groups: [
        { groupDn: RESEARCH, tenant: 'research', roles: ['user'] },
        { groupDn: 'cn=ops,ou=groups,dc=skybus,dc=test', tenant: 'ops', roles: ['user', 'operator'] },
        { groupDn: ADMINS, tenant: null, roles: ['admin'] },
      ],
    }));
    assert.deepEqual(mapGroups(cfg, [RESEARCH]), { tenant: 'research', roles: ['user'] });
    assert.deepEqual(mapGroups(cfg, ['CN=cloud-admins,OU=groups,DC=skybus,DC=test', RESEARCH]), { tenant: 'research', roles: ['admin', 'user'] });
    // In both research and ops: research is first in the mapping, whatever the directory's order; ops's roles do not leak in.
    assert.deepEqual(mapGroups(cfg, ['cn=ops,ou=groups,dc=skybus,dc=test', RESEARCH]), { tenant: 'research', roles: ['user'] });
    assert.equal(mapGroups(cfg, [ADMINS]), null, 'roles without a tenant are not enough');
    assert.equal(mapGroups(cfg, ['cn=staff,ou=groups,dc=skybus,dc=test']), null);
    assert.equal(mapGroups(cfg, []), null);
  });

  it('filter templates put values in as values (BER), never as filter text', () => {
    const f = compileFilter('(&(objectClass=inetOrgPerson)(uid={{username}}))');
    const built = f.build({ username: '*)(|(uid=*' });
    // One AND of two equality assertions; the whole name is one assertion value.
    assert.equal(built.type, 'AndFilter');
    const eq = (built as unknown as { filters: Array<{ type: string; value: string }> }).filters[1];
    assert.equal(eq.type, 'EqualityFilter');
    assert.equal(eq.value, '*)(|(uid=*');
    assert.ok(built.toBer().buffer.includes(Buffer.from('*)(|(uid=*')), 'raw octets in the BER');
    // The administrator's own escapes in the template are decoded.
    const g = compileFilter('(&(member={{dn}})(cn=a\\2ab))').build({ dn: 'uid=x,dc=y' });
    const vals = (g as unknown as { filters: Array<{ value: string }> }).filters.map((x) => x.value);
    assert.deepEqual(vals, ['uid=x,dc=y', 'a*b']);
    assert.throws(() => compileFilter('(uid={{username}}'), /not an LDAP filter/);
  });
});
