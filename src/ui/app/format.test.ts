import { describe, expect, it } from 'vitest';
import { formatDuration, formatOffset, tickStep } from './format.js';

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
});
