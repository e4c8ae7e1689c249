/**
 * One line of `trace-cmd report` (3.1.6, default options), shared by `ringside report` and the
 * live `ringside tail` client. trace_show_data builds it from libtraceevent pieces:
 *
 *   "%16s-%-5d [%03d]"   comm-pid [cpu]          comm: saved cmdline, "<idle>" for pid 0, "<...>"
 *   " %6.1000d:"          secs.usecs             (ts+500)/1000 split as "%5llu.%06llu"
 *                         or "%12d:"             raw ts for clocks that are not in ns (no space)
 *   " %s: " + pad to 20   event name
 *   info                  the event text, one trailing '\n' removed
 *
 *        trace-cmd-9053  [001]   992.380651: sched_stat_runtime:   comm=trace-cmd pid=9053 …
 *
 * A record that follows lost events first prints "CPU:%d [%lld EVENTS DROPPED]" (or
 * "CPU:%d [EVENTS DROPPED]" when the count is unknown) and a newline.
 */
import type {EventFormat} from '../format/event-format.ts';
import type {EventRegistry} from '../format/event-registry.ts';

/** What the formatter needs from core/print's EventRenderer (or the plugin layer over it). */
export interface InfoRenderer {
  render(format: EventFormat, bytes: Uint8Array, payloadOffset: number, payloadLen: number): string;
  /** True when render() already drops a trailing newline (then the formatter need not look). */
  readonly trimsNewline?: boolean;
  /** Comm of a pid including comms learned while rendering (libtraceevent plugins). */
  comm?(pid: number): string | undefined;
  /** True when a comm that comm() returned for a pid stays the same while the registry's
   *  generation does (comms are only ever added): the formatter may then keep it. */
  readonly commsStable?: boolean;
}

export interface ReportOptions {
  /** Print timestamps as secs.usecs (ns clocks; the default) or as raw `%12llu` values. */
  usecs?: boolean;
  /** Added to every timestamp (trace.dat DATE/OFFSET options), in ns. */
  tsOffsetNs?: bigint;
  /** x86-tsc → ns conversion (TSC2NSEC option): ns = (ts * mult) >> shift. */
  tsc2nsec?: {mult: number; shift: number};
}

const SPACES = ' '.repeat(32);
const UNKNOWN = '[UNKNOWN EVENT]';

const COMM_CACHE_MAX = 1 << 16;
/** The comm column of a pid without a known comm. */
const UNKNOWN_COMM = '<...>';

interface CommEntry {
  comm: string;
  heads: string[];
  generation: number;
  sure: boolean;
}
const CPU_TEXT = [
  '[000]',
  '[001]',
  '[002]',
  '[003]',
  '[004]',
  '[005]',
  '[006]',
  '[007]',
  '[008]',
  '[009]',
];

/** "000".."999": microseconds are printed as two of these (no number → string per line). */
const DIGITS3 = Array.from({length: 1000}, (_, i) => String(i).padStart(3, '0'));

/** Six-digit, zero-padded microseconds (0..999999). */
function usText(us: number): string {
  const high = (us / 1000) | 0;
  return DIGITS3[high] + DIGITS3[us - high * 1000];
}

/**
 * A cached piece of every line as one flat string: joined strings are kept as trees (ropes)
 * that every line using them would walk again when its text is encoded.
 */
function flatten(s: string): string {
  return s.length < 2 ? s : s.split('').join('');
}

function padStart(s: string, width: number): string {
  return s.length >= width ? s : SPACES.slice(0, width - s.length) + s;
}
function padEnd(s: string, width: number): string {
  return s.length >= width ? s : s + SPACES.slice(0, width - s.length);
}

export class ReportFormatter {
  /** Text put before every line (trace-cmd's "instance: " column for multi-buffer files). */
  prefix = '';
  private readonly usecs: boolean;
  private readonly offset: bigint;
  private readonly tsc?: {mult: bigint; shift: bigint};
  private readonly le: boolean;
  private lastSecs = -1;
  private lastSecsText = '';
  /** Per pid: its comm and the line heads made from it ("comm-pid [cpu] " by CPU); `sure`
   *  when the comm cannot change before the registry's generation does. */
  private readonly commCache = new Map<number, CommEntry>();
  /** Whether comms, once found, stay (see InfoRenderer.commsStable). */
  private readonly commsStable: boolean;
  /** The last line head, when it was sure: runs of one task's records skip the lookups. */
  private lastPid = -1;
  private lastCpu = -1;
  private lastGeneration = -1;
  private lastHead = '';
  /** ": name: " padded, by event id (with the format it was made for): one array read a line. */
  private readonly nameFormats = new Array<EventFormat | undefined>(0x10000).fill(undefined);
  private readonly nameTexts = new Array<string>(0x10000).fill('');

  constructor(
    private readonly registry: EventRegistry,
    private readonly renderer: InfoRenderer,
    options: ReportOptions = {},
  ) {
    this.usecs = options.usecs ?? true;
    this.offset = options.tsOffsetNs ?? 0n;
    if (options.tsc2nsec && options.tsc2nsec.mult) {
      this.tsc = {mult: BigInt(options.tsc2nsec.mult), shift: BigInt(options.tsc2nsec.shift)};
    }
    this.le = registry.littleEndian;
    this.commsStable = renderer.comm === undefined || renderer.commsStable === true;
  }

  /** "CPU:N [N EVENTS DROPPED]", or "CPU:N [EVENTS DROPPED]" for an unknown (-1) count. */
  formatLost(cpu: number, count: number): string {
    return count < 0
      ? `${this.prefix}CPU:${cpu} [EVENTS DROPPED]`
      : `${this.prefix}CPU:${cpu} [${count} EVENTS DROPPED]`;
  }

  /** Timestamp column text (without the leading space and trailing colon). */
  formatTime(tsNs: number): string {
    if (this.tsc === undefined && this.offset === 0n) {
      if (!this.usecs) return padStart(String(tsNs), 12);
      const us = Math.floor((tsNs + 500) / 1000);
      const secs = Math.floor(us / 1e6);
      const fracUs = us - secs * 1e6;
      // Seconds change rarely between lines: keep their padded text.
      if (secs !== this.lastSecs) {
        this.lastSecs = secs;
        this.lastSecsText = `${padStart(String(secs), 5)}.`;
      }
      return this.lastSecsText + usText(fracUs);
    }
    let t = BigInt(tsNs);
    if (this.tsc) t = (t * this.tsc.mult) >> this.tsc.shift;
    t = BigInt.asUintN(64, t + this.offset);
    if (!this.usecs) return padStart(t.toString(), 12);
    const us = (t + 500n) / 1000n;
    return `${padStart((us / 1000000n).toString(), 5)}.${(us % 1000000n).toString().padStart(6, '0')}`;
  }

  private comm(pid: number): string {
    if (pid === 0) return '<idle>';
    return (this.renderer.comm ? this.renderer.comm(pid) : this.registry.comm(pid)) ?? UNKNOWN_COMM;
  }

  /**
   * "%16s-%-5d [%03d]" of comm, pid and CPU and the blank before the time, cached per pid (by
   * CPU) while the comm stays the same: one flat string instead of four joined per line, which
   * makes the line's text cheaper to build and to encode.
   */
  private lineHead(pid: number, cpu: number): string {
    const generation = this.registry.generation;
    if (pid === this.lastPid && cpu === this.lastCpu && generation === this.lastGeneration) {
      return this.lastHead;
    }
    let hit = this.commCache.get(pid);
    if (hit === undefined || !hit.sure || hit.generation !== generation) {
      const comm = this.comm(pid);
      if (hit === undefined || hit.comm !== comm || hit.generation !== generation) {
        if (this.commCache.size >= COMM_CACHE_MAX) this.commCache.clear();
        const sure = this.commsStable && (pid === 0 || comm !== UNKNOWN_COMM);
        hit = {comm, heads: [], generation, sure};
        this.commCache.set(pid, hit);
      }
    }
    let head = cpu < 1024 ? hit.heads[cpu] : undefined;
    if (head === undefined) {
      const cpuText = cpu < 10 ? CPU_TEXT[cpu] : cpu < 100 ? `[0${cpu}]` : `[${cpu}]`;
      head = `${padStart(hit.comm, 16)}-${padEnd(String(pid), 5)} ${cpuText}${this.usecs ? ' ' : ''}`;
      head = flatten(head);
      if (cpu < 1024) hit.heads[cpu] = head;
    }
    if (hit.sure) {
      this.lastPid = pid;
      this.lastCpu = cpu;
      this.lastGeneration = generation;
      this.lastHead = head;
    } else this.lastPid = -1;
    return head;
  }

  /**
   * The report line of one record. `lost` (events lost before it on this CPU: 0 none, -1
   * unknown, N) adds trace-cmd's "EVENTS DROPPED" line in front, as part of the same text.
   */
  formatEvent(
    cpu: number,
    tsNs: number,
    bytes: Uint8Array,
    payloadOffset: number,
    payloadLen: number,
    lost = 0,
  ): string {
    let head = this.prefix;
    if (lost !== 0) head += `${this.formatLost(cpu, lost).slice(this.prefix.length)}\n`;
    const format = payloadLen >= 2 ? this.registry.byId(this.u16(bytes, payloadOffset)) : undefined;
    if (!format) return `${head}${UNKNOWN}${UNKNOWN} (NULL): ${SPACES.slice(0, 14)}${UNKNOWN}`;
    const pid = payloadLen >= 8 ? this.i32(bytes, payloadOffset + 4) : 0;
    // The comm column is printed before the info, which may teach new comms (sched plugin).
    const lineHead = this.lineHead(pid, cpu);
    let info = this.renderer.render(format, bytes, payloadOffset, payloadLen);
    if (this.renderer.trimsNewline !== true && info.endsWith('\n')) info = info.slice(0, -1);
    const slot = format.id & 0xffff;
    let nameText = this.nameTexts[slot];
    if (this.nameFormats[slot] !== format) {
      const name = format.name;
      nameText = flatten(`: ${name}: ${name.length < 20 ? SPACES.slice(0, 20 - name.length) : ''}`);
      this.nameFormats[slot] = format;
      this.nameTexts[slot] = nameText;
    }
    return head === ''
      ? lineHead + this.formatTime(tsNs) + nameText + info
      : head + lineHead + this.formatTime(tsNs) + nameText + info;
  }

  private u16(b: Uint8Array, at: number): number {
    return this.le ? b[at] | (b[at + 1] << 8) : (b[at] << 8) | b[at + 1];
  }
  private i32(b: Uint8Array, at: number): number {
    return this.le
      ? b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)
      : (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
  }
}
