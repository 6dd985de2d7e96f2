/** The user commands' HTTP client for the CIMI API (JSON), with CIMI errors turned into messages. */
import { SkybusError } from '../errors/registry.js';

export interface ApiTarget { url: string; user: string; password: string }

export class ApiClient {
  private readonly origin: string;

  constructor(private readonly t: ApiTarget) {
    let u: URL;
    try { u = new URL(t.url); } catch { throw new SkybusError('VALIDATION', `--url / SKYBUS_URL is not a URL: '${t.url}'`); }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SkybusError('VALIDATION', `--url / SKYBUS_URL must be http or https: '${t.url}'`);
    this.origin = u.origin;
  }

  /**
   * The URL to call. Links the server sends (Location, CIMI-Job-URI, hrefs) are absolute; they are
   * followed only when they point at the origin the client was given, so credentials never go to
   * another host (a frontend without SKYBUS_FRONTEND_PUBLIC_URL builds links from the Host header).
   */
  private abs(pathOrUrl: string): string {
    if (!/^[a-z][a-z0-9+.-]*:/i.test(pathOrUrl)) return this.t.url.replace(/\/+$/, '') + pathOrUrl;
    let u: URL;
    try { u = new URL(pathOrUrl); } catch { throw new SkybusError('VALIDATION', `the server sent a link that is not a URL: ${pathOrUrl.slice(0, 200)}`); }
    if (u.origin !== this.origin) {
      throw new SkybusError('VALIDATION', `the server sent a link to ${u.origin}, not ${this.origin}: credentials are only sent to ${this.origin} (set SKYBUS_FRONTEND_PUBLIC_URL on the server)`);
    }
    return u.href;
  }

  /** A GET whose answer is not JSON (a CSV download): its text, errors as in call(). */
  async getText(pathOrUrl: string, accept: string): Promise<string> {
    let res: Response;
    try {
      res = await fetch(this.abs(pathOrUrl), { headers: { authorization: 'Basic ' + Buffer.from(`${this.t.user}:${this.t.password}`).toString('base64'), accept } });
    } catch (e) {
      throw new SkybusError('UNAVAILABLE', `cannot reach Skybus at ${this.t.url}: ${(e as Error).message}`);
    }
    const text = await res.text();
    if (res.status >= 400) {
      let msg = res.statusText;
      try { const j = JSON.parse(text) as { message?: unknown }; if (typeof j.message === 'string') msg = j.message; } catch { /* not JSON */ }
      throw new SkybusError(res.status === 401 ? 'UNAUTHENTICATED' : res.status === 403 ? 'FORBIDDEN' : res.status >= 500 ? 'UNAVAILABLE' : 'VALIDATION', `${res.status}: ${msg}`);
    }
    return text;
  }

  async call(method: string, pathOrUrl: string, body?: unknown): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
    let res: Response;
    try {
      res = await fetch(this.abs(pathOrUrl), {
        method,
        headers: {
          authorization: 'Basic ' + Buffer.from(`${this.t.user}:${this.t.password}`).toString('base64'),
          accept: 'application/json',
          // State-changing requests always name their media type (the API refuses bodiless form posts).
          ...(body !== undefined || method === 'POST' || method === 'PUT' ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw new SkybusError('UNAVAILABLE', `cannot reach Skybus at ${this.t.url}: ${(e as Error).message}`);
    }
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try { parsed = text ? JSON.parse(text) as Record<string, unknown> : {}; } catch { parsed = { message: text }; }
    if (res.status >= 400) {
      const msg = typeof parsed.message === 'string' ? parsed.message : res.statusText;
      throw new SkybusError(res.status === 404 ? 'NOT_FOUND' : res.status === 401 ? 'UNAUTHENTICATED' : res.status === 409 ? 'INVALID_STATE' : res.status >= 500 ? 'UNAVAILABLE' : 'VALIDATION', `${res.status}: ${msg}`);
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }
}
