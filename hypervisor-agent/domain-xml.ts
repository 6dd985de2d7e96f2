/**
 * Pure: the libvirt domain XML for a machine, and where its per-machine files live. No I/O here;
 * disks.ts creates the overlay files, libvirt-host.ts hands the XML to libvirt.
 */
import { join } from 'node:path';
import type { HostMachine, NicSpec } from '../schema/types.js';

export type DomainType = 'test' | 'qemu';

export interface MachinePaths {
  /** Per-machine directory under workDir. */
  dir: string;
  /** qcow2 overlay backed by the image (qcow2/raw images). */
  overlay: string;
  /** Extra empty disks from spec.disks, in order. */
  extraDisks: string[];
  /** Where SUSPENDED machines are saved. */
  saveFile: string;
  /** The serial console log. */
  consoleLog: string;
}

export function domainName(prefix: string, machineId: string): string {
  return `${prefix}${machineId}`;
}

export function machinePaths(workDir: string, machine: Pick<HostMachine, 'machineId' | 'spec'> | string): MachinePaths {
  const id = typeof machine === 'string' ? machine : machine.machineId;
  const disks = typeof machine === 'string' ? [] : machine.spec.disks ?? [];
  const dir = join(workDir, 'machines', id);
  return {
    dir,
    overlay: join(dir, 'root.qcow2'),
    extraDisks: disks.map((d, i) => join(dir, `disk${i + 1}.${diskFormat(d.format)}`)),
    saveFile: join(dir, 'saved.img'),
    consoleLog: join(dir, 'console.log'),
  };
}

/** Where a volume's file lives on its host. */
export function volumePath(workDir: string, volumeId: string, format: string): string {
  return join(workDir, 'volumes', `${volumeId}.${diskFormat(format)}`);
}

/**
 * The volumes a domain definition holds: 'device=path' of every disk whose file is under
 * workDir/volumes, sorted (what the agent compares with the attachments it wants).
 */
export function definedVolumes(xml: string, workDir: string): string[] {
  const dir = join(workDir, 'volumes') + '/';
  const out: string[] = [];
  for (const block of xml.match(/<disk\b[\s\S]*?<\/disk>/g) ?? []) {
    const file = /<source\s+file=['"]([^'"]+)['"]/.exec(block)?.[1];
    const dev = /<target\s+dev=['"]([^'"]+)['"]/.exec(block)?.[1];
    if (file && dev && file.startsWith(dir)) out.push(`${dev}=${file}`);
  }
  return out.sort();
}

/** The same for the volumes a machine should have. */
export function wantedVolumes(m: Pick<HostMachine, 'volumes'>): string[] {
  return (m.volumes ?? []).map((v) => `${v.device}=${v.path}`).sort();
}

/** Only formats qemu-img and libvirt both understand; anything else becomes qcow2. */
export function diskFormat(f: string | undefined): 'qcow2' | 'raw' {
  return f === 'raw' ? 'raw' : 'qcow2';
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
    // characters XML 1.0 cannot carry at all
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '');
}

/** Control characters (C0, DEL, C1) and the Unicode line and paragraph separators. */
const CONTROL_RUN = /[\p{Cc}\p{Zl}\p{Zp}]+/gu;
const EDGE_CONTROL_RUNS = /^[\p{Cc}\p{Zl}\p{Zp}]+|[\p{Cc}\p{Zl}\p{Zp}]+$/gu;

/**
 * The domain title for a machine name: one line without control characters (libvirt refuses a title
 * with a newline, and a name that slipped into the bus must not wedge its machine), never empty.
 * Runs of control characters inside become one space, at either end they are dropped.
 */
export function domainTitle(name: string, fallback: string): string {
  const t = (name ?? '').replace(EDGE_CONTROL_RUNS, '').replace(CONTROL_RUN, ' ');
  return t.trim() ? t : fallback;
}

/** userData travels as base64; strip whitespace so it stays one kernel command-line word. */
export function userDataWord(userData: string | null): string | null {
  if (userData === null || userData === undefined) return null;
  const v = userData.replace(/\s+/g, '');
  if (!v) return null;
  return /^[A-Za-z0-9+/=_-]+$/.test(v) ? v : Buffer.from(userData, 'utf8').toString('base64');
}

/**
 * The longest kernel command line a direct-kernel-boot guest takes: x86's COMMAND_LINE_SIZE is 2048
 * bytes with the terminating NUL (arm64's is 2048 too). QEMU refuses or the kernel truncates a
 * longer one, so the frontend refuses such a machine at create (machine-create.ts).
 */
export const KERNEL_CMDLINE_MAX_BYTES = 2047;

/** The kernel command line of a kernel-format image: the image's own words, then skybus.userdata=<base64>. */
export function kernelCmdline(imageCmdline: string | null, userData: string | null): string {
  const ud = userDataWord(userData);
  return [imageCmdline ?? '', ud ? `skybus.userdata=${ud}` : ''].map((s) => s.trim()).filter(Boolean).join(' ');
}

function machineTypeFor(arch: string): string {
  if (arch === 'aarch64' || arch === 'armv7l') return 'virt';
  if (arch === 'x86_64' || arch === 'i686') return 'pc';
  return '';
}

export interface DomainXmlOptions {
  domainType: DomainType;
  prefix: string;
  workDir: string;
  /** Recorded in the domain's metadata, so an agent never mistakes another host's domain for an orphan. */
  hostId: string;
  /** This host's labels: they pick the libvirt network of each of the machine's networks (docs/networks.md). */
  hostLabels?: Record<string, string>;
}

/** The libvirt network a machine's interface uses on a host with these labels: its first matching host group's. */
export function libvirtNetworkFor(nic: NicSpec, hostLabels: Record<string, string>): string {
  const g = nic.hostGroups.find((x) => Object.entries(x.hostLabels).every(([k, v]) => hostLabels[k] === v));
  if (!g) throw new Error(`this host is in no host group of network '${nic.networkName || nic.network}' (its labels do not match)`);
  return g.libvirtNetwork;
}

export interface DomainInterface { macAddress: string | null; network: string | null }

/** The <interface> devices of a domain XML libvirt returned, in order: MAC address and source network. */
export function domainInterfaces(xml: string): DomainInterface[] {
  const out: DomainInterface[] = [];
  for (const block of xml.match(/<interface\b[\s\S]*?<\/interface>/g) ?? []) {
    const mac = /<mac\s+address=['"]([0-9A-Fa-f:]{17})['"]/.exec(block);
    const src = /<source\s+network=['"]([^'"]*)['"]/.exec(block);
    out.push({ macAddress: mac ? mac[1]!.toLowerCase() : null, network: src ? src[1]! : null });
  }
  return out;
}

export const SKYBUS_XMLNS = 'https://skybus.dev/xmlns/agent/1';

/** The host id recorded in a domain's Skybus metadata (null when there is none). */
export function metadataHost(xml: string): string | null {
  const m = /<skybus:machine\b[^>]*>[\s\S]*?<skybus:host>([^<]*)<\/skybus:host>/.exec(xml);
  return m ? m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&') : null;
}

/** The domain was defined for a highly available machine (its agent fences it when cut off from the bus). */
export function metadataHighlyAvailable(xml: string): boolean {
  return /<skybus:machine\b[^>]*>[\s\S]*?<skybus:ha>true<\/skybus:ha>/.test(xml);
}

/** The domain XML for a machine: name <prefix><id>, uuid = machine id, memory, vcpus, boot, disks, console. */
export function buildDomainXml(m: HostMachine, opts: DomainXmlOptions): string {
  const e = xmlEscape;
  const spec = m.spec;
  const paths = machinePaths(opts.workDir, m);
  const arch = spec.cpuArch || 'x86_64';
  const mtype = machineTypeFor(arch);
  const image = spec.image;
  const ud = userDataWord(spec.userData);
  const os: string[] = [];
  os.push(`    <type arch='${e(arch)}'${mtype ? ` machine='${e(mtype)}'` : ''}>hvm</type>`);
  const devices: string[] = [];
  let sysinfo = '';
  if (image && image.format === 'kernel') {
    os.push(`    <kernel>${e(image.location)}</kernel>`);
    if (image.initrd) os.push(`    <initrd>${e(image.initrd)}</initrd>`);
    const cmdline = kernelCmdline(image.cmdline, spec.userData);
    if (cmdline) os.push(`    <cmdline>${e(cmdline)}</cmdline>`);
  } else if (image) {
    os.push(`    <boot dev='hd'/>`);
    devices.push(
      `    <disk type='file' device='disk'>`,
      `      <driver name='qemu' type='qcow2'/>`,
      `      <source file='${e(paths.overlay)}'/>`,
      `      <target dev='vda' bus='virtio'/>`,
      `    </disk>`,
    );
    if (ud) {
      os.push(`    <smbios mode='sysinfo'/>`);
      sysinfo = [
        `  <sysinfo type='smbios'>`,
        `    <oemStrings>`,
        `      <entry>skybus.userdata=${e(ud)}</entry>`,
        `    </oemStrings>`,
        `  </sysinfo>`,
      ].join('\n');
    }
  }
  (spec.disks ?? []).forEach((d, i) => {
    devices.push(
      `    <disk type='file' device='disk'>`,
      `      <driver name='qemu' type='${diskFormat(d.format)}'/>`,
      `      <source file='${e(paths.extraDisks[i]!)}'/>`,
      `      <target dev='vd${String.fromCharCode('b'.charCodeAt(0) + i)}' bus='virtio'/>`,
      `    </disk>`,
    );
  });
  // Volumes (docs/volumes.md): after the machine's own disks, at the device their attachment names.
  for (const v of m.volumes ?? []) {
    devices.push(
      `    <disk type='file' device='disk'>`,
      `      <driver name='qemu' type='${diskFormat(v.format)}'/>`,
      `      <source file='${e(v.path)}'/>`,
      `      <target dev='${e(v.device)}' bus='virtio'/>`,
      `      <serial>${e(v.volumeId.replace(/-/g, '').slice(0, 20))}</serial>`,
      `    </disk>`,
    );
  }
  for (const nic of spec.networkInterfaces ?? []) {
    devices.push(
      `    <interface type='network'>`,
      `      <source network='${e(libvirtNetworkFor(nic, opts.hostLabels ?? {}))}'/>`,
      `      <model type='virtio'/>`,
      `    </interface>`,
    );
  }
  devices.push(
    `    <serial type='file'>`,
    `      <source path='${e(paths.consoleLog)}'/>`,
    `      <target port='0'/>`,
    `    </serial>`,
    `    <console type='file'>`,
    `      <source path='${e(paths.consoleLog)}'/>`,
    `      <target type='serial' port='0'/>`,
    `    </console>`,
  );
  const lines = [
    `<domain type='${opts.domainType}'>`,
    `  <name>${e(domainName(opts.prefix, m.machineId))}</name>`,
    `  <uuid>${e(m.machineId)}</uuid>`,
    `  <title>${e(domainTitle(m.name, m.machineId))}</title>`,
    `  <metadata>`,
    `    <skybus:machine xmlns:skybus='${SKYBUS_XMLNS}'>`,
    `      <skybus:host>${e(opts.hostId)}</skybus:host>`,
    `      <skybus:tenant>${e(m.tenant)}</skybus:tenant>`,
    ...(spec.highlyAvailable ? [`      <skybus:ha>true</skybus:ha>`] : []),
    `    </skybus:machine>`,
    `  </metadata>`,
    `  <memory unit='KiB'>${Math.max(1, Math.floor(spec.memoryKiB))}</memory>`,
    `  <currentMemory unit='KiB'>${Math.max(1, Math.floor(spec.memoryKiB))}</currentMemory>`,
    `  <vcpu placement='static'>${Math.max(1, Math.floor(spec.cpu))}</vcpu>`,
  ];
  if (sysinfo) lines.push(sysinfo);
  lines.push(
    `  <os>`, ...os, `  </os>`,
    arch === 'x86_64' || arch === 'i686' ? `  <features><acpi/><apic/></features>` : `  <features><acpi/></features>`,
    `  <clock offset='utc'/>`,
    `  <on_poweroff>destroy</on_poweroff>`,
    `  <on_reboot>restart</on_reboot>`,
    `  <on_crash>destroy</on_crash>`,
    `  <devices>`, ...devices, `  </devices>`,
    `</domain>`,
  );
  return lines.join('\n') + '\n';
}
