/**
 * @module The CLI's pino logger: structured JSON on stderr (stdout stays for command output),
 * quiet by default — one startup line at info, nothing per span.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { LogLevel } from '../server/config.js';

export function createCliLogger(level: LogLevel): Logger {
  return pino(
    {
      level,
      base: { app: 'weft' },
      // Captured headers must never reach the log verbatim.
      redact: { paths: ['req.headers.authorization', '*.authorization', 'token'], censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
