/** @module Span ids for the spans the agent makes (SYS from eBPF, NET from packets). */
import { randomBytes } from 'node:crypto';

/** Unique 16-hex span ids: a random per-run prefix and a counter, cheap on the hot path. */
export function spanIdGenerator(): () => string {
  const prefix = randomBytes(4).toString('hex');
  let n = 0;
  return () => prefix + (++n >>> 0).toString(16).padStart(8, '0');
}
