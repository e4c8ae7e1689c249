import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, rmSync, rmdirSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, expect, it} from 'vitest';
import {
  TRACEFS,
  describeKernel,
  noteKernelLocked,
  subbufSizeRequirement,
} from '../testing/kernel-gate.ts';
import {DEFAULT_EVENTS, resolveEventSpecs} from './event-spec.ts';
import {TraceInstance} from './instance.ts';
import {removeStaleInstances} from './stale-instances.ts';
import {parseCpuList, kernelVersion} from './tracefs-root.ts';
import {pendingCleanups, registerCleanup, runCleanups, unregisterCleanup} from './cleanup.ts';

describe('tracefs helpers', () => {
  it('parses cpu lists and kernel releases', () => {
    expect(parseCpuList('0-3,6,8-9\n')).toEqual([0, 1, 2, 3, 6, 8, 9]);
    expect(kernelVersion('6.18.44-fc-v657')).toEqual([6, 18]);
    expect(kernelVersion('5.4.0')).toEqual([5, 4]);
  });

  it('runs registered cleanups once, newest first, and survives a throwing one', () => {
    const order: string[] = [];
    const a = registerCleanup('a', () => order.push('a'));
    registerCleanup('b', () => {
      throw new Error('boom');
    });
    registerCleanup('c', () => order.push('c'));
    const lines: string[] = [];
    runCleanups((l) => lines.push(l));
    expect(order).toEqual(['c', 'a']);
    expect(lines.join()).toMatch(/'b' failed: boom/);
    runCleanups();
    expect(order).toEqual(['c', 'a']);
    unregisterCleanup(a);
    expect(pendingCleanups()).toEqual([]);
  });
});

describeKernel('tracefs instances on the live kernel', () => {
  const events = `${TRACEFS}/events`;

  it('resolves trace-cmd event syntax', () => {
    const one = (s: string) =>
      resolveEventSpecs(events, [s]).events.map((e) => `${e.system}:${e.name}`);
    expect(one('sched:sched_switch')).toEqual(['sched:sched_switch']);
    expect(one('sched/sched_switch')).toEqual(['sched:sched_switch']);
    expect(one('sched_switch')).toEqual(['sched:sched_switch']);
    expect(one('sched:*').length).toBeGreaterThan(10);
    expect(one('sched')).toEqual(one('sched:*'));
    expect(one('irq:softirq_*')).toEqual([
      'irq:softirq_entry',
      'irq:softirq_exit',
      'irq:softirq_raise',
    ]);
    expect(resolveEventSpecs(events, ['all']).all).toBe(true);
    expect(resolveEventSpecs(events, DEFAULT_EVENTS).events.length).toBeGreaterThan(7);
    expect(() => resolveEventSpecs(events, ['sched:nope', 'sched_switch'])).toThrow(
      /unknown event: sched:nope/,
    );
  });

  it('configures its own instance and removes it', () => {
    const name = `ringside-test-inst-${process.pid}`;
    const options = {
      root: TRACEFS,
      ownName: name,
      bufferKb: 64,
      subbufKb: 8,
      clock: 'mono',
      events: ['sched:sched_switch'],
    };
    const subbuf = subbufSizeRequirement();
    if (!subbuf.ok) {
      // The kernel's policy: the refusal must name the file and the way on, and leave nothing.
      noteKernelLocked('8 KiB sub-buffers of an own instance', subbuf.why);
      expect(() => TraceInstance.open(options)).toThrow(
        /buffer_subbuf_size_kb.*does not let the sub-buffer size be changed; leave out --subbuf-kb to use its 4 KiB/,
      );
      expect(existsSync(`${TRACEFS}/instances/${name}`)).toBe(false);
      options.subbufKb = 4; // the size it has: not written at all
    }
    const inst = TraceInstance.open(options);
    try {
      expect(inst.owned).toBe(true);
      expect(inst.read('buffer_percent').trim()).toBe('0');
      expect(inst.read('buffer_subbuf_size_kb').trim()).toBe(String(options.subbufKb));
      expect(inst.traceClock()).toBe('mono');
      expect(inst.read('set_event').trim()).toBe('sched:sched_switch');
      expect(inst.cpus().length).toBeGreaterThan(0);
    } finally {
      expect(inst.remove()).toBeUndefined();
    }
    expect(existsSync(`${TRACEFS}/instances/${name}`)).toBe(false);
    // The top level is used only when asked, and never changed or removed.
    const top = TraceInstance.open({root: TRACEFS, attach: ''});
    expect(top.dir).toBe(TRACEFS);
    expect(top.owned).toBe(false);
    expect(top.remove()).toBeUndefined();
    expect(() => TraceInstance.open({root: TRACEFS, attach: 'ringside-test-missing'})).toThrow(
      /not found/,
    );
  });

  it('removes stale ringside-<pid> instances of dead processes and keeps live ones', () => {
    const dead = spawnSync('true').pid!;
    const live = spawn('sleep', ['30']);
    const deadDir = `${TRACEFS}/instances/ringside-${dead}`;
    const liveDir = `${TRACEFS}/instances/ringside-${live.pid}`;
    try {
      mkdirSync(deadDir);
      mkdirSync(liveDir);
      const removed = removeStaleInstances(TRACEFS);
      expect(removed).toContain(`ringside-${dead}`);
      expect(existsSync(deadDir)).toBe(false);
      expect(existsSync(liveDir)).toBe(true);
      // Creating an own instance runs the same sweep.
      mkdirSync(deadDir);
      const inst = TraceInstance.open({
        root: TRACEFS,
        ownName: `ringside-test-sweep-${process.pid}`,
        events: ['ftrace'],
      });
      inst.remove();
      expect(existsSync(deadDir)).toBe(false);
    } finally {
      live.kill();
      for (const d of [deadDir, liveDir]) if (existsSync(d)) rmdirSync(d);
    }
  });

  it('a source killed by SIGTERM removes its instance', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringside-sig-'));
    const name = `ringside-test-sig-${process.pid}`;
    const script = join(dir, 'child.mts');
    writeFileSync(
      script,
      `import {MmapSource} from ${JSON.stringify(new URL('../sources/mmap/mmap-source.ts', import.meta.url).pathname)};
       const s = new MmapSource({source: 'mmap', events: ['ftrace']}, {ownInstanceName: ${JSON.stringify(name)}});
       await s.open();
       console.log('ready');
       await new Promise((r) => setTimeout(r, 20000));`,
    );
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: new URL('../..', import.meta.url).pathname,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        child.on('exit', () => reject(new Error(`child exited early: ${err}`)));
      });
      expect(existsSync(`${TRACEFS}/instances/${name}`)).toBe(true);
      const code = await new Promise<number | null>((resolve) => {
        child.removeAllListeners('exit');
        child.on('exit', (c) => resolve(c));
        child.kill('SIGTERM');
      });
      expect(code).toBe(143);
      expect(existsSync(`${TRACEFS}/instances/${name}`)).toBe(false);
    } finally {
      if (existsSync(`${TRACEFS}/instances/${name}`)) rmdirSync(`${TRACEFS}/instances/${name}`);
      rmSync(dir, {recursive: true, force: true});
    }
  });
});
