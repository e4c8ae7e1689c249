import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {TraceInstance} from '../tracefs/instance.ts';
import {
  MAPPED_RESIZE_REFUSAL,
  instanceControlActions,
  runInstanceControl,
} from './instance-control.ts';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, {recursive: true, force: true});
});

/** A directory tree shaped like one tracefs instance (plain files, no kernel behind it). */
function fakeInstance(): {inst: TraceInstance; dir: string; read: (rel: string) => string} {
  const root = mkdtempSync(join(tmpdir(), 'ringside-fake-tracefs-'));
  roots.push(root);
  const dir = join(root, 'instances', 'fake');
  const file = (rel: string, text: string) => {
    mkdirSync(join(dir, rel, '..'), {recursive: true});
    writeFileSync(join(dir, rel), text);
  };
  mkdirSync(join(dir, 'per_cpu', 'cpu0'), {recursive: true});
  file('tracing_on', '1\n');
  file('trace', '# tracer: nop\nsome old lines\n');
  file('buffer_size_kb', '1408\n');
  file('events/enable', '0\n');
  for (const e of ['sched/sched_switch', 'sched/sched_wakeup', 'irq/irq_handler_entry']) {
    file(`events/${e}/enable`, '0\n');
    file(`events/${e}/format`, `name: ${e}\n`);
  }
  file('events/ftrace/print/format', 'name: print\n');
  const inst = TraceInstance.open({root, attach: 'fake'});
  return {inst, dir, read: (rel) => readFileSync(join(dir, rel), 'utf8')};
}

describe('instance control actions', () => {
  it('who may be changed: own instance; attached only when allowed; top level never', () => {
    const own = {name: 'ringside-1', owned: true} as TraceInstance;
    const attached = {name: 'theirs', owned: false} as TraceInstance;
    const top = {name: '', owned: false} as TraceInstance;
    expect(instanceControlActions(own, false, true)).toEqual([
      'enable-event',
      'disable-event',
      'tracing-on',
      'tracing-off',
      'clear',
    ]);
    expect(instanceControlActions(own, false, false)).toContain('buffer-size');
    expect(instanceControlActions(attached, false, true)).toEqual([]);
    expect(instanceControlActions(attached, true, true)).toContain('clear');
    expect(instanceControlActions(top, true, true)).toEqual([]);
    expect(instanceControlActions(top, true, false)).toEqual([]);
  });

  it('enable-event / disable-event in trace-cmd syntax write exactly the enable files', () => {
    const {inst, read} = fakeInstance();
    const r = runInstanceControl(
      inst,
      {action: 'enable-event', args: {event: 'sched:sched_switch'}},
      true,
    );
    expect(r).toMatchObject({ok: true, metadataChanged: true});
    expect(r.message).toMatch(/enabled 1 event \(sched:sched_switch\)/);
    expect(read('events/sched/sched_switch/enable')).toBe('1');
    expect(read('events/sched/sched_wakeup/enable')).toBe('0\n');
    expect(runInstanceControl(inst, {action: 'enable-event', args: {event: 'irq'}}, true).ok).toBe(
      true,
    );
    expect(read('events/irq/irq_handler_entry/enable')).toBe('1');
    const off = runInstanceControl(inst, {action: 'disable-event', args: {event: 'sched/*'}}, true);
    expect(off.message).toMatch(/disabled 2 events/);
    expect(read('events/sched/sched_switch/enable')).toBe('0');
    expect(runInstanceControl(inst, {action: 'enable-event', args: {event: 'all'}}, true)).toEqual({
      ok: true,
      message: 'enabled all events',
      metadataChanged: true,
    });
    expect(read('events/enable')).toBe('1');
  });

  it('refuses bad event specs before touching anything', () => {
    const {inst, read} = fakeInstance();
    for (const event of [
      '../../tracing_on',
      'sched:../x',
      '',
      'a b',
      5,
      undefined,
      'x'.repeat(200),
    ]) {
      const r = runInstanceControl(inst, {action: 'enable-event', args: {event}}, true);
      expect(r.ok).toBe(false);
    }
    const unknown = runInstanceControl(inst, {action: 'enable-event', args: {event: 'nope'}}, true);
    expect(unknown).toMatchObject({ok: false});
    expect(unknown.message).toMatch(/unknown event: nope/);
    const ftrace = runInstanceControl(
      inst,
      {action: 'enable-event', args: {event: 'ftrace:print'}},
      true,
    );
    expect(ftrace).toMatchObject({ok: false});
    expect(read('tracing_on')).toBe('1\n');
    expect(read('events/enable')).toBe('0\n');
  });

  it('tracing-on/off, clear and buffer-size (refused while mapped)', () => {
    const {inst, read} = fakeInstance();
    expect(runInstanceControl(inst, {action: 'tracing-off', args: {}}, true)).toEqual({
      ok: true,
      message: 'tracing_on is 0',
    });
    expect(read('tracing_on')).toBe('0');
    runInstanceControl(inst, {action: 'tracing-on', args: {}}, true);
    expect(read('tracing_on')).toBe('1');
    expect(runInstanceControl(inst, {action: 'clear', args: {}}, true).ok).toBe(true);
    expect(read('trace')).toBe('');
    const mapped = runInstanceControl(inst, {action: 'buffer-size', args: {kb: 64}}, true);
    expect(mapped).toEqual({ok: false, message: MAPPED_RESIZE_REFUSAL});
    expect(read('buffer_size_kb')).toBe('1408\n');
    for (const kb of [0, -1, 1.5, '64', 2 ** 30]) {
      expect(runInstanceControl(inst, {action: 'buffer-size', args: {kb}}, false).ok).toBe(false);
    }
    expect(runInstanceControl(inst, {action: 'buffer-size', args: {kb: 64}}, false)).toEqual({
      ok: true,
      message: 'buffer_size_kb is 64',
    });
    expect(read('buffer_size_kb')).toBe('64');
    expect(runInstanceControl(inst, {action: 'reboot', args: {}}, false)).toEqual({
      ok: false,
      message: "unknown action 'reboot'",
    });
  });

  it('file errors come back as a failed result, never thrown', () => {
    const {inst, dir} = fakeInstance();
    rmSync(join(dir, 'tracing_on'));
    mkdirSync(join(dir, 'tracing_on')); // writing to a directory fails with EISDIR
    const r = runInstanceControl(inst, {action: 'tracing-off', args: {}}, true);
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/EISDIR/);
  });
});
