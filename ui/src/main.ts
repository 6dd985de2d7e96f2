/**
 * The Skybus dashboard: a single-page app on hash routes, reading only the public API (api.ts).
 *   #/login  #/fleet  #/hosts/<id>  #/machines/<id>  #/usage
 */
import { Api } from './api.js';
import { byId, fill, h } from './dom.js';
import type { PageContext, PageRender } from './page.js';
import { fleetPage } from './pages/fleet.js';
import { hostPage } from './pages/host.js';
import { loginPage } from './pages/login.js';
import { machinePage } from './pages/machine.js';
import { usagePage } from './pages/usage.js';

const api = new Api();
const ROUTES: [RegExp, PageRender][] = [
  [/^\/fleet$/, fleetPage],
  [/^\/hosts\/([^/]+)$/, hostPage],
  [/^\/machines\/([^/]+)$/, machinePage],
  [/^\/usage$/, usagePage],
];

let current: { left: boolean; timers: number[] } | null = null;
let loginNote = '';

function leave(): void {
  if (!current) return;
  current.left = true;
  for (const t of current.timers) clearInterval(t);
  current = null;
}

function showNav(): void {
  const nav = byId('nav');
  const who = api.who;
  nav.hidden = !who;
  if (!who) { nav.replaceChildren(); return; }
  const logout = h('button', { id: 'logout', type: 'button' }, 'log out');
  logout.addEventListener('click', () => { api.logout(); loginNote = ''; location.hash = '#/login'; route(); });
  fill(nav, h('a', { id: 'nav-fleet', href: '#/fleet' }, api.isAdmin ? 'fleet' : 'machines'), h('a', { id: 'nav-usage', href: '#/usage' }, 'usage'),
    h('span', { id: 'whoami' }, `${who.name} · ${who.tenant}${api.isAdmin ? ' · admin' : ''}`), logout);
}

function route(): void {
  leave();
  const page = byId('page');
  delete page.dataset.ready;
  showNav();
  const path = location.hash.replace(/^#/, '') || '/fleet';
  let render: PageRender;
  let params: string[] = [];
  if (!api.who || path === '/login') {
    // The login form has its own address; after login the page asked for (if any) opens.
    const next = path === '/login' ? '/fleet' : path;
    if (path !== '/login') history.replaceState(null, '', '#/login');
    render = loginPage(loginNote, () => { loginNote = ''; location.hash = `#${next}`; });
  } else {
    const hit = ROUTES.map(([re, r]) => [path.match(re), r] as const).find(([m]) => m);
    if (!hit) { location.hash = '#/fleet'; return; }
    render = hit[1];
    params = hit[0]!.slice(1).map((p) => decodeURIComponent(p));
  }
  const state = { left: false, timers: [] as number[] };
  current = state;
  const fail = (e: unknown) => {
    if (state.left) return;
    page.append(h('p', { class: 'error', role: 'alert' }, `could not load: ${e instanceof Error ? e.message : String(e)}`));
  };
  const ctx: PageContext = {
    api,
    ready: () => { if (!state.left) page.dataset.ready = '1'; },
    every: (ms, fn) => { state.timers.push(window.setInterval(() => { if (!state.left) Promise.resolve(fn()).catch(fail); }, ms)); },
    get left() { return state.left; },
  };
  render(ctx, page, params).catch(fail);
}

api.onUnauthorized = () => { loginNote = 'your session ended: log in again'; location.hash = '#/login'; route(); };
window.addEventListener('hashchange', route);
route();
