/** The domain records that travel on the bus. */

export const MACHINE_STATES = [
  'CREATING', 'STARTING', 'STARTED', 'STOPPING', 'STOPPED', 'PAUSING', 'PAUSED',
  'SUSPENDING', 'SUSPENDED', 'CAPTURING', 'DELETING', 'DELETED', 'ERROR',
] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

export const DESIRED_STATES = ['STARTED', 'STOPPED', 'PAUSED', 'SUSPENDED', 'DELETED'] as const;
export type DesiredState = (typeof DESIRED_STATES)[number];

export interface ImageRef {
  id: string;
  name: string;
  /** qcow2/raw: a disk image used as the backing file of an overlay; kernel: direct kernel boot. */
  format: 'qcow2' | 'raw' | 'kernel';
  location: string;
  initrd: string | null;
  cmdline: string | null;
  cpuArch: string;
  /**
   * A captured kernel-format image's disk (docs/capture.md): the machine's first disk is made as an
   * overlay on this file. Absent on other images.
   */
  disk?: string | null;
}

/** One disk of a machine: an empty one, or (source set) a qcow2 overlay on a captured image's disk. */
export interface DiskSpec {
  capacityKiB: number;
  format: string;
  source?: string | null;
}

/** A capture asked by the frontend (docs/capture.md): the agent copies the disk into this image. */
export interface CaptureRequest {
  imageId: string;
  requestedAt: number;
}

export interface MachineSpec {
  cpu: number;
  memoryKiB: number;
  cpuArch: string;
  image: ImageRef | null;
  disks: DiskSpec[];
  /** base64 */
  userData: string | null;
  /** Host labels the machine requires (all must match). */
  requirements: Record<string, string>;
  /** Its network interfaces, in order (docs/networks.md); absent on older rows and machines without any. */
  networkInterfaces?: NicSpec[];
  /** The latest capture asked (absent: never); done once status.lastCapture names its image. */
  capture?: CaptureRequest | null;
  /**
   * Highly available (docs/lifecycle.md, "Host loss, fencing and HA restart"): when its host is down
   * for good, placement starts it again on another host, after the host's fencing window has passed.
   * Absent or false: it waits for its host.
   */
  highlyAvailable?: boolean;
  /** A named group of the tenant's machines that must share a host (affinity) or never share one (anti-affinity); docs/placement.md. */
  affinity?: { group: string; type: 'affinity' | 'anti-affinity' } | null;
}

/** A group of hosts (all of whose labels match) and the libvirt network a machine there attaches to. */
export interface NetworkHostGroup { hostLabels: Record<string, string>; libvirtNetwork: string }

export const NETWORK_TYPES = ['PUBLIC', 'PRIVATE'] as const;
export type NetworkType = (typeof NETWORK_TYPES)[number];

/** An operator-defined network (CIMI Network): a libvirt network name per host group. */
export interface Network {
  id: string;
  name: string;
  description: string;
  properties: Record<string, string>;
  networkType: NetworkType;
  hostGroups: NetworkHostGroup[];
  /** null: every tenant may see and use it. */
  tenant: string | null;
  state: 'STARTED' | 'DELETING';
  created: number;
  updated: number;
}

/**
 * One network interface in a machine's spec (written by the frontend at create): the network's id,
 * and a copy of its name and host groups, so placement and the agent need no network lookup.
 */
export interface NicSpec { network: string; networkName: string; hostGroups: NetworkHostGroup[] }

/** What the agent saw of one interface (same order as the spec's). */
export interface NicStatus {
  network: string;
  /** From the domain XML libvirt keeps (null until the domain is defined). */
  macAddress: string | null;
  /** IP addresses from libvirt's DHCP leases, when known (docs/networks.md). */
  addresses: string[];
}

export interface PlacementInfo {
  attempts: number;
  /** Why the machine is not placed yet, for operators: host counts per filter (null when placed or not tried). */
  reason: string | null;
  /** The same in the tenant's own terms, with nothing about the fleet (absent on older rows). */
  summary?: string | null;
  lastAttemptAt: number | null;
  /** Since when the machine has waited for a host (absent on older rows and once placed). */
  waitingSince?: number | null;
  /**
   * Set by placement once the machine has waited longer than its deadline (docs/lifecycle.md,
   * "Deadlines"), in the tenant's terms ("not placed within 600 s: <summary>"); null or absent: not
   * past it, or placed since. The frontend shows such a machine as ERROR and fails its create Job.
   */
  deadlineError?: string | null;
  /** The placement policy version that placed it (absent on older rows; 0: the built-in policy). */
  policyVersion?: number;
  /** When it was bound to its host (absent on older rows and while unplaced). */
  placedAt?: number;
}

export interface MachineStatus {
  state: MachineState;
  /** The spec generation this status reflects. */
  observedGeneration: number;
  observedRestartSeq: number;
  /** Whether the host has converged to the observed generation. */
  converged: boolean;
  error: string | null;
  hostId: string | null;
  updatedAt: number;
  /** The machine's interfaces as the agent last saw them (absent: no interfaces, or not seen yet). */
  networkInterfaces?: NicStatus[];
  /** The image of the last capture this host's agent finished (AVAILABLE or ERROR); absent: none. */
  lastCapture?: string | null;
}

export interface Machine {
  id: string;
  tenant: string;
  name: string;
  description: string;
  properties: Record<string, string>;
  spec: MachineSpec;
  desiredState: DesiredState;
  restartSeq: number;
  generation: number;
  created: number;
  updated: number;
  hostId: string | null;
  placement: PlacementInfo | null;
  status: MachineStatus;
}

/** What an agent reads every cycle: its copy of an assigned machine's spec. */
export interface HostMachine {
  hostId: string;
  machineId: string;
  tenant: string;
  name: string;
  spec: MachineSpec;
  desiredState: DesiredState;
  restartSeq: number;
  generation: number;
  /** Agent-side only (never stored): the volumes attached to it whose files are ready (docs/volumes.md). */
  volumes?: AttachedVolume[];
}

/** A volume in a machine's domain definition. */
export interface AttachedVolume { volumeId: string; device: string; path: string; format: 'qcow2' | 'raw' }

export interface Allocation {
  cpus: number;
  memoryKiB: number;
  claimId: string;
  /** The machine's affinity group tag (tenant/group), so a claim's compare-and-set re-checks anti-affinity. */
  group?: string;
  /** When it was claimed (placement limits count recent claims). */
  at?: number;
}

export interface Host {
  id: string;
  name: string;
  uri: string;
  arch: string;
  cpus: number;
  memoryKiB: number;
  labels: Record<string, string>;
  /** REMOVED: an admin said it will not come back (`skybus host remove`); its agent no longer acts. */
  state: 'ENABLED' | 'DISABLED' | 'REMOVED';
  generation: number;
  usedCpus: number;
  usedMemoryKiB: number;
  allocations: Record<string, Allocation>;
  registered: number;
  updated: number;
}

export interface Lease { hostId: string; holder: string; renewed: number }

/** A host's last sign of life, written by its agent (host_heartbeats; docs/lifecycle.md). */
export interface HostHeartbeat {
  hostId: string;
  holder: string;
  /** The start of the lease renewal this heartbeat follows (agent clock, ms). */
  renewed: number;
  /** The agent's fencing window (ms): it fences its HA guests once renewed + this has passed without a newer heartbeat. */
  fenceAfterMs: number;
  /** When the agent last fenced (null: not since it last held the lease). */
  fencedAt: number | null;
}

export const JOB_STATES = ['QUEUED', 'RUNNING', 'SUCCESS', 'FAILED', 'STOPPING', 'STOPPED'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface Job {
  id: string;
  tenant: string;
  targetId: string;
  targetType: string;
  action: string;
  state: JobState;
  progress: number;
  statusMessage: string;
  returnCode: number;
  targetGeneration: number;
  /** The machine state that means success (DELETED for deletes). */
  expectedState: string;
  created: number;
  updated: number;
}

export interface EventRecord {
  tenant: string;
  ts: number;
  id: string;
  type: 'state' | 'access' | 'alarm' | 'model';
  severity: 'critical' | 'high' | 'medium' | 'low';
  outcome: 'Pending' | 'Unknown' | 'Status' | 'Success' | 'Warning' | 'Failure';
  resource: string;
  content: Record<string, unknown>;
}

/** One machine (a domain with the agent's prefix) in a host sample (docs/data-model.md, "Host monitoring"). */
export interface MachineSample {
  machineId: string;
  /** libvirt's run state: running, paused, shuttingdown, shutoff, crashed, pmsuspended, nostate. */
  state: string;
  vcpus: number;
  /** vCPUs busy on average since the previous sample (0..vcpus); null when not known (first reading, restarted domain). */
  cpuUsed: number | null;
  /** Memory the guest has now (balloon), and at most. */
  memoryKiB: number;
  maxMemoryKiB: number;
}

/** One host at one instant, with all its machines: ONE row of host_samples (and of host_latest). */
export interface HostSample {
  hostId: string;
  /** When it was sampled (the agent's clock): readers judge freshness by it, nothing else. */
  ts: number;
  /** The agent's sampling interval: a sample older than three of them is stale. */
  intervalMs: number;
  /** Capacity (libvirt node info). */
  cpus: number;
  memoryKiB: number;
  /** vCPUs busy over every active domain of the host (ours or not); null when one of them is not known yet. */
  guestCpuUsed: number | null;
  /** Memory of every active domain. */
  guestMemoryKiB: number;
  /** The host's 1-minute load average; null where the agent cannot read it (remote or test hypervisor). */
  load1: number | null;
  /** Domains per libvirt run state, all domains of the host. */
  domains: Record<string, number>;
  machines: MachineSample[];
}

export interface MinAvgMax { min: number; avg: number; max: number }

/** One machine's hour. */
export interface MachineRollup {
  machineId: string;
  /** Samples the machine appears in. */
  samples: number;
  /** Over the samples with a known rate; null when none had one. */
  cpuUsed: MinAvgMax | null;
  memoryKiB: MinAvgMax;
}

/** One host's hour (host_rollups), computed from that hour's stored samples. */
export interface HostRollup {
  hostId: string;
  /** Hours since the epoch: the hour [hour * 3600 s, (hour + 1) * 3600 s). */
  hour: number;
  samples: number;
  firstTs: number;
  lastTs: number;
  /** Capacity in the hour's last sample. */
  cpus: number;
  memoryKiB: number;
  guestCpuUsed: MinAvgMax | null;
  guestMemoryKiB: MinAvgMax;
  load1: MinAvgMax | null;
  machines: MachineRollup[];
}

export interface UsageRecord {
  tenant: string;
  machineId: string;
  /** The period's start, aligned to periodSeconds (ms since the epoch). */
  periodStart: number;
  periodSeconds: number;
  hostId: string;
  /** The last state observed in the period. */
  state: string;
  vcpus: number;
  memoryKiB: number;
  /** CPU time the guest used in the period. */
  cpuSeconds: number;
  /** Seconds of the period observed in each state (migration 0016). */
  stateSeconds: Record<string, number>;
  /** Their sum: periodSeconds - observedSeconds of the period went unobserved (the agent was down or stalled). */
  observedSeconds: number;
}

export interface User {
  name: string;
  tenant: string;
  passwordHash: string;
  roles: string[];
  disabled: boolean;
  created: number;
}

/**
 * An API key (frontend/auth/api-keys.ts). `secretHash` is the stored form of the secret (never the
 * secret); `expires` and `revoked` are epoch ms or null. A key has no tenant or roles of its own:
 * it acts with its owner's, read at the time of use.
 */
export interface ApiKey {
  keyId: string;
  userName: string;
  secretHash: string;
  created: number;
  name: string;
  description: string;
  expires: number | null;
  revoked: number | null;
}

/** What a user's key listing holds (api_keys_by_user): everything but the hash. */
export type ApiKeyInfo = Omit<ApiKey, 'secretHash'>;

export const CATALOG_KINDS = ['machineConfig', 'machineImage', 'machineTemplate', 'credential', 'volumeConfig', 'volumeTemplate'] as const;
export type CatalogKind = (typeof CATALOG_KINDS)[number];

export interface CatalogItem {
  kind: CatalogKind;
  id: string;
  name: string;
  /** null: visible to every tenant (admin-published). */
  tenant: string | null;
  body: Record<string, unknown>;
  created: number;
  updated: number;
  /** machineImage only: what the agent wrote once a capture ended (null: not captured, or under way). */
  status?: ImageStatus | null;
}

/** The agent's outcome of a capture (docs/capture.md), kept beside the image's catalog row. */
export interface ImageStatus {
  state: 'AVAILABLE' | 'ERROR';
  /** qcow2 images: the captured disk file. Kernel images: their kernel (unchanged). */
  location: string | null;
  /** Kernel images: the captured disk file (the machine's first data disk). */
  disk: string | null;
  /** The captured disk's virtual size. */
  virtualSizeKiB: number | null;
  error: string | null;
  hostId: string;
  updatedAt: number;
}

export interface ServiceInstance {
  role: string;
  instanceId: string;
  address: string;
  started: number;
  lastSeen: number;
  info: Record<string, unknown>;
}

export interface Page<T> { items: T[]; pageState: string | null }

/** CIMI Volume states (DSP0263): the state a client sees, computed from spec + status (docs/volumes.md). */
export const VOLUME_STATES = ['CREATING', 'AVAILABLE', 'DELETING', 'ERROR'] as const;
export type VolumeState = (typeof VOLUME_STATES)[number];

export interface VolumeSpec {
  capacityKiB: number;
  format: 'qcow2' | 'raw';
  /** The VolumeConfiguration / VolumeTemplate it was made from (null: inline). */
  configId: string | null;
  templateId: string | null;
}

/** One attachment of a volume to a machine (a MachineVolume); a volume has at most one. */
export interface VolumeAttachment {
  /** The MachineVolume id (its URL under /machines/:machineId/volumes/). */
  id: string;
  machineId: string;
  /** The guest device name (vdb, vdc, ...): CIMI MachineVolume.initialLocation. */
  device: string;
  created: number;
}

export interface VolumeStatus {
  /** What the agent last did: CREATING until the file exists, AVAILABLE, DELETING, ERROR. */
  state: VolumeState;
  observedGeneration: number;
  error: string | null;
  /** The file on the host (null until made; the test driver records a path it never writes). */
  path: string | null;
  hostId: string | null;
  updatedAt: number;
}

export interface Volume {
  id: string;
  tenant: string;
  name: string;
  description: string;
  properties: Record<string, string>;
  spec: VolumeSpec;
  /** AVAILABLE while wanted, DELETED once a delete was accepted. */
  desiredState: 'AVAILABLE' | 'DELETED';
  generation: number;
  attachment: VolumeAttachment | null;
  created: number;
  updated: number;
  /** The host it lives on: null until its first attach. */
  hostId: string | null;
  status: VolumeStatus | null;
}

/** What an agent reads every cycle: its copy of a volume on its host. */
export interface HostVolume {
  hostId: string;
  volumeId: string;
  tenant: string;
  spec: VolumeSpec;
  desiredState: 'AVAILABLE' | 'DELETED';
  generation: number;
  attachment: VolumeAttachment | null;
}

/** A row of a machine's volumes sub-collection. */
export interface MachineVolumeRef { machineId: string; id: string; volumeId: string; device: string; created: number }
