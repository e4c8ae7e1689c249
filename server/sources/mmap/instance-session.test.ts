import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {InstanceSession} from './instance-session.ts';
import type {SourceNotice} from '../source.ts';

// A directory tree shaped like tracefs is enough to exercise the state checks: the session is
// attached (never writes), and no fd is opened until startWaiting().
function fakeTracefs(): {root: string; inst: string} {
  const root = mkdtempSync(join(tmpdir(), 'ringside-fake-tracefs-'));
  writeFileSync(join(root, 'trace_pipe'), '');
  mkdirSync(join(root, 'per_cpu/cpu0'), {recursive: true});
  const inst = join(root, 'instances/x');
  mkdirSync(join(inst, 'per_cpu/cpu0'), {recursive: true});
  mkdirSync(join(inst, 'events'), {recursive: true});
  writeFileSync(join(inst, 'tracing_on'), '1\n');
  writeFileSync(join(inst, 'buffer_percent'), '50\n');
  writeFileSync(join(inst, 'trace_clock'), 'local [mono] global\n');
  writeFileSync(join(inst, 'set_event'), '');
  return {root, inst};
}

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, {recursive: true, force: true});
});

describe('InstanceSession state notices', () => {
  it('reports tracing-off, tracing-on and instance-gone once each', () => {
    const {root, inst} = fakeTracefs();
    roots.push(root);
    const s = new InstanceSession(
      {source: 'mmap', events: [], instance: 'x'},
      {tracefsRoot: root, stateCheckMs: 0},
      'test',
    );
    expect(s.bufferPercent).toBe(50);
    expect(s.instance.traceClock()).toBe('mono');
    const notices: SourceNotice[] = [];
    s.checkState(notices, true);
    expect(notices).toEqual([]);
    writeFileSync(join(inst, 'tracing_on'), '0\n');
    s.checkState(notices, true);
    writeFileSync(join(inst, 'tracing_on'), '1\n');
    s.checkState(notices, true);
    rmSync(inst, {recursive: true});
    s.checkState(notices, true);
    s.checkState(notices, true);
    expect(notices.map((n) => n.kind)).toEqual(['tracing-off', 'tracing-on', 'instance-gone']);
    expect(s.gone).toBe(true);
    s.closeNow();
    s.closeNow();
  });
});
