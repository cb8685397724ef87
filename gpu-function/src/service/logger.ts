/** Structured JSON logs. Only ids, stage timings, outcomes and failure classes: never images or landmarks. */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string = 'info'): Logger {
  return pino({ level, base: { service: 'gpu-function' }, redact: ['req.headers.authorization', 'req.headers["x-facerecon-signature"]'] });
}
