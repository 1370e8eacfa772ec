/**
 * @module The attributes in which the agent records the evidence behind a SYS client span's
 * syscall link, read by assembly. They travel as ordinary span attributes (OTLP, stores).
 *
 * - `thread`: one inbound request was open on the thread, and read last: certain.
 * - `runtime`: the process's runtime reported which inbound request the call serves: certain.
 * - `ambiguous`: several inbound requests were open on the thread; candidates listed, never used.
 * - `none`: no inbound request was open on the thread.
 * A span without the attribute comes from an older agent (its ids follow the kernel's
 * per-thread rule alone).
 */
export type LinkEvidence = 'thread' | 'runtime' | 'ambiguous' | 'none';

export const LINK_EVIDENCE_ATTR = 'weft.link.evidence';
/** Comma-separated syscall trace ids of the inbound requests an ambiguous call could serve. */
export const LINK_CANDIDATES_ATTR = 'weft.link.candidates';
/** How many inbound requests were open on the thread when the call started. */
export const OPEN_INBOUND_ATTR = 'weft.thread.open_inbound';

const EVIDENCE: ReadonlySet<string> = new Set(['thread', 'runtime', 'ambiguous', 'none']);

/** The evidence a span carries, or null for a span from an older agent (or not a SYS client). */
export function linkEvidenceOf(attributes: Readonly<Record<string, unknown>>): LinkEvidence | null {
  const v = attributes[LINK_EVIDENCE_ATTR];
  return typeof v === 'string' && EVIDENCE.has(v) ? (v as LinkEvidence) : null;
}

/** The candidate syscall ids an ambiguous span names. */
export function linkCandidatesOf(attributes: Readonly<Record<string, unknown>>): number[] {
  const v = attributes[LINK_CANDIDATES_ATTR];
  if (typeof v !== 'string' || v === '') return [];
  return v
    .split(',')
    .map((x) => Number(x))
    .filter((x) => Number.isSafeInteger(x) && x > 0);
}
