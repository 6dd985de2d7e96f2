/** A volume's file on its host (docs/volumes.md): made with qemu-img, removed at delete. Nothing is written on the test driver. */
import { execFile } from 'node:child_process';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { VolumeSpec } from '../schema/types.js';
import { qemuImg } from './disks.js';
import { diskFormat } from './domain-xml.js';

const run = promisify(execFile);

async function exists(p: string): Promise<boolean> {
  try { await stat(p); return true; } catch { return false; }
}

/**
 * Make the file unless it exists (idempotent: a restarted agent never wipes a volume). Made aside
 * and renamed, so a half-made file is never taken for the volume. The test driver only records the path.
 */
export async function ensureVolumeFile(path: string, spec: Pick<VolumeSpec, 'capacityKiB' | 'format'>, domainType: 'test' | 'qemu'): Promise<void> {
  if (domainType === 'test') return;
  if (await exists(path)) return;
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  await rm(partial, { force: true });
  await run(await qemuImg(), ['create', '-q', '-f', diskFormat(spec.format), partial, `${Math.max(1, Math.floor(spec.capacityKiB))}K`], { timeout: 60_000 });
  await rename(partial, path);
}

export async function removeVolumeFile(path: string): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.partial`, { force: true });
}
