import {describe, expect, it} from 'vitest';
import {Notifier, type Notification, type TimerApi} from './notifier.ts';

/** Manual clock: timers fire only when the test advances time. */
function manualTimers() {
  let now = 0;
  let q: {at: number; fn: () => void}[] = [];
  const timers: TimerApi = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = {at: now + ms, fn};
      q.push(t);
      return t;
    },
    clearTimeout: (h) => void (q = q.filter((t) => t !== h)),
  };
  const advance = (ms: number) => {
    now += ms;
    for (;;) {
      const due = q.filter((t) => t.at <= now).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      q = q.filter((t) => t !== due);
      due.fn();
    }
  };
  return {timers, advance};
}

describe('Notifier', () => {
  it('sends at most one data and one stats message per interval, trailing', () => {
    const {timers, advance} = manualTimers();
    let version = 0;
    const n = new Notifier(() => version, 250, timers);
    const got: Notification[] = [];
    n.subscribe((x) => void got.push(x));
    for (let t = 0; t < 1000; t += 10) {
      version++;
      n.data();
      if (t % 100 === 0) n.stats();
      advance(10);
    }
    advance(1000);
    const data = got.filter((x) => x.kind === 'data');
    expect(data.length).toBeGreaterThanOrEqual(4);
    expect(data.length).toBeLessThanOrEqual(5);
    expect(got.filter((x) => x.kind === 'stats').length).toBeLessThanOrEqual(5);
    // The last change is always announced.
    expect(data[data.length - 1]).toEqual({kind: 'data', version: 100});
  });

  it('sends connection changes at once and drops listeners that fail', () => {
    const {timers} = manualTimers();
    const n = new Notifier(() => 0, 250, timers);
    const got: Notification[] = [];
    n.subscribe((x) => void got.push(x));
    n.subscribe(() => {
      throw new Error('port closed');
    });
    n.connection('open', '');
    n.connection('closed', 'bye');
    expect(got).toEqual([
      {kind: 'connection', state: 'open', detail: ''},
      {kind: 'connection', state: 'closed', detail: 'bye'},
    ]);
  });
});
