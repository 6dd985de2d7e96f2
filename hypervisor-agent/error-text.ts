/** The message of anything thrown, for logs, events and status.error. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
