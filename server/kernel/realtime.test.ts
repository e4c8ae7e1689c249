import {existsSync, readFileSync} from 'node:fs';
import {describe, expect, it} from 'vitest';
import {hasSysNice, mayUseRealtime, rtprioLimit} from './realtime.ts';

describe('realtime permission', () => {
  it('reads CAP_SYS_NICE (bit 23) from CapEff', () => {
    expect(hasSysNice('Name:\tnode\nCapEff:\t000001ffffffffff\n')).toBe(true);
    expect(hasSysNice('CapEff:\t000001fffeffffff\n')).toBe(true); // without CAP_SYS_RESOURCE (24)
    expect(hasSysNice('CapEff:\t000001ffff7fffff\n')).toBe(false); // without bit 23
    expect(hasSysNice('CapEff:\t0000000000000000\n')).toBe(false);
    expect(hasSysNice('Name:\tnode\n')).toBe(false);
  });

  it('reads the soft RLIMIT_RTPRIO, not the real-time timeout', () => {
    const limits = (soft: string) =>
      `Limit                     Soft Limit           Hard Limit           Units\n` +
      `Max realtime priority     ${soft.padEnd(21)}99\n` +
      `Max realtime timeout      unlimited            unlimited            us\n`;
    expect(rtprioLimit(limits('0'))).toBe(0);
    expect(rtprioLimit(limits('10'))).toBe(10);
    expect(rtprioLimit(limits('unlimited'))).toBe(99);
    expect(rtprioLimit('')).toBe(0);
  });

  it('agrees with this process and never allows priority 0', () => {
    if (!existsSync('/proc/self/status')) {
      expect(mayUseRealtime(1)).toBe(false); // no /proc: not Linux, no mmap source either
      return;
    }
    const status = readFileSync('/proc/self/status', 'utf8');
    const limits = readFileSync('/proc/self/limits', 'utf8');
    expect(mayUseRealtime(1)).toBe(hasSysNice(status) || rtprioLimit(limits) >= 1);
    expect(mayUseRealtime(0)).toBe(false);
  });
});
