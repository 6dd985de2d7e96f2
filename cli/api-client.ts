/** The user commands' HTTP client for the CIMI API (JSON), with CIMI errors turned into messages. */
import { SkybusError } from '../errors/registry.js';

export interface ApiTarget { url: string; user: string; password: string }

export class ApiClient {
  constructor(private readonly t: ApiTarget) {}

  private abs(pathOrUrl: string): string {
    return /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : this.t.url.replace(/\/+$/, '') + pathOrUrl;
  }

  async call(method: string, pathOrUrl: string, body?: unknown): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
    let res: Response;
    try {
      res = await fetch(this.abs(pathOrUrl), {
        method,
        headers: {
          authorization: 'Basic ' + Buffer.from(`${this.t.user}:${this.t.password}`).toString('base64'),
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
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
