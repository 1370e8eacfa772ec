import { describe, expect, it } from 'vitest';
import { formatDuration, formatOffset, formatTick, tickStep } from './format.js';

describe('format', () => {
  it('durations with a unit that fits and three significant digits', () => {
    expect(formatDuration(12)).toBe('12 ns');
    expect(formatDuration(1_500)).toBe('1.5 µs');
    expect(formatDuration(45_600_000)).toBe('45.6 ms');
    expect(formatDuration(120_393_000)).toBe('120 ms');
    expect(formatDuration(2_000_000_000)).toBe('2 s');
    expect(formatDuration(90_000_000_000)).toBe('1.5 min');
  });
  it('offsets carry a sign', () => {
    expect(formatOffset(3_200_000)).toBe('+3.2 ms');
    expect(formatOffset(-120_000)).toBe('-120 µs');
  });
  it('tick steps are 1, 2 or 5 times a power of ten', () => {
    expect(tickStep(100_000_000, 10)).toBe(10_000_000);
    expect(tickStep(120_000_000, 8)).toBe(20_000_000);
    expect(tickStep(7_000, 3)).toBe(5_000);
  });
  it('axis labels keep ticks distinct deep in a zoom', () => {
    expect(formatTick(600_001_000, 1_000)).toBe('600.001 ms');
    expect(formatTick(600_002_000, 1_000)).toBe('600.002 ms');
    expect(formatTick(20_000_000, 20_000_000)).toBe('20 ms');
    expect(formatTick(1_500_000_000, 500_000_000)).toBe('1.5 s');
    expect(formatTick(0, 5)).toBe('0');
  });
});
