import {describe, expect, it} from 'vitest';
import {EventRegistry} from '../format/event-registry.ts';
import type {EventFormat} from '../format/event-format.ts';
import {parseEventSelectors, selects} from './event-filter.ts';
import {ReportFormatter, type InfoRenderer} from './report-line.ts';
import {CommLearningRenderer} from './learned-comms.ts';

const SWITCH = `name: sched_switch
ID: 372
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:char next_comm[16];\toffset:28;\tsize:16;\tsigned:0;
\tfield:pid_t next_pid;\toffset:44;\tsize:4;\tsigned:1;

print fmt: "prev=%s next=%s", REC->prev_comm, REC->next_comm
`;

/** A renderer stand-in that prints a fixed text: these tests are about the line around it. */
const fixed = (text: string): InfoRenderer => ({render: () => text});

function record(pid: number, prev: [string, number], next: [string, number]): Uint8Array {
  const b = new Uint8Array(48);
  const v = new DataView(b.buffer);
  v.setUint16(0, 372, true);
  v.setInt32(4, pid, true);
  b.set(new TextEncoder().encode(prev[0]), 8);
  v.setInt32(24, prev[1], true);
  b.set(new TextEncoder().encode(next[0]), 28);
  v.setInt32(44, next[1], true);
  return b;
}

function registry(): EventRegistry {
  const r = new EventRegistry({longSize: 8, littleEndian: true});
  r.addFormatText(SWITCH, 'sched');
  r.setCmdlines('42 bash\n');
  return r;
}

describe('ReportFormatter', () => {
  it('lays out comm-pid [cpu] secs.usecs: name: info like trace-cmd', () => {
    const f = new ReportFormatter(registry(), fixed('text'));
    const rec = record(42, ['a', 1], ['b', 2]);
    expect(f.formatEvent(1, 992_380_651_499, rec, 0, 48)).toBe(
      '            bash-42    [001]   992.380651: sched_switch:         text',
    );
    // Rounding to the microsecond, and a pid with no comm.
    expect(f.formatEvent(0, 1_999_999_500, record(7, ['a', 1], ['b', 2]), 0, 48)).toBe(
      '           <...>-7     [000]     2.000000: sched_switch:         text',
    );
    expect(f.formatEvent(12, 5_000, record(0, ['a', 1], ['b', 2]), 0, 48)).toBe(
      '          <idle>-0     [012]     0.000005: sched_switch:         text',
    );
  });

  it('prints raw timestamps for clocks that are not in ns, without the space', () => {
    const f = new ReportFormatter(registry(), fixed('x'), {usecs: false});
    expect(f.formatEvent(0, 19, record(42, ['a', 1], ['b', 2]), 0, 48)).toBe(
      '            bash-42    [000]          19: sched_switch:         x',
    );
  });

  it('applies offsets and TSC conversion exactly (bigint path)', () => {
    const f = new ReportFormatter(registry(), fixed('x'), {tsOffsetNs: 1_700_000_000_000_000_000n});
    expect(f.formatTime(1_500)).toBe('1700000000.000002');
    const tsc = new ReportFormatter(registry(), fixed('x'), {tsc2nsec: {mult: 3, shift: 1}});
    expect(tsc.formatTime(2_000_000)).toBe('    0.003000');
  });

  it('drops one trailing newline of the info and adds the lost-events line', () => {
    const f = new ReportFormatter(registry(), fixed('two\nlines\n'));
    f.prefix = 'inst: ';
    const line = f.formatEvent(3, 1e9, record(42, ['a', 1], ['b', 2]), 0, 48, 17);
    expect(line).toBe(
      'inst: CPU:3 [17 EVENTS DROPPED]\n            bash-42    [003]     1.000000: sched_switch:         two\nlines',
    );
    expect(f.formatLost(2, -1)).toBe('inst: CPU:2 [EVENTS DROPPED]');
  });

  it('prints unknown events the way libtraceevent does', () => {
    const f = new ReportFormatter(registry(), fixed('x'));
    const rec = record(42, ['a', 1], ['b', 2]);
    rec[0] = 99;
    expect(f.formatEvent(0, 0, rec, 0, 48)).toBe(
      '[UNKNOWN EVENT][UNKNOWN EVENT] (NULL):               [UNKNOWN EVENT]',
    );
  });

  it('learns comms from sched_switch for later lines, without overriding saved ones', () => {
    const reg = registry();
    const learner = new CommLearningRenderer(reg, fixed('s'));
    const f = new ReportFormatter(reg, learner);
    const first = f.formatEvent(0, 0, record(77, ['worker', 77], ['bash', 42]), 0, 48);
    expect(first.trimStart().startsWith('<...>-77')).toBe(true); // column printed before learning
    const second = f.formatEvent(0, 0, record(77, ['other', 77], ['x', 0]), 0, 48);
    expect(second.trimStart().startsWith('worker-77')).toBe(true);
    expect(learner.comm(42)).toBe('bash');
  });
});

describe('event filters', () => {
  const fmt = (system: string, name: string) => ({system, name}) as EventFormat;
  it('matches trace-cmd style selectors', () => {
    const cases: [string[], [string, string], boolean][] = [
      [['sched:sched_switch'], ['sched', 'sched_switch'], true],
      [['sched/sched_switch'], ['sched', 'sched_wakeup'], false],
      [['sched:*'], ['sched', 'sched_wakeup'], true],
      [['sched'], ['sched', 'sched_wakeup'], true],
      [['sched_wakeup'], ['sched', 'sched_wakeup'], true],
      [['irq,timer:hrtimer_*'], ['timer', 'hrtimer_start'], true],
      [['irq,timer:hrtimer_*'], ['timer', 'timer_start'], false],
      [[], ['x', 'y'], true],
    ];
    for (const [specs, [s, n], want] of cases)
      expect(selects(parseEventSelectors(specs), fmt(s, n)), `${specs} ${s}:${n}`).toBe(want);
    expect(() => parseEventSelectors(['sched:a:b'])).toThrow();
  });
});
