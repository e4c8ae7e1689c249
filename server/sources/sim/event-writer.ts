/**
 * Writes trace events straight into a ring-buffer model's reserved space, laid out from the
 * bundled format files' field offsets (no intermediate objects per event). One method per event
 * the sim workload emits; each returns false when the buffer dropped the event.
 */
import type {EventLayout} from './format-offsets.ts';
import {fieldOffset} from './format-offsets.ts';
import type {CpuRingBuffer} from './ring-buffer-model.ts';
import type {Rng} from '../../../core/seeded-random.ts';

/** common_flags bits (include/linux/trace_events.h). */
export const FLAG_IRQS_OFF = 0x01;
export const FLAG_HARDIRQ = 0x08;
export const FLAG_SOFTIRQ = 0x10;

const TEXT = new TextEncoder();
/**
 * Largest payload a trace_marker / trace_marker_raw write produces on 6.18, whatever the
 * sub-buffer size (measured with 4 and 8 KiB): text is cut to 4054 bytes + "\n\0", raw writes
 * above 4064 bytes fail with EINVAL.
 */
export const MARKER_MAX_PAYLOAD = 4072;
// Kernel addresses are above 2^53: written as (high, low) u32 halves.
const KTEXT_HI = 0xffffffff;
export const TICK_FN = 0x8122d4b0; // tick_nohz_handler
export const HRTIMER_WAKEUP_FN = 0x8122a1c0; // hrtimer_wakeup
const TIMER_FN = 0x8119c6e0; // process_timeout
const MARK_IP = 0x812a1f30; // tracing_mark_write
const HRTIMER_HI = 0xffff8880; // per-CPU hrtimer_cpu_base (direct map)
const TIMER_HI = 0xffffc900; // a timer_list on a vmalloc'ed stack

interface Layout {
  id: number;
  size: number;
  off: Record<string, number>;
}

function layoutOf(layouts: Map<string, EventLayout>, key: string, fields: string[]): Layout {
  const l = layouts.get(key);
  if (!l) throw new Error(`bundled format ${key} is missing`);
  const off: Record<string, number> = {};
  for (const f of fields) off[f] = fieldOffset(l, f);
  return {id: l.id, size: l.fixedSize, off};
}

function setAddr(v: DataView, at: number, hi: number, lo: number): void {
  v.setUint32(at, lo >>> 0, true);
  v.setUint32(at + 4, hi >>> 0, true);
}

function setU64(v: DataView, at: number, x: number): void {
  v.setUint32(at, x % 2 ** 32, true);
  v.setUint32(at + 4, Math.floor(x / 2 ** 32), true);
}

export class EventWriter {
  readonly emitted: number[];
  /** Event ids enabled (set_event); undefined = all. ftrace print/raw_data always pass. */
  enabled: Set<number> | undefined;
  private readonly L: Record<string, Layout>;
  private v: DataView = new DataView(new ArrayBuffer(0));
  private page: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly buffers: CpuRingBuffer[],
    layouts: Map<string, EventLayout>,
  ) {
    this.emitted = buffers.map(() => 0);
    const wake = ['comm', 'pid', 'prio', 'target_cpu'];
    this.L = {
      sched_switch: layoutOf(layouts, 'sched/sched_switch', [
        'prev_comm',
        'prev_pid',
        'prev_prio',
        'prev_state',
        'next_comm',
        'next_pid',
        'next_prio',
      ]),
      sched_waking: layoutOf(layouts, 'sched/sched_waking', wake),
      sched_wakeup: layoutOf(layouts, 'sched/sched_wakeup', wake),
      irq_handler_entry: layoutOf(layouts, 'irq/irq_handler_entry', ['irq', 'name']),
      irq_handler_exit: layoutOf(layouts, 'irq/irq_handler_exit', ['irq', 'ret']),
      softirq_entry: layoutOf(layouts, 'irq/softirq_entry', ['vec']),
      softirq_exit: layoutOf(layouts, 'irq/softirq_exit', ['vec']),
      softirq_raise: layoutOf(layouts, 'irq/softirq_raise', ['vec']),
      hrtimer_start: layoutOf(layouts, 'timer/hrtimer_start', [
        'hrtimer',
        'function',
        'expires',
        'softexpires',
        'mode',
        'was_armed',
      ]),
      hrtimer_expire_entry: layoutOf(layouts, 'timer/hrtimer_expire_entry', [
        'hrtimer',
        'now',
        'function',
      ]),
      hrtimer_expire_exit: layoutOf(layouts, 'timer/hrtimer_expire_exit', ['hrtimer']),
      timer_expire_entry: layoutOf(layouts, 'timer/timer_expire_entry', [
        'timer',
        'now',
        'function',
        'baseclk',
      ]),
      timer_expire_exit: layoutOf(layouts, 'timer/timer_expire_exit', ['timer']),
      sys_enter: layoutOf(layouts, 'raw_syscalls/sys_enter', ['id', 'args']),
      sys_exit: layoutOf(layouts, 'raw_syscalls/sys_exit', ['id', 'ret']),
      print: layoutOf(layouts, 'ftrace/print', ['ip', 'buf']),
      raw_data: layoutOf(layouts, 'ftrace/raw_data', ['id', 'buf']),
    };
  }

  /** Reserve `len` bytes for event `l` and write the common fields; -1 when dropped. */
  private begin(
    cpu: number,
    tsNs: number,
    l: Layout,
    len: number,
    pid: number,
    flags: number,
  ): number {
    if (this.enabled && !this.enabled.has(l.id)) return -1;
    this.emitted[cpu]++;
    const rb = this.buffers[cpu];
    const at = rb.reserve(tsNs, len);
    if (at < 0) return -1;
    this.v = rb.reservedView;
    this.page = rb.reservedPage;
    this.v.setUint16(at, l.id, true);
    this.v.setUint8(at + 2, flags);
    this.v.setUint8(at + 3, 0);
    this.v.setInt32(at + 4, pid, true);
    return at;
  }

  private end(cpu: number): boolean {
    this.buffers[cpu].commitReserved();
    return true;
  }

  private comm(at: number, text: string): void {
    // Task comms are ASCII: write them byte by byte, NUL-padded to 16 (no allocation).
    const n = Math.min(15, text.length);
    for (let i = 0; i < 16; i++) this.page[at + i] = i < n ? text.charCodeAt(i) & 0xff : 0;
  }

  schedSwitch(
    cpu: number,
    tsNs: number,
    prev: {pid: number; comm: string; prio: number},
    prevState: number,
    next: {pid: number; comm: string; prio: number},
  ): boolean {
    const l = this.L.sched_switch;
    const at = this.begin(cpu, tsNs, l, l.size, prev.pid, FLAG_IRQS_OFF);
    if (at < 0) return false;
    const o = l.off;
    this.comm(at + o.prev_comm, prev.comm);
    this.v.setInt32(at + o.prev_pid, prev.pid, true);
    this.v.setInt32(at + o.prev_prio, prev.prio, true);
    setU64(this.v, at + o.prev_state, prevState);
    this.comm(at + o.next_comm, next.comm);
    this.v.setInt32(at + o.next_pid, next.pid, true);
    this.v.setInt32(at + o.next_prio, next.prio, true);
    return this.end(cpu);
  }

  wakeup(
    kind: 'sched_waking' | 'sched_wakeup',
    cpu: number,
    tsNs: number,
    pid: number,
    flags: number,
    task: {pid: number; comm: string; prio: number},
    targetCpu: number,
  ): boolean {
    const l = this.L[kind];
    const at = this.begin(cpu, tsNs, l, l.size, pid, flags);
    if (at < 0) return false;
    this.comm(at + l.off.comm, task.comm);
    this.v.setInt32(at + l.off.pid, task.pid, true);
    this.v.setInt32(at + l.off.prio, task.prio, true);
    this.v.setInt32(at + l.off.target_cpu, targetCpu, true);
    return this.end(cpu);
  }

  irqEntry(cpu: number, tsNs: number, pid: number, irq: number, name: string): boolean {
    const l = this.L.irq_handler_entry;
    const bytes = TEXT.encode(name); // short, and only a few hundred per second
    const len = l.size + bytes.length + 1;
    const at = this.begin(cpu, tsNs, l, len, pid, FLAG_HARDIRQ | FLAG_IRQS_OFF);
    if (at < 0) return false;
    this.v.setInt32(at + l.off.irq, irq, true);
    // __data_loc: (length << 16) | offset from the record start, string with its NUL.
    this.v.setUint32(at + l.off.name, ((bytes.length + 1) << 16) | l.size, true);
    this.page.set(bytes, at + l.size);
    this.page[at + l.size + bytes.length] = 0;
    return this.end(cpu);
  }

  irqExit(cpu: number, tsNs: number, pid: number, irq: number, ret: number): boolean {
    const l = this.L.irq_handler_exit;
    const at = this.begin(cpu, tsNs, l, l.size, pid, FLAG_HARDIRQ | FLAG_IRQS_OFF);
    if (at < 0) return false;
    this.v.setInt32(at + l.off.irq, irq, true);
    this.v.setInt32(at + l.off.ret, ret, true);
    return this.end(cpu);
  }

  softirq(
    kind: 'softirq_entry' | 'softirq_exit' | 'softirq_raise',
    cpu: number,
    tsNs: number,
    pid: number,
    vec: number,
  ): boolean {
    const l = this.L[kind];
    const flags = kind === 'softirq_raise' ? FLAG_HARDIRQ | FLAG_IRQS_OFF : FLAG_SOFTIRQ;
    const at = this.begin(cpu, tsNs, l, l.size, pid, flags);
    if (at < 0) return false;
    this.v.setUint32(at + l.off.vec, vec, true);
    return this.end(cpu);
  }

  hrtimerExpireEntry(
    cpu: number,
    tsNs: number,
    pid: number,
    timerLo: number,
    nowNs: number,
    fnLo: number,
  ): boolean {
    const l = this.L.hrtimer_expire_entry;
    const at = this.begin(cpu, tsNs, l, l.size, pid, FLAG_HARDIRQ | FLAG_IRQS_OFF);
    if (at < 0) return false;
    setAddr(this.v, at + l.off.hrtimer, HRTIMER_HI, timerLo);
    setU64(this.v, at + l.off.now, nowNs);
    setAddr(this.v, at + l.off.function, KTEXT_HI, fnLo);
    return this.end(cpu);
  }

  /** hrtimer_start of a relative-mode timer (nanosleep) expiring at `expiresNs`. */
  hrtimerStart(
    cpu: number,
    tsNs: number,
    pid: number,
    timerLo: number,
    expiresNs: number,
  ): boolean {
    const l = this.L.hrtimer_start;
    const at = this.begin(cpu, tsNs, l, l.size, pid, FLAG_IRQS_OFF);
    if (at < 0) return false;
    setAddr(this.v, at + l.off.hrtimer, HRTIMER_HI, timerLo);
    setAddr(this.v, at + l.off.function, KTEXT_HI, HRTIMER_WAKEUP_FN);
    setU64(this.v, at + l.off.expires, expiresNs);
    setU64(this.v, at + l.off.softexpires, expiresNs);
    this.v.setUint32(at + l.off.mode, 1, true); // HRTIMER_MODE_REL
    this.v.setUint8(at + l.off.was_armed, 0);
    // the struct's tail padding (45..47) is stale memory in the kernel; keep it deterministic
    this.page.fill(0, at + l.off.was_armed + 1, at + l.size);
    return this.end(cpu);
  }

  hrtimerExpireExit(cpu: number, tsNs: number, pid: number, timerLo: number): boolean {
    const l = this.L.hrtimer_expire_exit;
    const at = this.begin(cpu, tsNs, l, l.size, pid, FLAG_HARDIRQ | FLAG_IRQS_OFF);
    if (at < 0) return false;
    setAddr(this.v, at + l.off.hrtimer, HRTIMER_HI, timerLo);
    return this.end(cpu);
  }

  timerExpireEntry(
    cpu: number,
    tsNs: number,
    pid: number,
    timerLo: number,
    jiffies: number,
  ): boolean {
    const l = this.L.timer_expire_entry;
    const at = this.begin(cpu, tsNs, l, l.size, pid, FLAG_SOFTIRQ);
    if (at < 0) return false;
    setAddr(this.v, at + l.off.timer, TIMER_HI, timerLo);
    setU64(this.v, at + l.off.now, jiffies);
    setAddr(this.v, at + l.off.function, KTEXT_HI, TIMER_FN);
    setU64(this.v, at + l.off.baseclk, jiffies);
    return this.end(cpu);
  }

  timerExpireExit(cpu: number, tsNs: number, pid: number, timerLo: number): boolean {
    const l = this.L.timer_expire_exit;
    const at = this.begin(cpu, tsNs, l, l.size, pid, FLAG_SOFTIRQ);
    if (at < 0) return false;
    setAddr(this.v, at + l.off.timer, TIMER_HI, timerLo);
    return this.end(cpu);
  }

  sysEnter(cpu: number, tsNs: number, pid: number, nr: number, rng: Rng): boolean {
    const l = this.L.sys_enter;
    const at = this.begin(cpu, tsNs, l, l.size, pid, 0);
    if (at < 0) return false;
    setU64(this.v, at + l.off.id, nr);
    const args = at + l.off.args;
    setU64(this.v, args, rng.int(64));
    setU64(this.v, args + 8, 0x7ffd_3a00_0000 + rng.int(0x100000) * 16);
    setU64(this.v, args + 16, rng.int(65536));
    for (let i = 3; i < 6; i++) setU64(this.v, args + 8 * i, 0);
    return this.end(cpu);
  }

  sysExit(cpu: number, tsNs: number, pid: number, nr: number, ret: number): boolean {
    const l = this.L.sys_exit;
    const at = this.begin(cpu, tsNs, l, l.size, pid, 0);
    if (at < 0) return false;
    setU64(this.v, at + l.off.id, nr);
    setU64(this.v, at + l.off.ret, ret);
    return this.end(cpu);
  }

  /** ftrace print as trace_marker writes it: text, "\n" unless it ends with one, then NUL. */
  print(cpu: number, tsNs: number, pid: number, text: string): boolean {
    const l = this.L.print;
    // trace_marker cuts the text to the largest marker event (leaving room for "\n\0"); the
    // write then returns short.
    const bytes = TEXT.encode(text);
    const max = Math.min(MARKER_MAX_PAYLOAD, this.buffers[cpu].dataSize - 8);
    const n = Math.min(bytes.length, max - l.off.buf - 2);
    const at = this.begin(cpu, tsNs, l, l.off.buf + n + 2, pid, 0);
    if (at < 0) return false;
    setAddr(this.v, at + l.off.ip, KTEXT_HI, MARK_IP);
    const buf = at + l.off.buf;
    this.page.set(n === bytes.length ? bytes : bytes.subarray(0, n), buf);
    if (n > 0 && bytes[n - 1] === 10) {
      this.page[buf + n] = 0;
    } else {
      this.page[buf + n] = 10;
      this.page[buf + n + 1] = 0;
    }
    return this.end(cpu);
  }

  /** ftrace raw_data as trace_marker_raw writes it: the bytes (u32 id first) after the header. */
  raw(cpu: number, tsNs: number, pid: number, bytes: Uint8Array): boolean {
    const l = this.L.raw_data;
    if (bytes.length < 4) throw new RangeError('a raw marker needs at least the 4-byte id');
    // All or nothing: too big is EINVAL in the kernel.
    if (l.off.id + bytes.length > Math.min(MARKER_MAX_PAYLOAD, this.buffers[cpu].dataSize - 8)) {
      return false;
    }
    const at = this.begin(cpu, tsNs, l, l.off.id + bytes.length, pid, 0);
    if (at < 0) return false;
    this.page.set(bytes, at + l.off.id);
    return this.end(cpu);
  }
}
