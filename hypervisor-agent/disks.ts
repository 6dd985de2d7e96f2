/** Per-machine files on the host: qcow2 overlays (qemu-img), extra disks, removal. Not used on the test driver. */
import { execFile } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { HostMachine } from '../schema/types.js';
import { diskFormat, machinePaths } from './domain-xml.js';

const run = promisify(execFile);

async function exists(p: string): Promise<boolean> {
  try { await stat(p); return true; } catch { return false; }
}

let qemuImgChecked: string | null = null;

/** The qemu-img binary, checked once (volume-files.ts uses it too). */
export async function qemuImg(): Promise<string> {
  if (qemuImgChecked) return qemuImgChecked;
  try {
    await run('qemu-img', ['--version'], { timeout: 10_000 });
  } catch {
    throw new Error('qemu-img is not installed (or not on PATH): it is needed to create the qcow2 overlay of a disk image; install qemu-utils');
  }
  qemuImgChecked = 'qemu-img';
  return qemuImgChecked;
}

/**
 * Make the machine's directory, and (unless the driver is 'test') its overlay on the image and its
 * extra disks. Idempotent: existing files are kept (a restarted agent must not wipe a guest's disk).
 */
export async function prepareMachineFiles(m: HostMachine, workDir: string, domainType: 'test' | 'qemu'): Promise<void> {
  const p = machinePaths(workDir, m);
  await mkdir(p.dir, { recursive: true });
  if (domainType === 'test') return;
  const image = m.spec.image;
  if (image && image.format !== 'kernel' && !(await exists(p.overlay))) {
    if (!(await exists(image.location))) throw new Error(`image ${image.id} (${image.location}) is not on this host`);
    const bin = await qemuImg();
    await run(bin, ['create', '-f', 'qcow2', '-F', image.format, '-b', image.location, p.overlay], { timeout: 60_000 });
  }
  const disks = m.spec.disks ?? [];
  for (let i = 0; i < disks.length; i++) {
    const file = p.extraDisks[i]!;
    if (await exists(file)) continue;
    const bin = await qemuImg();
    const size = `${Math.max(1, Math.floor(disks[i]!.capacityKiB))}K`;
    const source = disks[i]!.source;
    if (source) {
      // A captured image's disk (docs/capture.md): this machine's disk is a qcow2 overlay on it.
      if (!(await exists(source))) throw new Error(`disk ${i + 1}'s image file ${source} is not on this host (images must be on storage every host reaches)`);
      await run(bin, ['create', '-f', 'qcow2', '-F', 'qcow2', '-b', source, file, size], { timeout: 60_000 });
    } else {
      await run(bin, ['create', '-f', diskFormat(disks[i]!.format), file, size], { timeout: 60_000 });
    }
  }
}

export async function hasSaveFile(workDir: string, machineId: string): Promise<boolean> {
  return exists(machinePaths(workDir, machineId).saveFile);
}

export async function removeSaveFile(workDir: string, machineId: string): Promise<void> {
  await rm(machinePaths(workDir, machineId).saveFile, { force: true });
}

/** Everything the machine had on this host: overlay, disks, save file, console log. */
export async function removeMachineFiles(workDir: string, machineId: string): Promise<void> {
  await rm(machinePaths(workDir, machineId).dir, { recursive: true, force: true });
}
