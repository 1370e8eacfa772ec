/** @module The CPU queue: turns bounded by time, store work first, jobs dropped at their deadline. */
import { describe, expect, it } from 'vitest';
import { TURN_BUDGET_MS, inTurn, inTurns, turnStats } from './cpu-turns.js';

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('cpu turns', () => {
  it('gives the loop back after about TURN_BUDGET_MS of steps, however long the job', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const turnsBefore = turnStats().turns;
    const steps = 200;
    const job = inTurns(
      'decode',
      (function* () {
        for (let i = 0; i < steps; i++) {
          spin(1);
          yield;
        }
        return 'done';
      })(),
    );
    expect(await job).toBe('done');
    clearInterval(timer);
    // Steps of >= 1 ms each: a turn ends once it has used the budget, so it holds at most
    // budget + 1 steps (a busy host only makes turns hold fewer), and the timer runs between turns.
    expect(turnStats().turns - turnsBefore).toBeGreaterThanOrEqual(Math.floor(steps / (TURN_BUDGET_MS + 1)));
    expect(ticks).toBeGreaterThan(10);
  });

  it('runs store work before decodes queued earlier', async () => {
    const order: string[] = [];
    const a = inTurn('decode', () => order.push('decode'));
    const b = inTurn('store', () => order.push('store'));
    await Promise.all([a, b]);
    expect(order).toStrictEqual(['store', 'decode']);
  });

  it('lets a started job run past its start deadline to its finish deadline; drops one that has not started', async () => {
    let steps = 0;
    const first = inTurns(
      'decode',
      (function* () {
        for (let i = 0; i < 400; i++) {
          steps++;
          spin(2);
          yield;
        }
        return 'done';
      })(),
      // Starts at once (300 ms is room for a loaded host), runs ~800 ms: past its start deadline.
      { withinMs: 300, finishWithinMs: 30_000, late: () => new Error('late') },
    );
    // Queued behind the first, it cannot start within its 300 ms.
    const second = inTurns('decode', (function* () { yield; return 'never'; })(), { withinMs: 300, finishWithinMs: 30_000, late: () => new Error('not started') });
    await expect(first).resolves.toBe('done');
    await expect(second).rejects.toThrow('not started');
    expect(steps).toBe(400);
  });

  it('drops a job unfinished at its deadline with the caller\'s error, and stops its steps', async () => {
    let stepped = 0;
    const job = inTurns(
      'decode',
      (function* () {
        for (;;) {
          stepped++;
          spin(2);
          yield;
        }
      })(),
      // Long enough that a loaded host starts the job well before it (30 ms failed beside the soak at load 20).
      { withinMs: 300, late: () => new Error('too late') },
    );
    await expect(job).rejects.toThrow('too late');
    const after = stepped;
    await new Promise((r) => setTimeout(r, 20));
    expect(stepped).toBe(after);
    expect(stepped).toBeGreaterThan(3);
  });
});
