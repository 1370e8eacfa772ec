/**
 * @module Which processes the agent hooks. Only Node.js servers: a process that listens on a TCP
 * port has inbound requests whose outbound calls need attributing; a CLI, a test runner or a
 * client script does not, and is left alone. Never Weft itself (the agent, `weft server`, another
 * agent): hooking the tracer would trace the tracer and slow it down. And, automatically, never a
 * process started with WEFT_NODE_HOOK=0 in its environment: the per-process opt-out.
 */
import { basename } from 'node:path';
import { argvOf, environOf, executableOf, isNodeExecutable, listeningPortsOf } from './proc-info.js';

export type TargetVerdict = { hook: true } | { hook: false; reason: string };

/** True when the argv runs Weft's CLI (bin/weft.js, an installed `weft`, or dist/src cli/main). */
export function isWeftCommand(argv: readonly string[]): boolean {
  return argv.slice(1).some((a) => {
    const base = basename(a);
    // The CLI's own entry points only: a checkout's folder may well be named `weft`, and the
    // demo and test services under its src/ are ordinary Node.js servers to hook.
    return base === 'weft' || base === 'weft.js' || /[/\\](dist|src)[/\\]cli[/\\]main\.[cm]?[jt]s$/.test(a);
  });
}

/** The environment value that keeps the agent away from one process. */
export function optedOut(value: string | null): boolean {
  return value !== null && ['0', 'false', 'no', 'off'].includes(value.toLowerCase());
}

/** `automatic`: found by the agent itself (the per-process opt-out applies), not named by a caller. */
export function judgeTarget(pid: number, automatic: boolean): TargetVerdict {
  if (pid === process.pid || pid === process.ppid) return { hook: false, reason: 'the agent or its parent' };
  const exe = executableOf(pid);
  if (exe === null) return { hook: false, reason: 'gone or not readable' };
  if (!isNodeExecutable(exe)) return { hook: false, reason: 'not Node.js' };
  if (isWeftCommand(argvOf(pid))) return { hook: false, reason: 'a Weft process' };
  if (automatic && optedOut(environOf(pid, 'WEFT_NODE_HOOK'))) return { hook: false, reason: 'opted out (WEFT_NODE_HOOK=0 in its environment)' };
  if (listeningPortsOf(pid).length === 0) return { hook: false, reason: 'not a server (no listening TCP port)' };
  return { hook: true };
}
