/**
 * The dashboard (/ui/) in a real browser, on both stores, by the element ids and data- attributes
 * its DOM contract keeps stable: Debian's Chromium through playwright-core against a frontend, a
 * placer and a hypervisor agent on a libvirt test-driver host, all in this process. A wrong password
 * is refused on the login page; an admin sees the fleet (the agent's host up, the machine made
 * through the API); the machine's page shows it STARTED with CPU samples the agent really took, and
 * its Stop button stops the libvirt domain; the usage page's totals and its CSV download agree with
 * GET /api/usage. Screenshots of each step go to test-output/dashboard/<store kind>/ (and, when a
 * step fails, its screenshot, HTML and the page's console errors as failure.*).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { buildApp } from '../../frontend/app.js';
import { asLocalUsers } from '../../frontend/auth/authenticator.js';
import { localBasicAuth } from '../../frontend/auth/local-basic.js';
import { hashPassword } from '../../frontend/auth/passwords.js';
import { frontendConfig } from '../../frontend/config.js';
import { HypervisorAgent } from '../../hypervisor-agent/agent.js';
import { agentConfig } from '../../hypervisor-agent/config.js';
import { LibvirtHost } from '../../hypervisor-agent/libvirt-host.js';
import { writeTestHost } from '../../hypervisor-agent/test-host.js';
import { silentLogger } from '../../observability/logger.js';
import { SkybusMetrics } from '../../observability/metrics.js';
import { placementConfig } from '../../placement/config.js';
import { Placer } from '../../placement/placer.js';
import { launchBrowser, requireBrowser, type TestBrowser } from '../helpers/browser.js';
import { onBothStores, type StoreFixture } from '../helpers/stores.js';
import { until } from '../helpers/until.js';

const ADMIN = 'root';
const TENANT = 'ops';
const PASSWORD = 'dashboard e2e password';
const HOST_ID = 'dash-h1';
const MACHINE_NAME = 'dash-vm';
const DAY_MS = 86_400_000;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The repository's root: the nearest directory up from this file with Skybus's package.json. */
function repoRoot(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    const pkg = join(d, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'skybus') return d;
    if (dirname(d) === d) throw new Error('no skybus package.json above the test');
  }
}

/** A UTC day as the date inputs take it. */
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

/** RFC 4180 CSV, as frontend/usage-csv.ts writes it (quoted cells with doubled quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\r' && text[i + 1] === '\n') { /* the \n ends the row */ } else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; } else cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

/** The first number in a cell's text ("0.0123", "0.01 h", "1,234.5"), and how many decimals it shows. */
function shownNumber(text: string): { value: number; decimals: number } | null {
  const m = /-?\d[\d,]*(?:\.(\d+))?/.exec(text.replace(/\u00a0/g, ' '));
  if (!m) return null;
  return { value: Number(m[0].replace(/,/g, '')), decimals: m[1]?.length ?? 0 };
}

/** Does a number shown with some decimals equal `exact` rounded to them? */
function showsRounded(text: string, exact: number): boolean {
  const n = shownNumber(text);
  if (!n) return false;
  return Math.abs(n.value - exact) <= 0.5 * 10 ** -n.decimals + 1e-9;
}

/** Text (or an attribute) of the first element matching a selector, null when there is none. */
async function read(page: Page, selector: string, attr?: string): Promise<string | null> {
  return page.evaluate(([s, a]) => {
    const e = document.querySelector(s!);
    if (!e) return null;
    return a ? e.getAttribute(a) : (e.textContent ?? '').trim();
  }, [selector, attr ?? ''] as const).catch(() => null);
}

/** Poll a selector's text (or attribute) until `ok` says yes; the error names what was last seen. */
async function waitRead(page: Page, what: string, selector: string, ok: (v: string) => boolean, opts: { attr?: string; timeoutMs?: number } = {}): Promise<string> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last: string | null = null;
  for (;;) {
    last = await read(page, selector, opts.attr);
    if (last !== null && ok(last)) return last;
    if (Date.now() > deadline) {
      const where = opts.attr ? `${selector}[${opts.attr}]` : selector;
      throw new Error(`timed out waiting for ${what}: ${where} was ${last === null ? 'missing' : JSON.stringify(last)} (page ${page.url()})`);
    }
    await page.waitForTimeout(200);
  }
}

async function waitHash(page: Page, hash: string, timeoutMs = 20_000): Promise<void> {
  await page.waitForFunction((h) => location.hash === h, hash, { timeout: timeoutMs }).catch(async () => {
    throw new Error(`timed out waiting for the route ${hash}: location is ${page.url()}`);
  });
}

async function pageReady(page: Page, what: string): Promise<void> {
  await waitRead(page, `${what}: #page[data-ready="1"]`, '#page', (v) => v === '1', { attr: 'data-ready' });
}

function dashboardSuite(makeFixture: () => Promise<StoreFixture>) {
  let fx: StoreFixture;
  let dir: string;
  let shots: string;
  let server: Server | undefined;
  let base: string;
  let host: LibvirtHost | undefined;
  let agent: HypervisorAgent | undefined;
  let placer: Placer | undefined;
  let tb: TestBrowser | undefined;
  let page: Page;
  let machineId: string;
  let failedStep: string | null = null;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  async function api(method: string, path: string, body?: unknown, user = ADMIN, password = PASSWORD): Promise<{ status: number; headers: Headers; body: Json }> {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64'), accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) as Json : {} };
  }

  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  requireBrowser();

  before(async function () {
    this.timeout(120_000);
    fx = await makeFixture();
    dir = mkdtempSync(join(tmpdir(), 'skybus-dashboard-'));
    shots = join(repoRoot(), 'test-output', 'dashboard', fx.kind);
    rmSync(shots, { recursive: true, force: true });
    mkdirSync(shots, { recursive: true });

    await fx.store.accounts.createUser({ name: ADMIN, tenant: TENANT, passwordHash: await hashPassword(PASSWORD), roles: ['admin', 'user'], disabled: false, created: Date.now() });
    const app = buildApp({ store: fx.store, auth: asLocalUsers(localBasicAuth(fx.store)), log: silentLogger(), metrics: new SkybusMetrics(), config: frontendConfig() });
    server = createServer(app);
    await new Promise<void>((resolve, reject) => { server!.once('error', reject); server!.listen(0, '127.0.0.1', () => resolve()); });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    host = new LibvirtHost(writeTestHost(join(dir, 'host.xml'), { cpus: 8, memoryKiB: 16 * 1024 * 1024 }));
    await host.connect();
    agent = new HypervisorAgent({
      store: fx.store,
      // Monitoring samples and accounting every second, 10-second accounting periods: the charts
      // and the usage report have real figures within seconds.
      config: agentConfig({
        hostId: HOST_ID, libvirtUri: host.uri, intervalMs: 200, leaseTtlSeconds: 5, stopGraceMs: 800,
        monitorIntervalMs: 1000, metricsEveryMs: 1000, accountingPeriodSeconds: 10,
        workDir: join(dir, 'agent'), imageDir: join(dir, 'images'),
      }),
      libvirt: host,
      log: silentLogger(),
    });
    await agent.start();
    placer = new Placer({ store: fx.store, config: placementConfig({ intervalMs: 100 }), log: silentLogger(), metrics: new SkybusMetrics() });
    placer.start();

    // The catalog and one machine, through the API, running before the browser looks.
    const cfg = await api('POST', '/api/machineConfigs', { name: 'dash-small', cpu: 2, memory: 1048576, cpuArch: 'x86_64', disks: [] });
    assert.equal(cfg.status, 201, JSON.stringify(cfg.body));
    const img = await api('POST', '/api/machineImages', { name: 'dash-tiny', imageLocation: '/var/lib/skybus/images/vmlinuz', format: 'kernel', initrd: '/var/lib/skybus/images/initramfs.gz', kernelCmdline: 'console=ttyS0' });
    assert.equal(img.status, 201, JSON.stringify(img.body));
    const made = await api('POST', '/api/machines', {
      resourceURI: 'http://schemas.dmtf.org/cimi/1/MachineCreate', name: MACHINE_NAME,
      machineTemplate: { machineConfig: { href: cfg.body.id }, machineImage: { href: img.body.id }, initialState: 'STARTED' },
    });
    assert.equal(made.status, 202, JSON.stringify(made.body));
    machineId = made.headers.get('location')!.split('/').pop()!;
    await until('the machine to be STARTED', 60_000, async () => (await api('GET', `/api/machines/${machineId}`)).body.state === 'STARTED', 200);
    // Two samples with a CPU figure (an agent's first sample of a domain has none: no rate yet).
    await until('two monitoring samples of the machine with CPU used', 30_000, async () => {
      const samples = ((await api('GET', `/api/machines/${machineId}/metrics`)).body.samples ?? []) as Json[];
      return samples.filter((x) => typeof x.cpuUsed === 'number').length >= 2;
    }, 250);

    tb = await launchBrowser();
    page = tb.page;
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (e) => pageErrors.push(String(e?.stack ?? e)));
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  });

  beforeEach(function () {
    // The steps build on each other: after one failed, the rest would only fail for its reason.
    if (failedStep) this.skip();
  });

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !page) return;
    failedStep = this.currentTest.title;
    await page.screenshot({ path: join(shots, 'failure.png'), fullPage: true }).catch(() => undefined);
    const html = await page.content().catch((e) => `(no content: ${String(e)})`);
    writeFileSync(join(shots, 'failure.html'), html);
    writeFileSync(join(shots, 'failure.txt'), [`step: ${failedStep}`, `url: ${page.url()}`, '', 'page errors:', ...pageErrors, '', 'console errors:', ...consoleErrors, ''].join('\n'));
    console.warn(`      dashboard (${fx.kind}) failed at "${failedStep}" on ${page.url()}; screenshot, HTML and console in ${shots}/failure.*`);
  });

  after(async function () {
    this.timeout(60_000);
    await tb?.close();
    await placer?.stop().catch(() => undefined);
    await agent?.stop().catch(() => undefined);
    await host?.close().catch(() => undefined);
    if (server) { server.closeAllConnections(); await new Promise((r) => server!.close(r)); }
    await fx?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a wrong password is refused on the login page', async function () {
    this.timeout(60_000);
    await page.goto(`${base}/ui/`);
    await page.locator('form#login-form').waitFor({ state: 'visible' });
    // Without credentials the login page shows at /ui/ as it is, or at #/login.
    const hashBefore = new URL(page.url()).hash;
    assert.ok(['', '#/login'].includes(hashBefore), `the login page at ${page.url()}`);
    await page.fill('input#login-user', ADMIN);
    await page.fill('input#login-password', 'not the password');
    await page.click('button#login-submit');
    await waitRead(page, 'the login error', '#login-error', (v) => v.length > 0);
    assert.ok(await page.locator('#login-error').isVisible(), '#login-error has text but is not visible');
    assert.equal(new URL(page.url()).hash, hashBefore, 'still on the login page');
    assert.ok(await page.locator('form#login-form').isVisible(), 'the login form is still shown');
    assert.equal(await page.locator('nav#nav').isVisible().catch(() => false), false, 'no navigation without a login');
    await shot('login-error');
  });

  it('an admin logs in and sees the fleet: the host up, the machine made through the API', async function () {
    this.timeout(60_000);
    await page.fill('input#login-user', ADMIN);
    await page.fill('input#login-password', PASSWORD);
    await page.click('button#login-submit');
    await waitHash(page, '#/fleet');
    await pageReady(page, 'the fleet page');
    await waitRead(page, 'the user shown', '#whoami', (v) => v.includes(ADMIN) && v.includes(TENANT));
    assert.ok(await page.locator('nav#nav a#nav-fleet').isVisible(), 'a#nav-fleet');
    assert.ok(await page.locator('nav#nav a#nav-usage').isVisible(), 'a#nav-usage');
    assert.ok(await page.locator('button#logout').isVisible(), 'button#logout');
    assert.equal(await page.locator('#login-error').isVisible().catch(() => false), false, 'no login error after a good login');

    await waitRead(page, 'one host up in the summary', '#fleet-summary [data-host-health="up"]', (v) => v === '1');
    await waitRead(page, 'one running machine in the summary', '#fleet-summary [data-machine-state="running"]', (v) => v === '1');
    const hostRow = `table#hosts-table tbody tr[data-host-id="${HOST_ID}"]`;
    await waitRead(page, 'the agent\'s host row, up', `${hostRow} td.health`, (v) => /\bup\b/i.test(v));
    assert.equal(await read(page, `${hostRow} a.host-link`, 'href'), `#/hosts/${HOST_ID}`);
    const row = `table#machines-table tbody tr[data-machine-id="${machineId}"]`;
    await waitRead(page, 'the machine\'s row, STARTED', `${row} td.state`, (v) => v === 'STARTED');
    assert.equal(await read(page, `${row} td.name`), MACHINE_NAME);
    assert.equal(await read(page, `${row} a.machine-link`, 'href'), `#/machines/${machineId}`);
    assert.equal(await page.locator('table#machines-table tbody tr[data-machine-id]').count(), 1, 'one machine listed');
    await shot('fleet');
  });

  it('the machine\'s page shows it STARTED with CPU samples the agent took', async function () {
    this.timeout(60_000);
    await page.click(`table#machines-table tbody tr[data-machine-id="${machineId}"] a.machine-link`);
    await waitHash(page, `#/machines/${machineId}`);
    await pageReady(page, 'the machine page');
    assert.ok(await page.locator('#machine-detail').isVisible(), '#machine-detail');
    await waitRead(page, 'the machine STARTED', '#machine-state', (v) => v === 'STARTED');
    await waitRead(page, 'two CPU samples plotted', '#machine-chart-cpu', (v) => Number(v) >= 2, { attr: 'data-points', timeoutMs: 30_000 });
    await shot('machine-running');
  });

  it('Stop stops the machine: the page says STOPPED and libvirt\'s domain is shut off', async function () {
    this.timeout(60_000);
    await page.click('button#action-stop');
    await waitRead(page, 'the machine STOPPED', '#machine-state', (v) => v === 'STOPPED', { timeoutMs: 45_000 });
    assert.equal((await api('GET', `/api/machines/${machineId}`)).body.state, 'STOPPED');
    const dom = (await host!.listDomains()).find((d) => d.uuid === machineId);
    assert.equal(dom?.state, 'shutoff', `the libvirt domain: ${JSON.stringify(dom)}`);
    await shot('machine-stopped');
  });

  it('the usage page\'s totals and its CSV download equal GET /api/usage for today', async function () {
    this.timeout(60_000);
    // Records with time in them exist; then the agent stops, so the figures hold still while the
    // page, its CSV and the API are compared.
    const from = isoDay(Date.now());
    const to = isoDay(Date.parse(from) + DAY_MS);
    const query = `/api/usage?from=${from}&to=${to}`;
    await until('usage records with vCPU-hours', 30_000, async () => {
      const r = (await api('GET', query)).body.reports?.find((x: Json) => x.tenant === TENANT);
      return r && r.totals.records >= 1 && r.totals.vcpuHours > 0;
    }, 250);
    await agent!.stop();
    agent = undefined;
    const reports = (await api('GET', query)).body.reports as Json[];
    assert.deepEqual(reports.map((r) => r.tenant), [TENANT], 'only the admin\'s tenant has usage');
    const expected = reports[0]!.totals as { records: number; vcpuHours: number; gibHours: number };

    await page.click('nav#nav a#nav-usage');
    await waitHash(page, '#/usage');
    await pageReady(page, 'the usage page');
    await page.locator('input#usage-from').waitFor({ state: 'visible' });
    assert.equal(await page.locator('input#usage-from').getAttribute('type'), 'date');
    await page.fill('input#usage-from', from);
    await page.fill('input#usage-to', to);
    await page.fill('input#usage-tenant', ''); // own tenant
    await page.click('button#usage-run');
    await waitRead(page, `records = ${expected.records}`, 'table#usage-totals td[data-total="records"]', (v) => shownNumber(v)?.value === expected.records);
    await waitRead(page, `vCPU-hours ≈ ${expected.vcpuHours}`, 'table#usage-totals td[data-total="vcpuHours"]', (v) => showsRounded(v, expected.vcpuHours));
    await waitRead(page, `GiB-hours ≈ ${expected.gibHours}`, 'table#usage-totals td[data-total="gibHours"]', (v) => showsRounded(v, expected.gibHours));
    await shot('usage');

    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), page.click('button#usage-csv')]);
    assert.equal(download.suggestedFilename(), `usage-${TENANT}-${from}.csv`);
    const failure = await download.failure();
    assert.equal(failure, null, `the download failed: ${failure}`);
    const saved = join(shots, download.suggestedFilename());
    await download.saveAs(saved);
    const rows = parseCsv(readFileSync(saved, 'utf8'));
    const header = rows[0]!;
    const col = (name: string) => { const i = header.indexOf(name); assert.ok(i >= 0, `CSV column ${name} in ${header.join(',')}`); return i; };
    // The tenant's total is its last row without a machine (per-machine rows, or per-day rows with
    // no machine either, come before it: frontend/usage-csv.ts).
    const mine = rows.slice(1).filter((r) => r[col('tenant')] === TENANT);
    const t = mine[mine.length - 1];
    assert.ok(t && t[col('machine')] === '', `a total row for ${TENANT} in ${JSON.stringify(rows)}`);
    assert.equal(t[col('from')], `${from}T00:00:00.000Z`);
    assert.equal(t[col('to')], `${to}T00:00:00.000Z`);
    assert.equal(Number(t[col('records')]), expected.records);
    assert.equal(Number(t[col('vcpu_hours')]), expected.vcpuHours);
    assert.equal(Number(t[col('gib_hours')]), expected.gibHours);
    // 2 vCPUs and 1 GiB: twice as many vCPU-hours as GiB-hours.
    assert.ok(Math.abs(expected.vcpuHours - 2 * expected.gibHours) < 1e-5, JSON.stringify(expected));
  });

  it('the page threw no uncaught errors', function () {
    assert.deepEqual(pageErrors, []);
  });
}

describe('dashboard (/ui/) in a real browser', function () {
  onBothStores(dashboardSuite);
});
