/**
 * Carrying out a capture (docs/capture.md): the machine's disk is copied, without its backing chain,
 * into `<imageDir>/<image id>.qcow2` by `qemu-img convert -O qcow2`, and the outcome is written as the
 * image's status (store.catalog.setImageStatus). Which disk: a disk-image machine's root overlay; a
 * kernel-boot machine's first data disk (its root file system is the initrd, which the image keeps
 * by reference, like the kernel).
 *
 * A running machine is paused (vCPUs stopped; QEMU drains and flushes its block layer when it stops)
 * for the length of the copy and resumed afterwards: the copy is crash-consistent, what the disk
 * would hold after a power cut at that instant. Writes still in the guest's page cache are not in it.
 *
 * On the libvirt test driver there is no disk: a small placeholder text file stands in for the copy,
 * so the whole life cycle (CREATING -> AVAILABLE, a machine made from the image) still runs.
 *
 * A copy that fails is an outcome, not an action failure: the image goes to ERROR with the reason
 * and the capture is done. Only a failure to write that outcome to the bus makes the action fail
 * (and be retried); a capture redone after a crash overwrites the same file.
 */
import { execFile } from 'node:child_process';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BusStore } from '../schema/bus-store.js';
import type { HostMachine, ImageStatus } from '../schema/types.js';
import type { AgentConfig } from './config.js';
import { machinePaths } from './domain-xml.js';
import { errorText } from './error-text.js';
import type { LibvirtHost } from './libvirt-host.js';

const run = promisify(execFile);

export function capturedImageFile(imageDir: string, imageId: string): string {
  return join(imageDir, `${imageId}.qcow2`);
}

/** The disk a capture copies: the root overlay, or for kernel boot the first data disk (null: none). */
export function captureSourceDisk(workDir: string, m: HostMachine): string | null {
  const paths = machinePaths(workDir, m);
  if (m.spec.image?.format === 'kernel') return paths.extraDisks[0] ?? null;
  return m.spec.image ? paths.overlay : null;
}

async function virtualSizeKiB(file: string): Promise<number> {
  const { stdout } = await run('qemu-img', ['info', '--output=json', file], { timeout: 60_000 });
  const size = (JSON.parse(stdout) as { 'virtual-size'?: number })['virtual-size'];
  if (typeof size !== 'number') throw new Error(`qemu-img info gave no virtual size for ${file}`);
  return Math.ceil(size / 1024);
}

/** qemu-img convert of the disk, with the guest paused around it when it runs. Returns the virtual size. */
async function copyDisk(m: HostMachine, source: string, target: string, host: LibvirtHost, config: AgentConfig): Promise<number> {
  const partial = `${target}.partial`;
  await rm(partial, { force: true });
  const snap = await host.lookup(m.machineId);
  const pause = snap?.state === 'running';
  if (pause) await host.suspend(m.machineId);
  try {
    // -U: the running (paused) QEMU holds the image's lock; reading it is safe while the vCPUs are stopped.
    await run('qemu-img', ['convert', '-U', '-O', 'qcow2', source, partial], { timeout: config.captureTimeoutMs });
  } catch (e) {
    await rm(partial, { force: true });
    const err = e as { stderr?: string };
    throw new Error(`qemu-img convert: ${(err.stderr ?? '').trim() || errorText(e)}`);
  } finally {
    if (pause) await host.resume(m.machineId);
  }
  await rename(partial, target);
  return virtualSizeKiB(target);
}

/** The test driver's stand-in: a small text file where the copy would be. */
async function writePlaceholder(m: HostMachine, target: string): Promise<number | null> {
  await writeFile(target, `skybus test-driver capture placeholder\nmachine ${m.machineId}\nimage ${m.spec.capture!.imageId}\n`);
  return m.spec.image?.format === 'kernel' ? m.spec.disks[0]?.capacityKiB ?? null : null;
}

export async function captureDisk(m: HostMachine, host: LibvirtHost, config: AgentConfig, store: BusStore, now: () => number): Promise<ImageStatus> {
  const req = m.spec.capture;
  if (!req) throw new Error('no capture asked');
  const kernel = m.spec.image?.format === 'kernel';
  const target = capturedImageFile(config.imageDir, req.imageId);
  let status: ImageStatus;
  try {
    const source = captureSourceDisk(config.workDir, m);
    if (!source) throw new Error('the machine has no disk to capture');
    await mkdir(config.imageDir, { recursive: true });
    const size = host.domainType === 'test' ? await writePlaceholder(m, target) : await copyDisk(m, source, target, host, config);
    status = {
      state: 'AVAILABLE', location: kernel ? m.spec.image!.location : target, disk: kernel ? target : null,
      virtualSizeKiB: size, error: null, hostId: config.hostId, updatedAt: now(),
    };
  } catch (e) {
    status = { state: 'ERROR', location: null, disk: null, virtualSizeKiB: null, error: `capture failed: ${errorText(e)}`, hostId: config.hostId, updatedAt: now() };
  }
  // The image was deleted while the copy ran: nothing refers to the file, remove it.
  if (!(await store.catalog.setImageStatus(req.imageId, m.tenant, status))) await rm(target, { force: true });
  return status;
}
