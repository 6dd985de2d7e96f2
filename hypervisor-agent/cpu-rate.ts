/**
 * A domain's CPU use from two readings of its cumulative cpuTime (pure). libvirt gives only the
 * counter (nanoseconds of CPU the domain has used since it started), so the rate is
 * Δ cpuTime / Δ time between two readings: vCPUs busy on average over the interval (1.5 = one and a
 * half vCPUs' worth). The time is the monotonic clock at each reading, never the wall clock (an NTP
 * step would make a rate out of nothing).
 *
 * Never invented: no previous reading, a counter that went down, a domain that was restarted in
 * between (another libvirt domain id) or time that did not move gives null, "not known", and the
 * next interval has a rate again. A domain that is not active uses nothing: 0.
 */

export interface CpuReading {
  /** Cumulative CPU time (domainGetInfo cpuTime, ns). */
  cpuTimeNs: number;
  /** Monotonic time of the reading (ms). */
  atMs: number;
  /** libvirt's domain id while active (a new one on every start), null when shut off. */
  domainId: number | null;
}

/** vCPUs busy between prev and cur (0..vcpus), or null when it cannot be known. */
export function vcpusBusy(prev: CpuReading | undefined, cur: CpuReading, vcpus: number): number | null {
  if (cur.domainId === null) return 0;
  if (!prev || prev.domainId !== cur.domainId) return null;
  const dt = cur.atMs - prev.atMs;
  const used = cur.cpuTimeNs - prev.cpuTimeNs;
  if (!Number.isFinite(dt) || !Number.isFinite(used) || dt <= 0 || used < 0) return null;
  const rate = used / (dt * 1e6);
  // Readings are not taken at the exact instant of their timestamp: a rate a hair above the domain's
  // vCPUs is jitter, not use. Capped at what the domain has.
  return vcpus > 0 ? Math.min(rate, vcpus) : rate;
}

/** A rate as stored: to a thousandth of a vCPU (keeps rows small; finer is noise at these intervals). */
export function roundRate(v: number | null): number | null {
  return v === null ? null : Math.round(v * 1000) / 1000;
}
