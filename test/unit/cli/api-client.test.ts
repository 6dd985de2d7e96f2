import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { ApiClient } from '../../../cli/api-client.js';

/** A server that answers every request with `reply` and remembers what it was sent. */
async function server(reply: (req: IncomingMessage) => { status: number; headers?: Record<string, string>; body?: unknown }): Promise<{ url: string; seen: IncomingMessage[]; close(): Promise<void> }> {
  const seen: IncomingMessage[] = [];
  const s: Server = createServer((req, res) => {
    seen.push(req);
    const r = reply(req);
    res.writeHead(r.status, { 'content-type': 'application/json', ...(r.headers ?? {}) });
    res.end(JSON.stringify(r.body ?? {}));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise<void>((r) => s.close(() => r())) };
}

describe('cli: the API client sends credentials only to the origin it was given', () => {
  it('follows a same-origin link, refuses a link to another origin without contacting it', async () => {
    const other = await server(() => ({ status: 200, body: { stolen: true } }));
    const api = await server((req) => (req.url === '/api/machines'
      ? { status: 202, headers: { location: `${other.url}/api/machines/x` }, body: {} }
      : { status: 200, body: { ok: true } }));
    try {
      const c = new ApiClient({ url: api.url, user: 'alice', password: 'secret:with:colons' });
      const created = await c.call('POST', '/api/machines', { name: 'x' });
      assert.equal(created.status, 202);
      assert.equal((await c.call('GET', `${api.url}/api/machines/y`)).body.ok, true);
      await assert.rejects(c.call('GET', created.headers.get('location')!), (e: Error) => /credentials are only sent to http:\/\/127\.0\.0\.1/.test(e.message));
      assert.equal(other.seen.length, 0, 'nothing was sent to the other origin');
      // Credentials went where they belong, split at the first colon by the server.
      const auth = api.seen[0].headers.authorization!;
      assert.equal(Buffer.from(auth.slice('Basic '.length), 'base64').toString(), 'alice:secret:with:colons');
    } finally {
      await other.close();
      await api.close();
    }
  });

  it('names a media type on every POST and PUT, even without a body', async () => {
    const api = await server(() => ({ status: 202, body: {} }));
    try {
      await new ApiClient({ url: api.url, user: 'a', password: 'b' }).call('POST', '/api/machines/1/restart');
      assert.equal(api.seen[0].headers['content-type'], 'application/json');
    } finally {
      await api.close();
    }
  });

  it('a bad --url is a clear error', () => {
    assert.throws(() => new ApiClient({ url: 'not a url', user: 'a', password: 'b' }), /SKYBUS_URL is not a URL/);
    assert.throws(() => new ApiClient({ url: 'ftp://x', user: 'a', password: 'b' }), /must be http or https/);
  });
});
