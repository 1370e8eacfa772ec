/**
 * @module The link-key skip index: which blocks of the span table may hold a given link key.
 *
 * Spans get a write ordinal (`ord`); every BLOCK_SPANS consecutive ordinals form a block. For
 * each block the index keeps the sorted 32-bit fingerprints of its spans' link keys (4 bytes per
 * key), plus the block's time bounds. A lookup probes each block's fingerprints and
 * returns the few ordinal ranges that may match; the store then reads only those ranges, where
 * DuckDB's min/max zone maps on `ord` skip every other row group. A fingerprint collision only
 * costs one extra block read, never a wrong answer: the SQL re-checks the real key values.
 * Why not an ART index or a sorted key table: see docs/adr/001-embedded-store.md.
 */
import type { SpanRecord } from '../../../model/index.js';
import { linkKeysOf } from '../store.js';
import type { LinkKey, LinkKeyType, TimeRange } from '../store.js';

/** Spans per block: ~600 blocks at 10M spans keeps a lookup to a few hundred binary searches. */
export const BLOCK_SPANS = 16_384;

const TYPE_SALT: Record<LinkKeyType, number> = {
  trace: 0x01,
  span: 0x02,
  parent: 0x03,
  tcp_seq: 0x04,
  syscall: 0x05,
  x_request_id: 0x06,
};

/** FNV-1a over the key's type and UTF-16 code units, finished with murmur3's fmix32. */
export function linkKeyFingerprint(k: LinkKey): number {
  let h = 0x811c9dc5 ^ TYPE_SALT[k.type];
  h = Math.imul(h, 0x01000193);
  const v = k.value;
  for (let i = 0; i < v.length; i++) {
    h ^= v.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A block once full: immutable, persisted by the store. */
export interface SealedBlock {
  /** First and last ordinal (inclusive). */
  lo: number;
  hi: number;
  minStartNano: bigint;
  maxEndNano: bigint;
  /** Sorted, distinct fingerprints. */
  fingerprints: Uint32Array;
}

interface OpenBlock {
  lo: number;
  hi: number;
  count: number;
  minStartNano: bigint;
  maxEndNano: bigint;
  fingerprints: Set<number>;
}

/** An inclusive range of ordinals to read. */
export interface OrdRange {
  lo: number;
  hi: number;
}

/**
 * Per-block directory over the top DIRECTORY_BITS of the fingerprints: entry b is the index of
 * the first fingerprint whose prefix is ≥ b. A probe then reads one directory slot pair and a
 * bucket of ~20 contiguous values, instead of ~17 cache-missing binary-search steps over the
 * block (measured: 611 blocks × 40 keys took 10–20 ms by binary search). 16 KB per block.
 */
const DIRECTORY_BITS = 12;
const DIRECTORY_SHIFT = 32 - DIRECTORY_BITS;

function buildDirectory(sorted: Uint32Array): Uint32Array {
  const size = 1 << DIRECTORY_BITS;
  const dir = new Uint32Array(size + 1);
  let i = 0;
  for (let b = 0; b <= size; b++) {
    while (i < sorted.length && (sorted[i] as number) >>> DIRECTORY_SHIFT < b) i++;
    dir[b] = i;
  }
  return dir;
}

function hasFingerprint(sorted: Uint32Array, dir: Uint32Array, fp: number): boolean {
  const b = fp >>> DIRECTORY_SHIFT;
  const end = dir[b + 1] as number;
  for (let i = dir[b] as number; i < end; i++) {
    const v = sorted[i] as number;
    if (v === fp) return true;
    if (v > fp) return false;
  }
  return false;
}

function overlaps(b: { minStartNano: bigint; maxEndNano: bigint }, r: TimeRange | undefined): boolean {
  return r === undefined || (b.minStartNano <= r.endUnixNano && b.maxEndNano >= r.startUnixNano);
}

export class LinkKeyBlockIndex {
  private readonly sealed: SealedBlock[] = [];
  /** The directory of each sealed block, same positions as `sealed`. */
  private readonly directories: Uint32Array[] = [];
  private open: OpenBlock | null = null;

  constructor(private readonly blockSpans: number = BLOCK_SPANS) {}

  /** Adopts a block loaded from disk. Blocks must arrive in ordinal order, before any `add`. */
  loadSealed(block: SealedBlock): void {
    this.sealed.push(block);
    this.directories.push(buildDirectory(block.fingerprints));
  }

  /** The first ordinal not covered by a sealed block (where rebuilding the open block starts). */
  nextUnsealedOrd(): number {
    const last = this.sealed[this.sealed.length - 1];
    return last === undefined ? 0 : last.hi + 1;
  }

  get blockCount(): number {
    return this.sealed.length + (this.open ? 1 : 0);
  }

  /** Memory held by fingerprints, in bytes (for /metrics and the ADR's numbers). */
  get fingerprintBytes(): number {
    let n = 0;
    for (const b of this.sealed) n += b.fingerprints.byteLength;
    return n + (this.open ? this.open.fingerprints.size * 4 : 0);
  }

  /**
   * Indexes one span under its ordinal. Ordinals must increase (gaps are allowed). Returns the
   * blocks this call completed, usually none, so the caller can persist them.
   */
  add(ord: number, span: SpanRecord): SealedBlock[] {
    const done: SealedBlock[] = [];
    if (this.open !== null && ord > this.open.lo + this.blockSpans - 1) done.push(this.seal(this.open));
    let open = this.open;
    if (open === null) {
      const lo = ord - (ord % this.blockSpans);
      open = { lo, hi: ord, count: 0, minStartNano: span.startTimeUnixNano, maxEndNano: span.endTimeUnixNano, fingerprints: new Set() };
      this.open = open;
    }
    open.hi = ord;
    open.count++;
    if (span.startTimeUnixNano < open.minStartNano) open.minStartNano = span.startTimeUnixNano;
    if (span.endTimeUnixNano > open.maxEndNano) open.maxEndNano = span.endTimeUnixNano;
    for (const k of linkKeysOf(span)) open.fingerprints.add(linkKeyFingerprint(k));
    if (ord === open.lo + this.blockSpans - 1) done.push(this.seal(open));
    return done;
  }

  private seal(open: OpenBlock): SealedBlock {
    const sealed: SealedBlock = {
      lo: open.lo,
      hi: open.lo + this.blockSpans - 1,
      minStartNano: open.minStartNano,
      maxEndNano: open.maxEndNano,
      fingerprints: Uint32Array.from(open.fingerprints).sort(),
    };
    this.sealed.push(sealed);
    this.directories.push(buildDirectory(sealed.fingerprints));
    this.open = null;
    return sealed;
  }

  /** Ordinal ranges of every block whose time bounds overlap `timeRange`, adjacent blocks merged. */
  overlapping(timeRange: TimeRange): OrdRange[] {
    const out: OrdRange[] = [];
    const push = (lo: number, hi: number): void => {
      const last = out[out.length - 1];
      if (last !== undefined && last.hi + 1 >= lo) last.hi = Math.max(last.hi, hi);
      else out.push({ lo, hi });
    };
    for (const b of this.sealed) if (overlaps(b, timeRange)) push(b.lo, b.hi);
    const open = this.open;
    if (open !== null && overlaps(open, timeRange)) push(open.lo, open.lo + this.blockSpans - 1);
    return out;
  }

  /**
   * Ordinal ranges that may hold spans with any of the keys (and overlapping `timeRange`),
   * adjacent blocks merged, in ordinal order.
   */
  candidates(keys: readonly LinkKey[], timeRange?: TimeRange): OrdRange[] {
    if (keys.length === 0) return [];
    // Ascending, so each block is probed left to right (fewer TLB and cache misses).
    const fps = Uint32Array.from(keys, linkKeyFingerprint).sort();
    const out: OrdRange[] = [];
    const push = (lo: number, hi: number): void => {
      const last = out[out.length - 1];
      if (last !== undefined && last.hi + 1 >= lo) last.hi = Math.max(last.hi, hi);
      else out.push({ lo, hi });
    };
    for (let i = 0; i < this.sealed.length; i++) {
      const b = this.sealed[i] as SealedBlock;
      if (!overlaps(b, timeRange)) continue;
      const dir = this.directories[i] as Uint32Array;
      for (const fp of fps) {
        if (hasFingerprint(b.fingerprints, dir, fp)) {
          push(b.lo, b.hi);
          break;
        }
      }
    }
    const open = this.open;
    if (open !== null && overlaps(open, timeRange)) {
      for (const fp of fps) {
        if (open.fingerprints.has(fp)) {
          push(open.lo, open.lo + this.blockSpans - 1);
          break;
        }
      }
    }
    return out;
  }
}

/** Format byte of persisted fingerprints: sorted gaps, Golomb-Rice coded. */
const FINGERPRINTS_RICE = 2;
const HEADER_BYTES = 6; // format, k, count (u32 little-endian)

/**
 * Sorted fingerprints to bytes for `link_blocks`. Gaps between sorted random 32-bit values are
 * close to geometric, so Golomb-Rice coding with k = log2(mean gap) is near optimal: ~2.2 bytes
 * a key on disk instead of 4 (LEB128 varints measured 2.8).
 */
export function encodeFingerprints(sorted: Uint32Array): Uint8Array {
  const n = sorted.length;
  const k = n === 0 ? 0 : Math.min(31, Math.max(0, Math.floor(Math.log2(2 ** 32 / n))));
  let buf = new Uint8Array(HEADER_BYTES + Math.ceil((n * (k + 3)) / 8) + 16);
  buf[0] = FINGERPRINTS_RICE;
  buf[1] = k;
  new DataView(buf.buffer).setUint32(2, n, true);
  let p = HEADER_BYTES;
  // Bits accumulate LSB-first in `acc` (fewer than 8 pending after each write).
  let acc = 0;
  let accBits = 0;
  const write = (value: number, count: number): void => {
    // count ≤ 16, value < 2^count
    acc |= value << accBits;
    accBits += count;
    while (accBits >= 8) {
      if (p >= buf.length) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      buf[p++] = acc & 0xff;
      acc >>>= 8;
      accBits -= 8;
    }
  };
  const divisor = 2 ** k;
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const v = sorted[i] as number;
    const gap = v - prev;
    prev = v;
    let q = Math.floor(gap / divisor);
    const r = gap - q * divisor;
    while (q >= 16) {
      write(0xffff, 16);
      q -= 16;
    }
    write((1 << q) - 1, q + 1); // q ones, then the terminating zero
    if (k > 16) {
      write(r & 0xffff, 16);
      write(Math.floor(r / 65536), k - 16);
    } else write(r, k);
  }
  if (accBits > 0) write(0, 8 - accBits);
  return buf.slice(0, p);
}

/** The inverse of `encodeFingerprints`. Throws on an unknown format byte. */
export function decodeFingerprints(bytes: Uint8Array): Uint32Array {
  if (bytes[0] !== FINGERPRINTS_RICE) throw new Error(`unknown link-key block format ${String(bytes[0])}`);
  const k = bytes[1] as number;
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(2, true);
  const out = new Uint32Array(n);
  const divisor = 2 ** k;
  let p = HEADER_BYTES;
  let acc = 0;
  let accBits = 0;
  const read = (count: number): number => {
    // count ≤ 16
    while (accBits < count) {
      acc |= (bytes[p++] ?? 0) << accBits;
      accBits += 8;
    }
    const v = acc & ((1 << count) - 1);
    acc >>>= count;
    accBits -= count;
    return v;
  };
  let prev = 0;
  for (let i = 0; i < n; i++) {
    let q = 0;
    while (read(1) === 1) q++;
    const r = k > 16 ? read(16) + read(k - 16) * 65536 : read(k);
    prev += q * divisor + r;
    out[i] = prev;
  }
  return out;
}
