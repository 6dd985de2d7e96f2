/**
 * Simulated hosts on libvirt's test driver. `test:///default` is ONE shared host per process (with a
 * predefined domain named "test"); `test:///<absolute path to a node XML file>` gives every connection
 * its own private, empty host with the capacity the file declares. This writes such a file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { xmlEscape } from './domain-xml.js';

export interface TestHostSpec {
  cpus: number;
  memoryKiB: number;
  /** Reported as the node's CPU model (nodeGetInfo().model); the agent reads the arch from it. */
  model?: string;
  mhz?: number;
}

/** The node XML libvirt's test driver reads (cpus = nodes x sockets x cores x threads). */
export function testNodeXml(spec: TestHostSpec): string {
  if (!Number.isInteger(spec.cpus) || spec.cpus < 1) throw new Error('cpus must be a positive integer');
  if (!Number.isSafeInteger(spec.memoryKiB) || spec.memoryKiB < 1) throw new Error('memoryKiB must be a positive integer');
  return [
    '<node>',
    '  <cpu>',
    `    <mhz>${spec.mhz ?? 2000}</mhz>`,
    `    <model>${xmlEscape(spec.model ?? 'x86_64')}</model>`,
    `    <active>${spec.cpus}</active>`,
    '    <nodes>1</nodes>',
    '    <sockets>1</sockets>',
    `    <cores>${spec.cpus}</cores>`,
    '    <threads>1</threads>',
    '  </cpu>',
    `  <memory>${spec.memoryKiB}</memory>`,
    '</node>',
    '',
  ].join('\n');
}

/** Write the node XML to `file` (absolute, or resolved) and return its test:// URI. */
export function writeTestHost(file: string, spec: TestHostSpec): string {
  const path = isAbsolute(file) ? file : resolve(file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, testNodeXml(spec));
  return `test://${path}`;
}
