/** The running Skybus release: package.json's version, read once (what an agent announces, docs/monitoring-api.md). */
import { readFileSync } from 'node:fs';

let version: string | null = null;

function read(u: URL): string | null {
  try {
    const p = JSON.parse(readFileSync(u, 'utf8')) as { name?: unknown; version?: unknown };
    return p.name === 'skybus' && typeof p.version === 'string' ? p.version : null;
  } catch {
    return null;
  }
}

export function skybusVersion(): string {
  // From observability/ in the sources, or dist/observability/ when built: the project is one or two levels up.
  version ??= read(new URL('../package.json', import.meta.url)) ?? read(new URL('../../package.json', import.meta.url)) ?? 'unknown';
  return version;
}
