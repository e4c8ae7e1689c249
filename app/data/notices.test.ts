import {describe, expect, it} from 'vitest';
import type {SourceInfo} from '../store/connection-slice.ts';
import {
  noticeText,
  parseControlAnswer,
  sourceAdviceKind,
  tracingAfter,
  visibleControls,
} from './notices.ts';

const src = (o: Partial<SourceInfo> = {}): SourceInfo => ({
  kind: 'sim',
  cpus: [0],
  subbufSize: 4096,
  nrSubbufs: 8,
  traceClock: 'local',
  controlAllowed: true,
  ...o,
});

describe('notice rules', () => {
  it('parses control answers `#id action: reason`', () => {
    expect(parseControlAnswer('#c3 enable-event: no such event sched:nope')).toEqual({
      action: 'enable-event',
      reason: 'no such event sched:nope',
    });
    expect(parseControlAnswer('#c1 clear')).toEqual({action: 'clear', reason: ''});
    expect(parseControlAnswer('tracing-off: x')).toEqual({action: 'tracing-off', reason: 'x'});
  });

  it('words notices with their reason and CPU', () => {
    expect(noticeText('control-denied', -1, '#c1 clear: control is not allowed')).toBe(
      'Denied: clear — control is not allowed',
    );
    expect(noticeText('control-ok', -1, '#c2 tracing-off')).toBe('Done: tracing-off');
    expect(noticeText('reset', 1, 'buffer cleared')).toBe(
      'Ring buffer reset (CPU 1): buffer cleared',
    );
    expect(noticeText('tracing-off', -1, '')).toBe('Tracing is off');
  });

  it('follows tracing on/off from notices and accepted controls only', () => {
    expect(tracingAfter('tracing-off', '', true)).toBe(false);
    expect(tracingAfter('tracing-on', '', false)).toBe(true);
    expect(tracingAfter('control-ok', '#c1 tracing-off', true)).toBe(false);
    expect(tracingAfter('control-denied', '#c1 tracing-off: no', true)).toBe(true);
    expect(tracingAfter('control-ok', '#c1 clear', null)).toBeNull();
  });

  it('lists controls only when allowed, and only the accepted actions', () => {
    expect(visibleControls(src({controlAllowed: false}), true)).toEqual({
      buttons: [],
      events: false,
    });
    expect(visibleControls(src(), false).buttons).toEqual([]);
    expect(visibleControls(null, true).buttons).toEqual([]);
    const v = visibleControls(src({controlActions: ['clear', 'disable-event']}), true);
    expect(v.buttons.map((b) => b.action)).toEqual(['clear']);
    expect(v.events).toBe(true);
    expect(visibleControls(src({controlActions: []}), true)).toEqual({buttons: [], events: false});
    // A v0 server lists nothing: the three buttons it always accepted.
    expect(visibleControls(src(), true).buttons.map((b) => b.label)).toEqual([
      'Start',
      'Stop',
      'Clear',
    ]);
  });

  it.each([
    ['ok', 'mmap', null],
    ['explicit', 'sim', null],
    [undefined, 'sim', null],
    ['no-tracefs', 'sim', 'no-tracefs'],
    ['no-permission', 'sim', 'no-permission'],
    ['old-kernel', 'sim', 'old-kernel'],
    ['no-mmap', 'sim', 'no-mmap'],
    ['no-mmap', 'read', null], // the read() banner already says it
  ] as const)('sourceReasonCode %s on %s → %s', (code, kind, want) => {
    expect(sourceAdviceKind(src({reasonCode: code, kind}))).toBe(want);
  });
});
