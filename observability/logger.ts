/** pino, one root logger per process; each module takes a child with its own bindings. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  const level = opts.level ?? process.env.SKYBUS_LOG_LEVEL ?? 'info';
  return pino({ name: opts.name ?? 'skybus', level });
}

/** A logger that writes nothing (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
