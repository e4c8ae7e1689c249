import {describe, expect, it} from 'vitest';
import type {SourceNotice} from '../source.ts';
import {SpinGuard} from './spin-guard.ts';

describe("the reader thread's SpinGuard", () => {
  it('pauses only after `limit` rounds in a row that found nothing where data was expected', () => {
    const g = new SpinGuard('test reader', 4, 10);
    const notices: SourceNotice[] = [];
    expect([1, 2, 3].map(() => g.note(true, false, notices))).toEqual([0, 0, 0]);
    expect(notices).toEqual([]);
    expect(g.note(true, false, notices)).toBe(10);
    expect(g.note(true, false, notices)).toBe(10);
    expect(g.pauses).toBe(2);
    // Said once, with who and how often.
    expect(notices).toHaveLength(1);
    expect(notices[0]!.kind).toBe('error');
    expect(notices[0]!.message).toMatch(/^test reader: .*4 times in a row.*pausing 10 ms/);
  });

  it('a round that found data, or did not expect any, ends the streak', () => {
    const g = new SpinGuard('test reader', 2, 10);
    expect(g.note(true, false)).toBe(0);
    expect(g.note(true, true)).toBe(0); // found data: a normal round
    expect(g.note(true, false)).toBe(0);
    expect(g.note(false, false)).toBe(0); // poll timed out or was woken: nothing was promised
    expect(g.note(true, false)).toBe(0);
    expect(g.note(true, false)).toBe(10);
    expect(g.pauses).toBe(1);
  });
});
