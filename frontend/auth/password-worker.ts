/**
 * The body of a password-check worker thread (password-checks.ts): scrypt runs here, synchronously,
 * so it never occupies libuv's small thread pool that libvirt calls, file I/O and DNS share.
 */
import { scryptSync } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

export interface ScryptJob { id: number; password: string; salt: Buffer; keyLen: number; n: number; r: number; p: number }
export interface ScryptDone { id: number; key?: Buffer; error?: string }

parentPort?.on('message', (job: ScryptJob) => {
  let reply: ScryptDone;
  try {
    const key = scryptSync(job.password, Buffer.from(job.salt), job.keyLen, { N: job.n, r: job.r, p: job.p, maxmem: 256 * job.n * job.r + 64 * 1024 * 1024 });
    reply = { id: job.id, key };
  } catch (e) {
    reply = { id: job.id, error: (e as Error).message };
  }
  parentPort!.postMessage(reply);
});
