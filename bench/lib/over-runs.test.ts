import {describe, expect, it} from 'vitest';
import {formatOverRuns, overRuns, repeatArg} from './over-runs.ts';

describe('overRuns', () => {
  it('gives the median, the range and the runs that met the aim', () => {
    const r = overRuns([42.7, 14.5, 13.2, 35.8, 15.3, 53.8, 73.4, 14.9, 14.5], 20);
    expect(r).toEqual({runs: 9, median: 15.3, min: 13.2, max: 73.4, aim: 20, met: 5});
    expect(formatOverRuns(r)).toBe(
      'median 15.3 ms (13.2–73.4 over 9 runs); aim < 20 ms met in 5 of 9',
    );
  });

  it('takes the mean of the middle two of an even count, and no aim when none is given', () => {
    const r = overRuns([300, 100, 200, 250]);
    expect(r.median).toBe(225);
    expect(r.met).toBeUndefined();
    expect(formatOverRuns(r)).toBe('median 225 ms (100–300 over 4 runs)');
    expect(formatOverRuns(overRuns([62, 40.1, 80.2]), 'x')).toBe(
      'median 62.0x (40.1–80.2 over 3 runs)',
    );
    expect(formatOverRuns(overRuns([61.24, 55, 70]), '%')).toBe(
      'median 61.2 % (55.0–70.0 over 3 runs)',
    );
  });

  it('refuses no runs, and a --repeat that is not a whole number ≥ 1', () => {
    expect(() => overRuns([])).toThrow(/no runs/);
    expect(repeatArg(['--secs', '3'])).toBe(1);
    expect(repeatArg(['--repeat', '5'])).toBe(5);
    for (const bad of ['0', '-2', '1.5', 'x'])
      expect(() => repeatArg(['--repeat', bad])).toThrow(/--repeat/);
    expect(() => repeatArg(['--repeat'])).toThrow(/--repeat/);
  });
});
