/**
 * Seeded synthetic workload: a small per-CPU scheduler with tasks that run, make syscalls, sleep
 * in blocking syscalls, get woken (sched_waking/sched_wakeup, often from interrupts or from other
 * CPUs) and switch; a 250 Hz tick (hrtimer + timer softirq), device interrupts with NET_RX
 * softirqs, and trace_marker prints. Every event is written into the ring-buffer model in the
 * kernel's binary format, with field offsets taken from the bundled format files.
 *
 * Time is simulated: `advanceTime(ns)` generates everything up to the new time, in time order
 * across CPUs, so the same seed always gives the same bytes. `rate` (events/s/CPU, default 3000)
 * scales how busy the tasks and devices are; 0 turns the background off so tests can script
 * exact sequences with `writeMarker` / `writeRaw`.
 */
import type {CpuRingBuffer} from './ring-buffer-model.ts';
import {bundledFormats} from './format-offsets.ts';
import {Rng} from '../../../core/seeded-random.ts';
import type {SimTask} from './tasks.ts';
import {makeTasks} from './tasks.ts';
import {EventWriter, HRTIMER_WAKEUP_FN, TICK_FN} from './event-writer.ts';

export interface WorkloadOptions {
  seed?: number;
  /** Target events per second per CPU (the 250 Hz tick alone makes ~800); 0 = no background. */
  rate?: number;
  /** Trace clock value (ns) at simulated time 0. */
  startNs?: number;
}

const TICK_NS = 4_000_000; // CONFIG_HZ=250
const BLOCKING_SYSCALLS = [0, 7, 202, 232, 35, 23]; // read, poll, futex, epoll_wait, nanosleep, select
const FAST_SYSCALLS = [1, 3, 9, 11, 39, 228, 257, 262, 16, 72]; // write, close, mmap, munmap, getpid, clock_gettime…
const IRQ_NAMES = ['virtio0-input.0', 'virtio2-req.0', 'ahci[0000:00:1f.2]', 'virtio3-tx'];
const SOFTIRQ_TIMER = 1;
const NR_NANOSLEEP = 35;
const SOFTIRQ_NET_RX = 3;
const S_SLEEPING = 1; // TASK_INTERRUPTIBLE, printed "S"
const D_BLOCKED = 2; // TASK_UNINTERRUPTIBLE, "D"

interface CpuState {
  cpu: number;
  /** Index into tasks of the running task, -1 = idle (swapper/N). */
  current: number;
  runqueue: number[];
  nextTickNs: number;
  tickCount: number;
  nextIrqNs: number;
  nextSyscallNs: number;
  sliceEndNs: number;
  /** When the idle CPU (or a preempting wakeup) switches to the runqueue head. */
  switchAtNs: number;
  /**
   * Wakeups this CPU performs: [timeNs, code] pairs, unsorted (small). code = task index, or
   * -(index + 1) when the task's own hrtimer (nanosleep) expires here.
   */
  wakes: number[];
  /** Last timestamp written on this CPU (events inside a burst advance it). */
  busyUntilNs: number;
}

interface TaskState extends SimTask {
  /** Syscall NR the task is blocked in (emitted as sys_exit when it runs again), or -1. */
  blockedNr: number;
  wokenAtNs: number;
  lastCpu: number;
  markers: number;
}

export class SyntheticWorkload {
  readonly tasks: TaskState[];
  private readonly cpus: CpuState[];
  private readonly rng: Rng;
  private readonly out: EventWriter;
  private readonly rate: number;
  private readonly startNs: number;
  private nowNs = 0;
  /** Events written per CPU (accepted or dropped by the buffer). */
  readonly emitted: number[];
  /** Wakeup latencies generated (waking → switch-in), for tests and the UI's expectation. */
  readonly wakeLatenciesNs: number[] = [];

  constructor(buffers: CpuRingBuffer[], options: WorkloadOptions = {}) {
    const layouts = bundledFormats().layouts;
    this.rng = new Rng(options.seed ?? 1);
    this.rate = options.rate ?? 3000;
    this.startNs = options.startNs ?? 12_345_000_000_000;
    this.out = new EventWriter(buffers, layouts);
    this.emitted = this.out.emitted;
    this.tasks = makeTasks(buffers.length).map((t) => ({
      ...t,
      blockedNr: -1,
      wokenAtNs: 0,
      lastCpu: t.pinned >= 0 ? t.pinned : 0,
      markers: 0,
    }));
    this.cpus = buffers.map((_, cpu) => ({
      cpu,
      current: -1,
      runqueue: [],
      nextTickNs: 1000 + cpu * 137_000,
      tickCount: 0,
      nextIrqNs: Infinity,
      nextSyscallNs: Infinity,
      sliceEndNs: Infinity,
      switchAtNs: Infinity,
      wakes: [],
      busyUntilNs: 0,
    }));
    if (this.rate > 0) {
      // Everyone starts asleep; wake them over the first few milliseconds.
      this.tasks.forEach((t, i) => {
        const cpu = t.pinned >= 0 ? t.pinned : i % buffers.length;
        t.blockedNr = BLOCKING_SYSCALLS[i % BLOCKING_SYSCALLS.length];
        this.cpus[cpu].wakes.push(this.rng.int(5_000_000), i);
      });
      for (const c of this.cpus) c.nextIrqNs = this.rng.exp(this.irqMeanNs());
    }
  }

  /**
   * Restrict background events to those matching trace-cmd style specs ('sched',
   * 'sched:sched_switch', 'sched/sched_switch', 'irq:*', 'all'); markers always pass. Returns the
   * specs that matched nothing.
   */
  enableEvents(specs: string[]): string[] {
    if (specs.length === 0 || specs.includes('all')) {
      this.out.enabled = undefined;
      return [];
    }
    const layouts = [...bundledFormats().layouts.values()];
    const ids = new Set<number>(layouts.filter((l) => l.system === 'ftrace').map((l) => l.id));
    const unknown: string[] = [];
    for (const spec of specs) {
      const [system, name = '*'] = spec.split(/[:/]/);
      const hits = layouts.filter((l) => l.system === system && (name === '*' || l.name === name));
      if (hits.length === 0) unknown.push(spec);
      for (const l of hits) ids.add(l.id);
    }
    this.out.enabled = ids;
    return unknown;
  }

  /** Simulated time (ns since the workload started). */
  get timeNs(): number {
    return this.nowNs;
  }

  /** Trace clock (ns) for a simulated time. */
  clockNs(simNs = this.nowNs): number {
    return this.startNs + simNs;
  }

  private scale(): number {
    return this.rate / 3000;
  }
  private irqMeanNs(): number {
    return 8_000_000 / this.scale();
  }
  private syscallMeanNs(): number {
    return 1_500_000 / this.scale();
  }
  private sliceMeanNs(): number {
    return 1_200_000 / this.scale();
  }

  /** Generate every background event up to `nowNs + ns`, in time order across CPUs. */
  advanceTime(ns: number): void {
    const target = this.nowNs + Math.max(0, ns);
    if (this.rate > 0) {
      for (;;) {
        let best = -1;
        let bestNs = Infinity;
        for (const c of this.cpus) {
          const t = this.nextActionNs(c);
          if (t < bestNs) {
            bestNs = t;
            best = c.cpu;
          }
        }
        if (best < 0 || bestNs > target) break;
        this.nowNs = Math.max(this.nowNs, bestNs);
        this.step(this.cpus[best], bestNs);
      }
    }
    this.nowNs = target;
  }

  /** Simulated time of the next background event (Infinity when there is none). */
  nextEventNs(): number {
    if (this.rate <= 0) return Infinity;
    let best = Infinity;
    for (const c of this.cpus) best = Math.min(best, this.nextActionNs(c));
    return best;
  }

  /** A trace_marker write on `cpu` now: ftrace `print` with the text plus "\n\0". */
  writeMarker(cpu: number, text: string): boolean {
    const c = this.cpus[cpu];
    const ts = Math.max(this.nowNs, c.busyUntilNs);
    return this.out.print(cpu, this.clockNs(ts), this.pidOf(c), text);
  }

  /** A trace_marker_raw write on `cpu` now: ftrace `raw_data`; `bytes` starts with the u32 id. */
  writeRaw(cpu: number, bytes: Uint8Array): boolean {
    const c = this.cpus[cpu];
    const ts = Math.max(this.nowNs, c.busyUntilNs);
    return this.out.raw(cpu, this.clockNs(ts), this.pidOf(c), bytes);
  }

  private pidOf(c: CpuState): number {
    return c.current < 0 ? 0 : this.tasks[c.current].pid;
  }

  private nextActionNs(c: CpuState): number {
    let t = Math.min(c.nextTickNs, c.nextIrqNs, c.nextSyscallNs, c.sliceEndNs, c.switchAtNs);
    for (let i = 0; i < c.wakes.length; i += 2) t = Math.min(t, c.wakes[i]);
    return Math.max(t, c.busyUntilNs);
  }

  private step(c: CpuState, at: number): void {
    const ts = Math.max(at, c.busyUntilNs);
    // Pick the action that is due (priority: interrupts, wakeups, scheduling, syscalls).
    if (c.nextTickNs <= at) return this.tick(c, ts);
    if (c.nextIrqNs <= at) return this.deviceIrq(c, ts);
    for (let i = 0; i < c.wakes.length; i += 2) {
      if (c.wakes[i] <= at) {
        const code = c.wakes[i + 1];
        c.wakes.splice(i, 2);
        if (code < 0) return this.hrtimerWake(c, ts, -code - 1);
        return this.wake(c, ts, code, 0);
      }
    }
    if (c.switchAtNs <= at) return this.switchNext(c, ts, 0);
    if (c.sliceEndNs <= at) return this.sliceEnd(c, ts);
    if (c.nextSyscallNs <= at) return this.syscall(c, ts);
  }

  private tick(c: CpuState, ts: number): void {
    const o = this.out;
    const pid = this.pidOf(c);
    let t = ts;
    const timer = 0x3bc1e2c0 + c.cpu * 0x40000; // low half of the per-CPU hrtimer
    o.hrtimerExpireEntry(c.cpu, this.clockNs(t), pid, timer, this.clockNs(t), TICK_FN);
    t += 1500 + this.rng.int(3000);
    o.hrtimerExpireExit(c.cpu, this.clockNs(t), pid, timer);
    c.tickCount++;
    if (c.tickCount % 4 === 0) {
      // TIMER softirq on the way out of the interrupt: one expired timer_list.
      o.softirq('softirq_raise', c.cpu, this.clockNs((t += 400)), pid, SOFTIRQ_TIMER);
      o.softirq('softirq_entry', c.cpu, this.clockNs((t += 1200)), pid, SOFTIRQ_TIMER);
      const jiffies = 4_294_667_296 + Math.floor(ts / TICK_NS);
      o.timerExpireEntry(c.cpu, this.clockNs((t += 500)), pid, 0x00a3be20 + c.cpu * 64, jiffies);
      // A timer callback often wakes a kworker.
      const kw = this.tasks.findIndex((k) => k.pinned === c.cpu && k.comm.startsWith('kworker'));
      if (kw >= 0 && this.isSleeping(kw) && this.rng.next() < 0.5)
        this.wake(c, (t += 800), kw, 0x10);
      o.timerExpireExit(c.cpu, this.clockNs((t += 900)), pid, 0x00a3be20 + c.cpu * 64);
      o.softirq('softirq_exit', c.cpu, this.clockNs((t += 300)), pid, SOFTIRQ_TIMER);
    }
    c.busyUntilNs = t + 1;
    c.nextTickNs += TICK_NS;
  }

  private deviceIrq(c: CpuState, ts: number): void {
    const o = this.out;
    const pid = this.pidOf(c);
    const which = this.rng.int(IRQ_NAMES.length);
    let t = ts;
    o.irqEntry(c.cpu, this.clockNs(t), pid, 24 + which, IRQ_NAMES[which]);
    t += 2000 + this.rng.int(8000);
    o.irqExit(c.cpu, this.clockNs(t), pid, 24 + which, 1);
    if (which !== 1) {
      o.softirq('softirq_raise', c.cpu, this.clockNs((t += 300)), pid, SOFTIRQ_NET_RX);
      o.softirq('softirq_entry', c.cpu, this.clockNs((t += 900)), pid, SOFTIRQ_NET_RX);
      // Network input wakes a sleeping user task somewhere.
      const sleeper = this.pickSleeper();
      if (sleeper >= 0) this.wake(c, (t += 1500 + this.rng.int(4000)), sleeper, 0x10);
      o.softirq(
        'softirq_exit',
        c.cpu,
        this.clockNs((t += 800 + this.rng.int(3000))),
        pid,
        SOFTIRQ_NET_RX,
      );
    } else {
      const sleeper = this.pickSleeper();
      if (sleeper >= 0) this.wake(c, (t += 500), sleeper, 0x09);
    }
    c.busyUntilNs = t + 1;
    c.nextIrqNs = ts + 20_000 + this.rng.exp(this.irqMeanNs());
  }

  /** Low half of the address of task `i`'s hrtimer_sleeper. */
  private timerOf(task: number): number {
    return 0x2d4f7e58 + task * 0x4000;
  }

  /** A task's nanosleep hrtimer expires on `c`: expire_entry, the wakeup, expire_exit. */
  private hrtimerWake(c: CpuState, ts: number, task: number): void {
    const pid = this.pidOf(c);
    const timer = this.timerOf(task);
    this.out.hrtimerExpireEntry(
      c.cpu,
      this.clockNs(ts),
      pid,
      timer,
      this.clockNs(ts),
      HRTIMER_WAKEUP_FN,
    );
    this.wake(c, ts + 700, task, 0x09);
    const t = Math.max(c.busyUntilNs, ts + 2500);
    this.out.hrtimerExpireExit(c.cpu, this.clockNs(t), pid, timer);
    c.busyUntilNs = t + 1;
  }

  private isSleeping(task: number): boolean {
    const t = this.tasks[task];
    if (t.blockedNr < 0) return false;
    for (const c of this.cpus) {
      if (c.current === task || c.runqueue.includes(task)) return false;
      for (let i = 1; i < c.wakes.length; i += 2) {
        if (c.wakes[i] === task || c.wakes[i] === -task - 1) return false;
      }
    }
    return true;
  }

  private pickSleeper(): number {
    const start = this.rng.int(this.tasks.length);
    for (let k = 0; k < this.tasks.length; k++) {
      const i = (start + k) % this.tasks.length;
      if (this.tasks[i].pinned < 0 && this.isSleeping(i)) return i;
    }
    return -1;
  }

  /** Wake `task` from CPU `c` at `ts` (flags = common_flags of the waking context). */
  private wake(c: CpuState, ts: number, task: number, flags: number): void {
    const t = this.tasks[task];
    if (!this.isSleepingOrScheduled(task)) return;
    const target = t.pinned >= 0 ? t.pinned : this.chooseCpu(t);
    const pid = this.pidOf(c);
    this.out.wakeup('sched_waking', c.cpu, this.clockNs(ts), pid, flags, t, target);
    const t2 = ts + 600 + this.rng.int(1500);
    this.out.wakeup('sched_wakeup', c.cpu, this.clockNs(t2), pid, flags, t, target);
    c.busyUntilNs = Math.max(c.busyUntilNs, t2 + 1);
    t.wokenAtNs = ts;
    const tc = this.cpus[target];
    tc.runqueue.push(task);
    if (tc.current < 0) {
      tc.switchAtNs = Math.min(tc.switchAtNs, t2 + 3_000 + this.rng.exp(15_000));
    } else if (this.rng.next() < 0.6) {
      // Wakeup preemption a little later (the woken task has run less).
      tc.switchAtNs = Math.min(tc.switchAtNs, t2 + 10_000 + this.rng.exp(120_000));
    }
  }

  private isSleepingOrScheduled(task: number): boolean {
    const t = this.tasks[task];
    if (t.blockedNr < 0) return false;
    for (const c of this.cpus) if (c.current === task || c.runqueue.includes(task)) return false;
    return true;
  }

  private chooseCpu(t: TaskState): number {
    const idle = this.cpus.filter((c) => c.current < 0 && c.runqueue.length === 0);
    if (idle.some((c) => c.cpu === t.lastCpu) || idle.length === 0) return t.lastCpu;
    return idle[this.rng.int(idle.length)].cpu;
  }

  private sliceEnd(c: CpuState, ts: number): void {
    const task = this.tasks[c.current];
    if (this.rng.next() < 0.75 || c.runqueue.length === 0) {
      // Block in a syscall; something wakes it later.
      const nr = BLOCKING_SYSCALLS[this.rng.int(BLOCKING_SYSCALLS.length)];
      this.out.sysEnter(c.cpu, this.clockNs(ts), task.pid, nr, this.rng);
      task.blockedNr = nr;
      const state = nr === 0 && this.rng.next() < 0.2 ? D_BLOCKED : S_SLEEPING;
      const sleepNs =
        (200_000 + this.rng.exp(task.pinned >= 0 ? 30_000_000 : 12_000_000)) / this.scale();
      // Kernel threads and half of the user tasks have a timed wakeup (timer, futex partner on
      // some CPU); the rest wait for an interrupt to wake them (deviceIrq).
      if (nr === NR_NANOSLEEP) {
        // hrtimer_start here; it expires on this CPU and hrtimer_wakeup wakes the task.
        this.out.hrtimerStart(
          c.cpu,
          this.clockNs(ts + 400),
          task.pid,
          this.timerOf(c.current),
          this.clockNs(ts + sleepNs),
        );
        c.wakes.push(ts + sleepNs, -c.current - 1);
      } else if (task.pinned >= 0 || this.rng.next() < 0.5) {
        const waker = task.pinned >= 0 ? c : this.cpus[this.rng.int(this.cpus.length)];
        waker.wakes.push(ts + sleepNs, c.current);
      }
      this.switchNext(c, ts + 1500 + this.rng.int(2000), state);
    } else {
      this.switchNext(c, ts, 0); // preempted, stays runnable
    }
  }

  /** sched_switch from the current task (prev_state given) to the runqueue head or idle. */
  private switchNext(c: CpuState, ts: number, prevState: number): void {
    c.switchAtNs = Infinity;
    const prev = c.current;
    // Another CPU may have queued a wakeup whose timestamp is still ahead of this CPU's time
    // (it was inside that CPU's interrupt burst): such a task is not runnable yet here.
    const pick = c.runqueue.findIndex((i) => this.tasks[i].wokenAtNs <= ts);
    if (pick < 0 && c.runqueue.length) {
      const first = Math.min(...c.runqueue.map((i) => this.tasks[i].wokenAtNs));
      c.switchAtNs = first + 3_000;
    }
    if (prev >= 0 && prevState === 0) {
      if (pick < 0) {
        c.sliceEndNs = ts + this.rng.exp(this.sliceMeanNs());
        return;
      }
      c.runqueue.push(prev);
    }
    if (prev < 0 && pick < 0) return;
    const next = pick >= 0 ? c.runqueue.splice(pick, 1)[0] : -1;
    this.out.schedSwitch(
      c.cpu,
      this.clockNs(ts),
      this.task(prev, c.cpu),
      prevState,
      this.task(next, c.cpu),
    );
    c.current = next;
    let t = ts;
    if (next >= 0) {
      const task = this.tasks[next];
      task.lastCpu = c.cpu;
      if (task.wokenAtNs > 0 && task.blockedNr >= 0) this.wakeLatenciesNs.push(ts - task.wokenAtNs);
      if (task.blockedNr >= 0) {
        t += 800 + this.rng.int(2000);
        this.out.sysExit(
          c.cpu,
          this.clockNs(t),
          task.pid,
          task.blockedNr,
          task.blockedNr === 0 ? 64 : 0,
        );
        task.blockedNr = -1;
      }
      c.sliceEndNs = t + this.rng.exp(this.sliceMeanNs());
      c.nextSyscallNs = t + this.rng.exp(this.syscallMeanNs());
    } else {
      c.sliceEndNs = Infinity;
      c.nextSyscallNs = Infinity;
    }
    c.busyUntilNs = t + 1;
  }

  private task(i: number, cpu: number): SimTask {
    return i < 0 ? {pid: 0, comm: `swapper/${cpu}`, prio: 120, pinned: cpu} : this.tasks[i];
  }

  private syscall(c: CpuState, ts: number): void {
    const task = this.tasks[c.current];
    const nr = FAST_SYSCALLS[this.rng.int(FAST_SYSCALLS.length)];
    let t = ts;
    this.out.sysEnter(c.cpu, this.clockNs(t), task.pid, nr, this.rng);
    if (nr === 1 && task.pinned < 0 && this.rng.next() < 0.25) {
      // A write(2) to trace_marker: the print event lands inside the syscall.
      t += 700;
      this.out.print(
        c.cpu,
        this.clockNs(t),
        task.pid,
        `${task.comm}: frame ${task.markers++} done`,
      );
    }
    t += 500 + this.rng.int(12_000);
    this.out.sysExit(
      c.cpu,
      this.clockNs(t),
      task.pid,
      nr,
      nr === 9 ? 0x7f3a_1c00_0000 : this.rng.int(4096),
    );
    c.busyUntilNs = t + 1;
    c.nextSyscallNs = t + this.rng.exp(this.syscallMeanNs());
  }
}
