/**
 * @module The link rules, in the order assembly applies them (docs/assembly.md, §2). A rule only
 * links a span that has no parent yet, so earlier rules win: explicit evidence (the same bytes,
 * span ids) before inferred (syscall ids, X-Request-ID) before weak (time containment).
 *
 * Adding a rule is one file in this folder and one line here (and its golden scenario in
 * ../testdata/scenarios.ts).
 */
import type { LinkRule } from './context.js';
import { messageChain } from './01-message-chain.js';
import { serverEntrySpanId } from './02-server-entry-span-id.js';
import { spanId } from './03-span-id.js';
import { syscall } from './04-syscall.js';
import { xRequestIdSameSide } from './05-x-request-id-same-side.js';
import { proxyHeader } from './06-proxy-header.js';
import { xRequestIdAcross } from './07-x-request-id-across.js';
import { serverSpanId } from './08-server-span-id.js';
import { appByCall } from './09-app-by-call.js';
import { processTime } from './10-process-time.js';

export const LINK_RULES: readonly LinkRule[] = [
  messageChain,
  serverEntrySpanId,
  spanId,
  syscall,
  xRequestIdSameSide,
  proxyHeader,
  xRequestIdAcross,
  serverSpanId,
  appByCall,
  processTime,
];

export { AssemblyContext, CONFIDENCE } from './context.js';
export type { LinkRule } from './context.js';
