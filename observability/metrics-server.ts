/** A minimal HTTP endpoint serving /metrics, for roles that run without the frontend (placement, agent). */
import { createServer, type Server } from 'node:http';
import { ConfigError } from '../errors/registry.js';
import type { SkybusMetrics } from './metrics.js';

export async function serveMetrics(metrics: SkybusMetrics, host: string, port: number): Promise<{ server: Server; url: string; stop(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: only GET /metrics is served here\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new ConfigError(`${host}:${port} is already in use: choose another --metrics-port`) : e));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const url = `http://${host}:${typeof addr === 'object' && addr ? addr.port : port}/metrics`;
  return { server, url, stop: () => new Promise<void>((r) => server.close(() => r())) };
}
