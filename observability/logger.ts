/** pino, one root logger per process; each module takes a child with its own bindings. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  const level = opts.level ?? process.env.SKYBUS_LOG_LEVEL ?? 'info';
  // Logs go to stderr: stdout is for what a command prints for its user.
  return pino({ name: opts.name ?? 'skybus', level }, pino.destination(2));
}

/** A logger that writes nothing (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
