/**
 * @module Test model of the kernel's HTTP/2 frame walk (src/agent/bpf/weft.bpf.c, "HTTP/2 frame
 * walk"): what one call's record holds when its direction of the connection is walked — every
 * frame header and every frame but DATA (and unknown types) kept, DATA payloads left out as
 * gaps, the frame position carried to the next call. It lets the parser side be tested on any
 * split of real captures into calls; the eBPF tests check the kernel itself against real programs.
 */
import type { KeptBytes } from '../../capture/capture-event.js';
import { WEFT_H2_MAX_GAPS as MAX_GAPS } from '../../ebpf/events.gen.js';

const HEADER = 9;
const PREFACE_LEN = 24;

/** RFC 9113's per-type rules the kernel checks each header against (h2_header_legal). */
function headerLegal(type: number, flags: number, len: number, sid: number): boolean {
  const only = (defined: number): boolean => (flags & ~defined) === 0;
  switch (type) {
    case 0:
      return sid !== 0 && only(0x09);
    case 1:
      return sid !== 0 && only(0x2d);
    case 2:
      return sid !== 0 && flags === 0 && len === 5;
    case 3:
      return sid !== 0 && flags === 0 && len === 4;
    case 4:
      return sid === 0 && only(1) && len % 6 === 0 && ((flags & 1) === 0 || len === 0);
    case 5:
      return sid !== 0 && only(0x0c) && len >= 4;
    case 6:
      return sid === 0 && only(1) && len === 8;
    case 7:
      return sid === 0 && flags === 0 && len >= 8;
    case 8:
      return flags === 0 && len === 4;
    case 9:
      return sid !== 0 && only(0x04);
    default:
      return len <= 16_384;
  }
}

/** Where one direction stands between calls, as the kernel's struct h2_walk. */
export interface WalkPosition {
  phase: 'off' | 'hdr' | 'copy' | 'skip';
  need: number;
  hdr: number[];
}

/** A direction found at a frame boundary: the preface (kept whole) or a frame header. */
export function walkBegin(first: Uint8Array): WalkPosition {
  return first[0] === 0x50 ? { phase: 'copy', need: PREFACE_LEN, hdr: [] } : { phase: 'hdr', need: 0, hdr: [] };
}

/**
 * One call of `bytes` from `pos` (updated in place): the kept bytes and gaps, as decodeKept
 * gives them, or null once the walk stopped (phase 'off': the kernel then copies a plain prefix).
 * `cap` is the room for kept bytes in one record.
 */
export function walkCall(bytes: Uint8Array, pos: WalkPosition, cap = 16_384): KeptBytes | null {
  if (pos.phase === 'off') return null;
  const kept: number[] = [];
  const gaps: { at: number; len: number }[] = [];
  let i = 0;
  const stop = (): KeptBytes => {
    pos.phase = 'off';
    return { data: Uint8Array.from(kept), gaps };
  };
  while (i < bytes.length) {
    const avail = bytes.length - i;
    if (pos.phase === 'hdr') {
      const n = Math.min(HEADER - pos.hdr.length, avail);
      if (n > cap - kept.length) return stop();
      for (let k = 0; k < n; k++) {
        pos.hdr.push(bytes[i + k]!);
        kept.push(bytes[i + k]!);
      }
      i += n;
      if (pos.hdr.length < HEADER) continue;
      const h = pos.hdr;
      pos.hdr = [];
      const len = (h[0]! << 16) | (h[1]! << 8) | h[2]!;
      const type = h[3]!;
      const sid = ((h[5]! << 24) | (h[6]! << 16) | (h[7]! << 8) | h[8]!) >>> 0;
      if (sid >>> 31 || !headerLegal(type, h[4]!, len, sid)) return stop();
      pos.need = len;
      if (type === 0 || type > 9) {
        pos.phase = len ? 'skip' : 'hdr';
      } else {
        if (Math.min(len, bytes.length - i) > cap - kept.length) return stop();
        pos.phase = len ? 'copy' : 'hdr';
      }
    } else if (pos.phase === 'copy') {
      const n = Math.min(pos.need, avail, cap - kept.length);
      if (n === 0) return stop();
      for (let k = 0; k < n; k++) kept.push(bytes[i + k]!);
      i += n;
      pos.need -= n;
      if (pos.need === 0) pos.phase = 'hdr';
    } else {
      const n = Math.min(pos.need, avail);
      const last = gaps[gaps.length - 1];
      if (last && last.at === kept.length) last.len += n;
      else if (gaps.length === MAX_GAPS) return stop();
      else gaps.push({ at: kept.length, len: n });
      i += n;
      pos.need -= n;
      if (pos.need === 0) pos.phase = 'hdr';
    }
  }
  return { data: Uint8Array.from(kept), gaps };
}
