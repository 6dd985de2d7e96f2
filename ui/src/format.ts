/** How figures read on the pages. */
export const GIB_KIB = 1048576;

export function percent(used: number | undefined | null, of: number | undefined | null): string {
  if (used === undefined || used === null || !of) return '–';
  return `${Math.round((used / of) * 100)} %`;
}

export function gib(kib: number | undefined | null): string {
  if (kib === undefined || kib === null) return '–';
  return `${(kib / GIB_KIB).toFixed(kib % GIB_KIB === 0 ? 0 : 1)} GiB`;
}

export function decimal(v: number | undefined | null, digits = 3): string {
  if (v === undefined || v === null) return '–';
  return Number(v.toFixed(digits)).toString();
}

export function when(iso: string | undefined | null): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** The id at the end of a resource URL (CIMI ids are URLs). */
export function lastSegment(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

/** YYYY-MM-DD of a time, UTC. */
export function utcDay(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}
