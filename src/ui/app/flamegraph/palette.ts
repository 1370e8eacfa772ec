/**
 * @module Colours: one hue per source (APP blue, SYS amber, NET green), three shades each so
 * neighbouring services differ, plus the marks for errors, selection and clock corrections.
 * The legend reads the same table, so the picture and its key cannot drift apart.
 */
import type { SpanSource } from '../../../model/index.js';

export const SOURCE_COLORS: Record<SpanSource, readonly [string, string, string]> = {
  app: ['#6c9bf0', '#8bb0f4', '#5687e6'],
  sys: ['#f2aa55', '#f6c07f', '#ec9638'],
  net: ['#4fc095', '#78d0ae', '#37ad82'],
};

export const SOURCE_LABELS: Record<SpanSource, string> = {
  app: 'APP: instrumented code (OTel, SkyWalking, Zipkin)',
  sys: 'SYS: a process’s system calls (eBPF)',
  net: 'NET: packets on an interface',
};

export const ERROR_COLOR = '#d7263d';
export const SELECTED_COLOR = '#111827';
export const CLOCK_COLOR = '#8e44ad';
export const TEXT_COLOR = '#0f1b2d';
export const DIM_ALPHA = 0.22;

/** A small stable hash of a string (FNV-1a), to pick a shade per service. */
export function shadeOf(s: string): 0 | 1 | 2 {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return ((h >>> 0) % 3) as 0 | 1 | 2;
}

export function barColor(source: SpanSource, owner: string): string {
  return (SOURCE_COLORS[source] ?? SOURCE_COLORS.app)[shadeOf(owner)];
}
