/**
 * @module How a command ends: exit codes and the one-line message a user sees on failure.
 */
import { isTracingError, TracingError } from '../model/index.js';

/** Exit codes: 1 = runtime failure, 2 = bad usage or configuration (fix the command line). */
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** A usage/config error the CLI reports and exits 2 for. */
export function usageError(code: string, message: string): TracingError {
  return new TracingError(code, message, { httpStatus: 400 });
}

export function exitCodeOf(err: unknown): number {
  // Any *_CONFIG_* code (TRC_CONFIG_INVALID, TRC_EXPORT_CONFIG_INVALID…) is a usage error.
  return isTracingError(err) && (/_CONFIG_/.test(err.code) || err.httpStatus === 400) ? EXIT_USAGE : EXIT_RUNTIME;
}

export function messageOf(err: unknown): string {
  if (isTracingError(err)) return `weft: ${err.message} [${err.code}]`;
  return `weft: ${err instanceof Error ? err.message : String(err)}`;
}

/** The agent cannot run on this host (no root, no BTF, addon not built). */
export function agentUnavailable(reason: string): TracingError {
  return new TracingError('TRC_AGENT_UNAVAILABLE', `weft agent cannot run here: ${reason}`, { httpStatus: 503 });
}
