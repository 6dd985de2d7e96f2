/**
 * The API fuzzer (issue 10, "bad input, at volume"): random and mutated requests — methods, paths
 * from the route table with own, foreign, random and hostile ids, query strings, headers, and CIMI
 * bodies in JSON and XML (valid ones mutated, and garbage) — as two tenants, an admin, a disabled
 * user, a wrong password and nobody. After every request it checks: no 5xx; a 4xx is a CIMI error;
 * a rejected request (4xx) left the bus exactly as it was (every table compared row by row, except
 * the ones every request may write: the audit trail, login throttling and rate-limit counts).
 * Used by the unit suite (fixed seed, bounded count) and by bench/api-fuzz.ts (larger counts).
 */
import fc from 'fast-check';
import request from 'supertest';
import { ROUTE_ROLES } from '../../frontend/routes/route-roles.js';
import type { SqliteDriver } from '../../schema/sqlite-driver.js';
import { as, idOf, PASSWORD, type Harness } from '../unit/frontend/harness.js';

const CIMI = 'http://schemas.dmtf.org/cimi/1';
/** Tables any request may write, accepted or not (who asked, throttling, rate counts). */
const SIDE_EFFECT_TABLES = new Set(['audit_events', 'audit_by_day', 'login_attempts', 'login_known_addresses', 'rate_usage', 'schema_migrations', 'schema_lock']);

export interface FuzzReport {
  cases: number;
  statuses: Record<number, number>;
  serverErrors: string[];
  rejectedThatChangedState: string[];
  notCimiErrors: string[];
  responsiveAfter: boolean;
}

/** Every row of every bus table except the side-effect ones, as one comparable string per table. */
export function dumpBus(h: Harness): Map<string, string> {
  const d = h.store.driver as SqliteDriver;
  const out = new Map<string, string>();
  for (const t of d.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")) {
    const name = t.name as string;
    if ([...SIDE_EFFECT_TABLES].some((s) => name === s || name.startsWith(`${s}`))) continue;
    const rows = d.raw(`SELECT * FROM "${name}"`).map((r) => JSON.stringify(r)).sort();
    out.set(name, rows.join('\n'));
  }
  return out;
}

function diff(a: Map<string, string>, b: Map<string, string>): string[] {
  const tables = new Set([...a.keys(), ...b.keys()]);
  return [...tables].filter((t) => a.get(t) !== b.get(t));
}

const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', ' ', '..', '%00', '%2e%2e', '\u0000', '\u202e', "'", '"', '<a>', '&amp;', '__proto__', 'constructor', 'x'.repeat(600), '/'.repeat(300), '00000000-0000-4000-8000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '-1', '1e309', 'null', 'true', '[]', '{}'),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: hostile, weight: 6 },
  { arbitrary: fc.constantFrom<unknown>(null, 0, -1, 1.5, 2 ** 53, 1e308, true, [], {}, ['a'], { href: 1 }, { href: '/api/machines' }, 'STARTED', 'stop'), weight: 2 },
);

type Body = Record<string, unknown>;

/** Valid bodies, per route template and method; ids filled from the fixture. */
function corpus(ids: Fixture): Record<string, Body[]> {
  const action = (a: string) => ({ resourceURI: `${CIMI}/Action`, action: `${CIMI}/action/${a}` });
  return {
    'post /api/machines': [
      { name: 'fz', machineTemplate: { href: `/api/machineTemplates/${ids.template}` } },
      { name: 'fz', machineTemplate: { machineConfig: { href: `/api/machineConfigs/${ids.config}` }, machineImage: { href: `/api/machineImages/${ids.image}` }, initialState: 'STOPPED', credential: { href: `/api/credentials/${ids.credential}` } } },
    ],
    'put /api/machines/:id': [{ name: 'renamed', description: 'd', properties: { k: 'v' } }],
    'post /api/machines/:id': ['start', 'stop', 'restart', 'pause', 'suspend', 'capture', 'bogus'].map(action),
    'post /api/machines/:id/:action': ['start', 'stop', 'restart', 'pause', 'suspend'].map(action),
    'post /api/jobs/:id/stop': [action('stop')],
    'post /api/machineConfigs': [{ name: 'c', cpu: 1, memory: 1048576, cpuArch: 'x86_64', disks: [{ capacity: 1048576, format: 'qcow2' }] }],
    'post /api/machineImages': [{ name: 'i', imageLocation: '/img.qcow2', format: 'qcow2' }],
    'post /api/machineTemplates': [{ name: 't', machineConfig: { href: `/api/machineConfigs/${ids.config}` }, machineImage: { href: `/api/machineImages/${ids.image}` } }],
    'post /api/credentials': [{ resourceURI: `${CIMI}/CredentialCreate`, name: 'k', credentialTemplate: { publicKey: ids.sshKey } }],
    'post /api/apiKeys': [{ name: 'key', expiresInDays: 30 }],
    'put /api/quotas/:tenant': [{ machines: 5, cpu: 10, memoryMiB: 8192 }],
  };
}

export interface Fixture {
  template: string; config: string; image: string; credential: string; sshKey: string;
  own: Record<string, string[]>; foreign: Record<string, string[]>;
}

/** Resources of alice (tenant acme) and bob (tenant globex) to aim at. */
export async function fuzzFixture(h: Harness, sshKey: string): Promise<Fixture> {
  const mk = async (user: string) => {
    const m = await as(h.app, user, 'post', '/api/machines').send({ name: `fx-${user}`, machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    const c = await as(h.app, user, 'post', '/api/credentials').send({ resourceURI: `${CIMI}/CredentialCreate`, name: `k-${user}`, credentialTemplate: { publicKey: sshKey } }).expect((r) => { if (r.status >= 300) throw new Error(`credential: ${r.status} ${r.text}`); });
    const k = await as(h.app, user, 'post', '/api/apiKeys').send({ name: `fx-${user}`, expiresInDays: 30 }).expect((r) => { if (r.status >= 300) throw new Error(`apiKey: ${r.status} ${r.text}`); });
    return { machines: [idOf(m.headers.location)], jobs: [idOf(m.headers['cimi-job-uri'])], credentials: [idOf(c.headers.location ?? c.body.id)], apiKeys: [idOf(k.headers.location ?? k.body.id)] };
  };
  const own = await mk('alice');
  const foreign = await mk('bob');
  return { template: h.catalog.template, config: h.catalog.config, image: h.catalog.image, credential: own.credentials[0], sshKey, own, foreign };
}

/** The XML root element each corpus body is sent under. */
const XML_ROOT: Record<string, string> = {
  'post /api/machines': 'MachineCreate', 'put /api/machines/:id': 'Machine', 'post /api/machines/:id': 'Action',
  'post /api/machines/:id/:action': 'Action', 'post /api/jobs/:id/stop': 'Action', 'post /api/machineConfigs': 'MachineConfiguration',
  'post /api/machineImages': 'MachineImage', 'post /api/machineTemplates': 'MachineTemplate', 'post /api/credentials': 'CredentialCreate',
  'post /api/apiKeys': 'ApiKeyCreate', 'put /api/quotas/:tenant': 'Quota',
};

const COLLECTION_OF: Record<string, string> = { machines: 'machines', jobs: 'jobs', credentials: 'credentials', apiKeys: 'apiKeys' };

interface Case { user: string; method: string; path: string; query: string; contentType: string | null; accept: string | null; extra: [string, string] | null; body: string | null; label: string }

function caseArb(ids: Fixture): fc.Arbitrary<Case> {
  const templates = Object.keys(ROUTE_ROLES);
  const bodies = corpus(ids);
  const idFor = (template: string, seg: string) => {
    const coll = template.split('/')[2];
    const key = COLLECTION_OF[coll];
    return fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...(key ? ids.own[key] : [ids.config, ids.image, ids.template, 'acme', 'globex'])) },
      { weight: 2, arbitrary: fc.constantFrom(...(key ? ids.foreign[key] : ['ops'])) },
      { weight: 1, arbitrary: fc.uuid() },
      { weight: 1, arbitrary: hostile.map((s) => encodeURIComponent(s) || 'x') },
      { weight: 1, arbitrary: fc.constant(seg === ':action' ? 'stop' : 'x') },
    );
  };
  const path = fc.oneof(
    // Routes that change something come up three times as often as the rest.
    { weight: 8, arbitrary: fc.constantFrom(...templates.flatMap((t) => (Object.keys(ROUTE_ROLES[t]).some((m) => m !== 'get') ? [t, t, t] : [t]))).chain((t) => {
      const segs = t.split('/');
      return fc.tuple(...segs.map((s) => (s.startsWith(':') ? (s === ':action' ? fc.oneof(fc.constantFrom('start', 'stop', 'restart', 'pause', 'suspend', 'capture', 'eventLog', 'disks', 'volumes'), hostile.map((x) => encodeURIComponent(x) || 'x')) : idFor(t, s)) : fc.constant(s))))
        .map((parts) => ({ template: t, path: parts.join('/') }));
    }) },
    { weight: 1, arbitrary: fc.array(hostile.map((s) => encodeURIComponent(s)), { maxLength: 4 }).map((a) => ({ template: '', path: `/api/${a.join('/')}` })) },
    { weight: 1, arbitrary: fc.constantFrom('/api//machines', '/api/machines/', '/api/./machines', '/api/machines/..', '/API/machines', '/api/machines%2F', '/', '/api', '/api/cloudEntryPoint/x').map((p) => ({ template: '', path: p })) },
  );
  const method = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('get', 'post', 'put', 'delete') }, { weight: 1, arbitrary: fc.constantFrom('patch', 'head', 'options') });
  const mutate = (b: Body) => fc.array(fc.tuple(fc.constantFrom('set', 'drop', 'add'), fc.nat(), hostileValue), { maxLength: 3 }).map((ms) => {
    const out: Body = JSON.parse(JSON.stringify(b));
    for (const [op, i, v] of ms) {
      const keys = Object.keys(out);
      const k = keys.length > 0 ? keys[i % keys.length] : 'x';
      if (op === 'drop') delete out[k];
      else if (op === 'set') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else Object.defineProperty(out, typeof v === 'string' && v.length > 0 ? v.slice(0, 100) : 'extra', { value: v, enumerable: true, writable: true, configurable: true });
    }
    return out;
  });
  return fc.record({
    user: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('alice', 'alice', 'bob', 'root') }, { weight: 1, arbitrary: fc.constantFrom('carol', 'wrong-password', 'nobody') }),
    method,
    declared: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    p: path,
    query: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom('$filter', '$select', '$orderby', '$first', '$last', '$expand', 'day', 'x'), hostile).map(([k, v]) => `?${k}=${encodeURIComponent(v)}`) }),
    // 'match': the type of the body sent (JSON or XML), as a well-behaved client does.
    contentType: fc.oneof({ weight: 6, arbitrary: fc.constant<string | null>('match') }, { weight: 1, arbitrary: fc.constantFrom<string | null>('application/json', 'application/xml', 'application/cimi+json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', null) }),
    accept: fc.oneof({ weight: 6, arbitrary: fc.constantFrom<string | null>(null, 'application/json', 'application/xml', '*/*') }, { weight: 1, arbitrary: fc.constantFrom<string | null>('text/html', 'application/xml;q=0.1, application/json;q=0.9', 'x/y') }),
    extra: fc.option(fc.tuple(fc.constantFrom('X-Forwarded-For', 'CIMI-Specification-Version', 'Host', 'Origin', 'If-Match'), hostile.map((s) => s.replace(/[^\x20-\x7e]/g, '?'))), { nil: null, freq: 4 }),
    bodyKind: fc.constantFrom('valid', 'valid', 'mutated', 'mutated', 'garbage', 'none'),
    bodyPick: fc.nat(),
    xml: fc.boolean(),
    garbage: fc.oneof(hostile, fc.constantFrom('{', '{"name":', '<MachineCreate', `<MachineCreate xmlns="${CIMI}"><name>x</name>`, '[]', 'null', '"x"', '{"__proto__":{"admin":true}}')),
    mutation: fc.nat(),
  }).chain((r0) => {
    // Mostly a method the route declares, so requests get past 405 into the handlers.
    const declared = Object.keys(ROUTE_ROLES[r0.p.template] ?? {});
    const r = { ...r0, method: r0.declared && declared.length > 0 ? declared[r0.mutation % declared.length] : r0.method };
    const key = `${r.method} ${r.p.template}`;
    const poolKey = bodies[key] ? key : Object.keys(bodies)[r.bodyPick % Object.keys(bodies).length];
    const pool = bodies[poolKey];
    const base = pool[r.bodyPick % pool.length];
    const bodyArb: fc.Arbitrary<Body | string | null> = r.bodyKind === 'none' ? fc.constant(null)
      : r.bodyKind === 'garbage' ? fc.constant(r.garbage)
        : r.bodyKind === 'valid' ? fc.constant(base) : mutate(base);
    return bodyArb.map((b): Case => {
      const body = b === null ? null : typeof b === 'string' ? b : r.xml ? toXml(b, XML_ROOT[poolKey]) : JSON.stringify(b);
      const contentType = r.contentType === 'match' ? (r.xml && typeof b === 'object' && b !== null ? 'application/xml' : 'application/json') : r.contentType;
      const label = `${r.user} ${r.method.toUpperCase()} ${r.p.path.slice(0, 120)}${r.query.slice(0, 60)} [${contentType}]${r.accept ? ` Accept: ${r.accept}` : ''}${r.extra ? ` ${r.extra[0]}: ${r.extra[1].slice(0, 40)}` : ''} ${body === null ? '' : body.slice(0, 160)}`;
      return { user: r.user, method: r.method, path: r.p.path, query: r.query, contentType, accept: r.accept, extra: r.extra, body, label };
    });
  });
}

function toXml(b: Body, root: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const node = (k: string, v: unknown): string => {
    const name = /^[A-Za-z][A-Za-z0-9]*$/.test(k) ? k : 'x';
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Body;
      if (Object.keys(o).length === 1 && typeof o.href === 'string') return `<${name} href="${esc(o.href).replace(/"/g, '&quot;')}"/>`;
      if (name === 'properties') return Object.entries(o).map(([pk, pv]) => `<property key="${esc(pk).replace(/"/g, '&quot;')}">${esc(String(pv))}</property>`).join('');
      return `<${name}>${Object.entries(o).map(([ck, cv]) => node(ck, cv)).join('')}</${name}>`;
    }
    if (Array.isArray(v)) return v.map((x) => node(name.replace(/s$/, ''), x)).join('');
    return v === null ? `<${name}/>` : `<${name}>${esc(String(v))}</${name}>`;
  };
  return `<${root} xmlns="${CIMI}">${Object.entries(b).map(([k, v]) => node(k, v)).join('')}</${root}>`;
}

async function send(h: Harness, c: Case): Promise<request.Response> {
  let t = (request(h.app) as unknown as Record<string, (p: string) => request.Test>)[c.method](c.path + c.query);
  if (c.user === 'wrong-password') t = t.auth('alice', 'not the password');
  else if (c.user !== 'nobody') t = t.auth(c.user, PASSWORD);
  if (c.contentType) t = t.set('Content-Type', c.contentType);
  if (c.accept) t = t.set('Accept', c.accept);
  if (c.extra) t = t.set(c.extra[0], c.extra[1]);
  if (c.body !== null) t = t.send(c.body);
  return t;
}

export async function runApiFuzz(h: Harness, ids: Fixture, opts: { seed: number; numRuns: number }): Promise<FuzzReport> {
  const report: FuzzReport = { cases: 0, statuses: {}, serverErrors: [], rejectedThatChangedState: [], notCimiErrors: [], responsiveAfter: false };
  await fc.assert(fc.asyncProperty(caseArb(ids), async (c) => {
    const before = dumpBus(h);
    const res = await send(h, c);
    report.cases++;
    if (process.env.SKYBUS_FUZZ_TRACE) console.log(`${res.status} ${c.label.slice(0, 300)} -> ${res.status >= 400 ? (res.text ?? '').slice(0, 160) : ''}`);
    report.statuses[res.status] = (report.statuses[res.status] ?? 0) + 1;
    if (res.status >= 500) report.serverErrors.push(`${res.status} ${c.label} -> ${res.text.slice(0, 200)}`);
    if (res.status >= 400) {
      const changed = diff(before, dumpBus(h));
      if (changed.length > 0) report.rejectedThatChangedState.push(`${res.status} ${c.label}: changed ${changed.join(', ')}`);
      if (c.method !== 'head') {
        const isXml = /xml/.test(res.headers['content-type'] ?? '');
        const ok = isXml ? /<Error[\s>]/.test(res.text) && res.text.includes(`xmlns="${CIMI}"`) && res.text.includes(`<status>${res.status}</status>`) : res.body?.resourceURI === `${CIMI}/Error` && res.body?.status === res.status;
        if (!ok) report.notCimiErrors.push(`${res.status} ${c.label} -> ${res.text.slice(0, 200)}`);
      }
    }
  }), { seed: opts.seed, numRuns: opts.numRuns });
  const entry = await request(h.app).get('/api/cloudEntryPoint');
  const list = await as(h.app, 'alice', 'get', '/api/machines');
  report.responsiveAfter = entry.status === 200 && list.status === 200;
  return report;
}
