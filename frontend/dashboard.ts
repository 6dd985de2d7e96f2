/**
 * The web dashboard (docs/dashboard.md) at /ui/: static files built from ui/ by scripts/build-ui.mjs
 * into dist/ui (index.html, app.js, app.css, uPlot.min.css). Public like any login page: the files
 * hold no data; every figure on the pages comes from /api with the user's own credentials. A strict
 * Content-Security-Policy allows only this origin's scripts, styles and API.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { NotFoundError } from '../errors/registry.js';

export const UI_PREFIX = '/ui';
/** Sent by the dashboard with every API call: its 401s carry no Basic challenge (no browser password dialog). */
export const UI_CLIENT_HEADER = 'x-skybus-client';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** dist/ui beside this module's own build directory (dist/frontend). */
export function builtUiDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'ui');
}

export function dashboardRoutes(dir = builtUiDir()): Router {
  const r = Router();
  // /ui → /ui/ (the page's relative links need the slash); the router is not strict, so look at the path itself.
  r.get(UI_PREFIX, (req, res, next) => { if (req.path === UI_PREFIX) res.redirect(301, `${UI_PREFIX}/`); else next(); });
  r.use(UI_PREFIX, (_req, res, next) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (!existsSync(join(dir, 'index.html'))) { next(new NotFoundError('the dashboard is not built here (npm run build builds it into dist/ui)')); return; }
    next();
  });
  r.use(UI_PREFIX, express.static(dir, { index: 'index.html', redirect: false, fallthrough: true, dotfiles: 'ignore' }));
  return r;
}

/** Whether a request comes from the dashboard (its 401s must not open the browser's Basic dialog). */
export function fromDashboard(headers: Record<string, unknown>): boolean {
  return headers[UI_CLIENT_HEADER] === 'ui';
}
