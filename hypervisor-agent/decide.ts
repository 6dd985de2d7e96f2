/**
 * The agent's brain, PURE: from what is wanted (the host's copy of the spec), what libvirt shows and
 * what this agent remembers, one next action. The agent takes it, observes again next cycle and asks
 * again: level-triggered, so a lost action, a crash or an outside change is simply re-decided.
 */
import type { DesiredState, HostMachine, MachineState } from '../schema/types.js';
import type { DomainRunState } from './libvirt-host.js';

export type Action =
  | 'none'
  /** define + start */
  | 'create'
  /** define only (a new machine whose desired state is STOPPED) */
  | 'define'
  | 'start'
  /** graceful (ACPI) */
  | 'shutdown'
  /** forced power off, after the grace period of a graceful shutdown */
  | 'destroy'
  /** pause the vCPUs (libvirt "suspend") */
  | 'pause'
  | 'resume'
  /** SUSPENDED: save memory to a file, the domain is then off */
  | 'save'
  | 'restore'
  /** a SUSPENDED machine asked to STOP: its saved memory is thrown away */
  | 'discardSave'
  /** destroy + start (the binding has no reboot) */
  | 'restart'
  /** copy the machine's disk into the image spec.capture names (disk-capture.ts; docs/capture.md) */
  | 'capture'
  /** destroy + undefine + remove the machine's files */
  | 'delete'
  /** release the host claim, status DELETED, purge the rows */
  | 'finishDelete'
  /** a prefixed domain with no machine row: reported, or destroyed by policy */
  | 'orphan'
  /** define again: the volumes attached differ from the definition's (docs/volumes.md; the guest sees it from its next boot) */
  | 'redefine';

export interface Observed {
  state: DomainRunState;
  /** A save file exists for the machine (so "shut off" means SUSPENDED). */
  saved: boolean;
}

/** What the agent remembers per machine between cycles (lost on restart; seeded from the bus). */
export interface MachineMemory {
  /** When this agent asked for a graceful shutdown (null: not asked): the grace period counts from here. */
  shutdownRequestedAt: number | null;
  /** When it last pressed the power button (absent: at shutdownRequestedAt). */
  shutdownPressedAt?: number | null;
  /** The highest restartSeq already honoured (restart done, or made moot by a fresh start). */
  restartedSeq: number;
  /** The image of the last capture finished (seeded from status.lastCapture). */
  capturedImageId?: string | null;
}

export interface DecideInput {
  desired: HostMachine | null;
  observed: Observed | null;
  memory: MachineMemory;
  now: number;
  stopGraceMs: number;
  /** The domain's definition lacks a wanted volume or holds an unwanted one (false when unknown or no domain). */
  volumesStale?: boolean;
}

const ACTIVE: ReadonlySet<DomainRunState> = new Set(['running', 'paused', 'shuttingdown', 'pmsuspended']);

export function isActive(s: DomainRunState): boolean {
  return ACTIVE.has(s);
}

/** The status state for what libvirt shows (null: no domain). */
export function observedState(o: Observed | null): MachineState | null {
  if (!o) return null;
  switch (o.state) {
    case 'running':
    case 'shuttingdown': return 'STARTED';
    case 'paused':
    case 'pmsuspended': return 'PAUSED';
    case 'shutoff':
    case 'crashed': return o.saved ? 'SUSPENDED' : 'STOPPED';
    default: return 'ERROR';
  }
}

export function restartPending(d: HostMachine, mem: MachineMemory): boolean {
  return d.desiredState === 'STARTED' && d.restartSeq > mem.restartedSeq;
}

/** The domain matches the desired state (and any restart asked was done). */
export function isConverged(d: HostMachine | null, o: Observed | null, mem: MachineMemory): boolean {
  if (!d) return o === null;
  if (d.desiredState === 'DELETED') return o === null;
  const s = observedState(o);
  if (s !== d.desiredState) return false;
  if (s === 'STARTED' && o!.state !== 'running') return false;
  return !restartPending(d, mem);
}

function graceOver(mem: MachineMemory, now: number, grace: number): boolean {
  return mem.shutdownRequestedAt !== null && now - mem.shutdownRequestedAt >= grace;
}

/** The power button is pressed again this often during the grace period (a guest may miss one press). */
export const SHUTDOWN_REPRESS_MS = 10_000;

/**
 * Within the grace period of a shutdown already asked: press the power button again when the last
 * press is SHUTDOWN_REPRESS_MS old (at most three presses per grace period), else wait; force it
 * once the grace period is over. A guest that misses one ACPI event (pressed while it was still
 * resuming or booting) then still shuts down cleanly.
 */
function whileShuttingDown(mem: MachineMemory, now: number, grace: number): Action {
  if (graceOver(mem, now, grace)) return 'destroy';
  const last = mem.shutdownPressedAt ?? mem.shutdownRequestedAt!;
  return now - last >= Math.min(SHUTDOWN_REPRESS_MS, grace / 3) ? 'shutdown' : 'none';
}

/** A capture is asked that this host has not done yet. */
export function capturePendingOn(d: HostMachine, mem: MachineMemory): boolean {
  return !!d.spec.capture && d.spec.capture.imageId !== (mem.capturedImageId ?? null);
}

/**
 * The next action: first bring the domain to its desired state; once it is there (converged), a
 * pending capture; with nothing else to do, a definition whose volumes are stale is redefined
 * (docs/volumes.md). A machine being deleted is never captured (its image ends in ERROR) nor redefined.
 */
export function decide(inp: DecideInput): Action {
  const a = decideLifecycle(inp);
  const { desired: d, observed: o, memory: mem } = inp;
  if (a === 'none' && d && d.desiredState !== 'DELETED' && capturePendingOn(d, mem) && isConverged(d, o, mem)) return 'capture';
  if (a === 'none' && inp.volumesStale && o && d && d.desiredState !== 'DELETED') return 'redefine';
  return a;
}

function decideLifecycle(inp: DecideInput): Action {
  const { desired: d, observed: o, memory: mem, now, stopGraceMs } = inp;
  if (!d) return o ? 'orphan' : 'none';
  if (d.desiredState === 'DELETED') return o ? 'delete' : 'finishDelete';
  if (!o) return d.desiredState === 'STOPPED' ? 'define' : 'create';

  const want: DesiredState = d.desiredState;
  const s = o.state;
  // A graceful shutdown in progress: wait for it, force it after the grace period.
  // (asked by someone else, e.g. the guest itself: start our clock by asking too).
  if (s === 'shuttingdown') {
    if (mem.shutdownRequestedAt === null) return 'shutdown';
    return graceOver(mem, now, stopGraceMs) ? 'destroy' : 'none'; // it heard the button: no need to press again
  }
  const off = s === 'shutoff' || s === 'crashed' || s === 'nostate';

  switch (want) {
    case 'STARTED':
      if (s === 'running') return restartPending(d, mem) ? 'restart' : 'none';
      if (s === 'paused' || s === 'pmsuspended') return 'resume';
      return off && o.saved ? 'restore' : 'start';
    case 'STOPPED':
      if (off) return o.saved ? 'discardSave' : 'none';
      // A paused guest cannot answer the power button: let it run, then ask it.
      if (s === 'paused' || s === 'pmsuspended') return 'resume';
      if (mem.shutdownRequestedAt === null) return 'shutdown';
      return whileShuttingDown(mem, now, stopGraceMs);
    case 'PAUSED':
      if (s === 'running') return 'pause';
      if (s === 'paused') return 'none';
      if (s === 'pmsuspended') return 'resume';
      return o.saved ? 'restore' : 'start';
    case 'SUSPENDED':
      if (s === 'running' || s === 'paused') return 'save';
      if (s === 'pmsuspended') return 'resume';
      // Off without a save file (the guest died or was stopped): boot it, then save it.
      return o.saved ? 'none' : 'start';
  }
  return 'none';
}

/** After an action succeeded: what the agent remembers now. */
export function rememberAfter(action: Action, d: HostMachine | null, mem: MachineMemory, now: number): MachineMemory {
  const next = { ...mem };
  if (action === 'shutdown') {
    next.shutdownRequestedAt ??= now; // the grace period counts from the first press
    next.shutdownPressedAt = now;
  }
  if (action === 'destroy' || action === 'delete') { next.shutdownRequestedAt = null; next.shutdownPressedAt = null; }
  if (action === 'capture' && d?.spec.capture) next.capturedImageId = d.spec.capture.imageId;
  // A fresh boot honours every restart asked so far.
  if (d && (action === 'create' || action === 'start' || action === 'restore' || action === 'restart')) {
    next.restartedSeq = Math.max(next.restartedSeq, d.restartSeq);
  }
  return next;
}

/**
 * Housekeeping from a fresh observation, before deciding: a finished shutdown is forgotten, and a
 * restart asked while the machine was not wanted running is moot (restart is only allowed on STARTED).
 */
export function settleMemory(d: HostMachine | null, o: Observed | null, mem: MachineMemory): MachineMemory {
  const next = { ...mem };
  if (!o || !isActive(o.state)) { next.shutdownRequestedAt = null; next.shutdownPressedAt = null; }
  if (d && d.desiredState !== 'STARTED' && d.desiredState !== 'DELETED') next.restartedSeq = Math.max(next.restartedSeq, d.restartSeq);
  if (d && d.desiredState === 'STARTED' && o && o.state === 'running' && mem.shutdownRequestedAt !== null) { next.shutdownRequestedAt = null; next.shutdownPressedAt = null; }
  return next;
}
