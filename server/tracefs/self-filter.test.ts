import {mkdirSync, readFileSync, rmdirSync} from 'node:fs';
import {describe, expect, it} from 'vitest';
import {TRACEFS, describeKernel} from '../testing/kernel-gate.ts';
import {TraceInstance} from './instance.ts';
import {SelfFilter, ownThreadIds} from './self-filter.ts';

/** Stands in for TraceInstance: records what would be appended to set_event_notrace_pid. */
function fakeInstance(fail = false) {
  const writes: number[][] = [];
  const inst = {
    dir: '/fake/instances/x',
    addNotracePids(pids: number[]) {
      if (fail) throw new Error('ENOENT set_event_notrace_pid');
      writes.push(pids);
    },
  } as unknown as TraceInstance;
  return {inst, writes};
}

describe('SelfFilter', () => {
  it('ownThreadIds lists this process, main thread included', () => {
    const t = ownThreadIds();
    expect(t).toContain(process.pid);
  });

  it('writes each thread once, and only the new ones on refresh', () => {
    const {inst, writes} = fakeInstance();
    let tids = [10, 11];
    const logs: string[] = [];
    const f = new SelfFilter(
      inst,
      (l) => logs.push(l),
      () => tids,
    );
    expect(f.refresh()).toBe(2);
    expect(f.refresh()).toBe(0);
    tids = [10, 11, 12, 13];
    expect(f.refresh()).toBe(2);
    expect(writes).toEqual([
      [10, 11],
      [12, 13],
    ]);
    expect(f.pids.sort()).toEqual([10, 11, 12, 13]);
    expect(logs).toEqual([expect.stringMatching(/kept out of .*--no-self-filter/)]);
  });

  it('a kernel without set_event_notrace_pid: logs once, then stays quiet', () => {
    const {inst} = fakeInstance(true);
    const logs: string[] = [];
    const f = new SelfFilter(
      inst,
      (l) => logs.push(l),
      () => [1, 2],
    );
    expect(f.refresh()).toBe(0);
    expect(f.refresh()).toBe(0);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/will be traced too/);
  });
});

describeKernel('self filter: only the own instance is changed', () => {
  it('own instance with filterSelf lists our threads; without it lists nothing', () => {
    const a = TraceInstance.open({
      root: TRACEFS,
      ownName: `ringside-test-selfa-${process.pid}`,
      events: ['ftrace:raw_data'],
      filterSelf: true,
    });
    const b = TraceInstance.open({
      root: TRACEFS,
      ownName: `ringside-test-selfb-${process.pid}`,
      events: ['ftrace:raw_data'],
    });
    try {
      const listed = a.read('set_event_notrace_pid').split(/\s+/).filter(Boolean).map(Number);
      expect(listed).toContain(process.pid);
      expect(a.selfFilter?.pids.sort()).toEqual([...listed].sort());
      expect(b.read('set_event_notrace_pid').trim()).toBe('');
      expect(b.selfFilter).toBeUndefined();
    } finally {
      a.remove();
      b.remove();
    }
  });

  it('an attached instance is never changed (and the top level neither)', () => {
    const name = `ringside-test-selfc-${process.pid}`;
    const dir = `${TRACEFS}/instances/${name}`;
    mkdirSync(dir);
    try {
      const attached = TraceInstance.open({root: TRACEFS, attach: name, filterSelf: true});
      expect(attached.selfFilter).toBeUndefined();
      expect(() => attached.addNotracePids([process.pid])).toThrow(/not our own instance/);
      expect(readFileSync(`${dir}/set_event_notrace_pid`, 'utf8').trim()).toBe('');
      const top = TraceInstance.open({root: TRACEFS, attach: ''});
      expect(() => top.addNotracePids([process.pid])).toThrow(/not our own instance/);
    } finally {
      rmdirSync(dir);
    }
  });
});
