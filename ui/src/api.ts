/**
 * The dashboard's only way to the bus: the public API, with the user's own credentials (HTTP Basic,
 * kept in this tab's sessionStorage until logout or the tab closes). Errors come back as ApiError with
 * the CIMI error body's message; a 401 ends the session (the app shows the login form again).
 */
const KEY = 'skybus.session';
const CIMI = 'http://schemas.dmtf.org/cimi/1';

export interface Principal { name: string; tenant: string; roles: string[] }
export type Json = Record<string, unknown>;

export class ApiError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

interface Session { authorization: string; who: Principal }

function toBase64(text: string): string {
  // UTF-8 user names and passwords: btoa takes bytes as Latin-1 characters.
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

export class Api {
  /** Called once when the API answers 401 (credentials no longer valid). */
  onUnauthorized: () => void = () => {};
  private session: Session | null = null;

  constructor() {
    try {
      const raw = sessionStorage.getItem(KEY);
      if (raw) this.session = JSON.parse(raw) as Session;
    } catch { this.session = null; }
  }

  get who(): Principal | null { return this.session?.who ?? null; }
  get isAdmin(): boolean { return this.session?.who.roles.includes('admin') ?? false; }

  /** Checks the credentials against the API (GET /api/whoami) and keeps them when they work. */
  async login(user: string, password: string): Promise<Principal> {
    const authorization = `Basic ${toBase64(`${user}:${password}`)}`;
    const who = await this.call<Principal>('GET', '/api/whoami', undefined, authorization);
    this.session = { authorization, who: { name: who.name, tenant: who.tenant, roles: who.roles } };
    sessionStorage.setItem(KEY, JSON.stringify(this.session));
    return this.session.who;
  }

  logout(): void {
    this.session = null;
    sessionStorage.removeItem(KEY);
  }

  get<T = Json>(path: string): Promise<T> { return this.call<T>('GET', path); }
  delete(path: string): Promise<Json> { return this.call('DELETE', path); }

  /** A CIMI action on a resource (POST with an Action body). */
  action(path: string, action: string): Promise<Json> {
    return this.call('POST', path, { resourceURI: `${CIMI}/Action`, action: `${CIMI}/action/${action}` });
  }

  /** A text download (CSV) with the credentials: the browser cannot add them to a plain link. */
  async download(path: string, accept: string): Promise<Blob> {
    const res = await fetch(path, { headers: this.headers(accept) });
    if (!res.ok) throw await this.failure(res);
    return res.blob();
  }

  private headers(accept: string, authorization = this.session?.authorization): Record<string, string> {
    const h: Record<string, string> = { accept, 'x-skybus-client': 'ui' };
    if (authorization) h.authorization = authorization;
    return h;
  }

  private async call<T>(method: string, path: string, body?: Json, authorization?: string): Promise<T> {
    const headers = this.headers('application/json', authorization ?? this.session?.authorization);
    if (body) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    } catch {
      throw new ApiError(0, 'the Skybus API cannot be reached');
    }
    if (!res.ok) throw await this.failure(res, authorization === undefined);
    const text = await res.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  private async failure(res: Response, sessionCall = true): Promise<ApiError> {
    let message = `${res.status} ${res.statusText}`;
    try {
      const b = (await res.json()) as { message?: unknown };
      if (typeof b.message === 'string') message = b.message;
    } catch { /* not a CIMI error body */ }
    if (res.status === 401 && sessionCall && this.session) { this.logout(); this.onUnauthorized(); }
    return new ApiError(res.status, message);
  }
}
