/**
 * trace.dat option records (kernel-abi.md §6.4; trace-cmd.dat.v7(5)): `{u16 id, u32 size, data}`.
 * v6 ends a list with id 0 and no size; v7 ends each options section with DONE (id 0, size 8,
 * u64 offset of the next options section). Unknown ids are kept as numbers and skipped, as
 * trace-cmd does ("unknown option").
 */
import {cstringAt} from './byte-source.ts';
import {utf8} from '../format/text.ts';

export const OPT = {
  DONE: 0,
  DATE: 1,
  CPUSTAT: 2,
  BUFFER: 3,
  TRACECLOCK: 4,
  UNAME: 5,
  HOOK: 6,
  OFFSET: 7,
  CPUCOUNT: 8,
  VERSION: 9,
  PROCMAPS: 10,
  TRACEID: 11,
  TIME_SHIFT: 12,
  GUEST: 13,
  TSC2NSEC: 14,
  STRINGS: 15,
  HEADER_INFO: 16,
  FTRACE_EVENTS: 17,
  EVENT_FORMATS: 18,
  KALLSYMS: 19,
  PRINTK: 20,
  CMDLINES: 21,
  BUFFER_TEXT: 22,
  BTF_FILE: 23,
  LAST_BOOT_INFO: 24,
  MODULES_FILE: 25,
} as const;

export const SECTION_NAMES: Record<number, string> = {
  0: 'options',
  3: 'flyrecord buffer',
  15: 'strings',
  16: 'header info',
  17: 'ftrace formats',
  18: 'event formats',
  19: 'kallsyms',
  20: 'printk',
  21: 'cmdlines',
  22: 'buffer text',
  23: 'BTF',
  25: 'modules',
};

export interface CpuDataRef {
  cpu: number;
  /** Absolute file offset of the CPU's data (v7 compressed: of its chunk table). */
  offset: number;
  /** Bytes in the file (v7 compressed: size of the chunk table and chunks). */
  size: number;
}

export interface BufferInfo {
  /** Instance name; '' for the top-level buffer. */
  name: string;
  /** v7: the buffer's trace clock; v6: '' (the file clock applies). */
  clock: string;
  /** Sub-buffer ("page") size of this buffer. */
  pageSize: number;
  /** v6: file offset of the buffer's flyrecord block; v7: of its BUFFER section. */
  offset: number;
  cpus: CpuDataRef[];
  /** v7: CPU data is compressed in chunks (section flag bit 0). */
  compressed: boolean;
  /** A latency (text) buffer: not supported for reading events. */
  latency: boolean;
}

/** Everything the options carry, beyond the section offsets. */
export interface TraceDatOptions {
  date?: string;
  offset?: string;
  /** Text of the TRACECLOCK option (the trace_clock file). */
  traceClock?: string;
  uname?: string;
  version?: string;
  /** CPUSTAT texts in file order, each ending in '\n' where its NUL was. */
  cpustats: string[];
  cpuCount?: number;
  traceId?: bigint;
  tsc2nsec?: {mult: number; shift: number; offset: bigint};
  timeShift?: Uint8Array;
  guests: Uint8Array[];
  hooks: string[];
  procmaps?: string;
  lastBootInfo?: string;
  strings: string[];
  /** Section offsets from options 16..21, 23, 25 (v7). */
  sections: Map<number, number>;
  /** Option ids this reader does not know, in file order. */
  unknown: number[];
}

export function emptyOptions(): TraceDatOptions {
  return {cpustats: [], guests: [], hooks: [], strings: [], sections: new Map(), unknown: []};
}

/** An ASCII option payload: up to its first NUL (trace-cmd treats them as C strings). */
export function optionText(data: Uint8Array): string {
  const nul = data.indexOf(0);
  return utf8(nul < 0 ? data : data.subarray(0, nul));
}

function num(data: Uint8Array, at: number, size: 4 | 8, le: boolean): number | undefined {
  if (at + size > data.length) return undefined;
  const v = new DataView(data.buffer, data.byteOffset + at, size);
  if (size === 4) return v.getUint32(0, le);
  const lo = v.getUint32(le ? 0 : 4, le);
  const hi = v.getUint32(le ? 4 : 0, le);
  return hi * 2 ** 32 + lo;
}

/**
 * Parse a BUFFER (3) or BUFFER_TEXT (22) option. v6 has only `u64 offset, name`; v7 adds the
 * clock and, for BUFFER, the page size and per-CPU table. Returns undefined where trace-cmd
 * would fail (truncated data).
 */
export function parseBufferOption(
  id: number,
  data: Uint8Array,
  le: boolean,
  sectioned: boolean,
  defaultPageSize: number,
): BufferInfo | undefined {
  const offset = num(data, 0, 8, le);
  const name = cstringAt(data, 8);
  if (offset === undefined || !name) return undefined;
  const info: BufferInfo = {
    name: name[0],
    clock: '',
    pageSize: defaultPageSize,
    offset,
    cpus: [],
    compressed: false,
    latency: id === OPT.BUFFER_TEXT,
  };
  if (!sectioned) return info;
  const clock = cstringAt(data, name[1]);
  if (!clock) return undefined;
  info.clock = clock[0];
  if (id !== OPT.BUFFER) return info;
  let at = clock[1];
  const pageSize = num(data, at, 4, le);
  const count = num(data, at + 4, 4, le);
  if (pageSize === undefined || count === undefined) return undefined;
  info.pageSize = pageSize;
  at += 8;
  if (count * 20 > data.length - at) return undefined;
  const seen = new Set<number>();
  for (let i = 0; i < count; i++) {
    const cpu = num(data, at, 4, le)!;
    const off = num(data, at + 4, 8, le)!;
    const size = num(data, at + 12, 8, le)!;
    at += 20;
    if (seen.has(cpu)) return undefined; // "More than one buffer defined for CPU"
    seen.add(cpu);
    info.cpus.push({cpu, offset: off, size});
  }
  info.cpus.sort((a, b) => a.cpu - b.cpu);
  return info;
}

/** Apply one option (other than DONE and BUFFER*) to `opts`. */
export function applyOption(
  opts: TraceDatOptions,
  id: number,
  data: Uint8Array,
  le: boolean,
): void {
  switch (id) {
    case OPT.DATE:
      opts.date = optionText(data);
      break;
    case OPT.OFFSET:
      opts.offset = optionText(data);
      break;
    case OPT.CPUSTAT:
      // trace-cmd replaces the last byte (the NUL) with '\n' and concatenates the options.
      if (data.length > 0) opts.cpustats.push(utf8(data.subarray(0, data.length - 1)) + '\n');
      break;
    case OPT.TRACECLOCK:
      opts.traceClock = optionText(data);
      break;
    case OPT.UNAME:
      opts.uname = optionText(data);
      break;
    case OPT.VERSION:
      opts.version = optionText(data);
      break;
    case OPT.HOOK:
      opts.hooks.push(optionText(data));
      break;
    case OPT.CPUCOUNT: {
      const n = num(data, 0, 4, le);
      if (n !== undefined) opts.cpuCount = n;
      break;
    }
    case OPT.PROCMAPS:
      opts.procmaps = optionText(data);
      break;
    case OPT.TRACEID:
      if (data.length >= 8) {
        const v = new DataView(data.buffer, data.byteOffset, 8);
        opts.traceId = v.getBigUint64(0, le);
      }
      break;
    case OPT.TIME_SHIFT:
      opts.timeShift = data.slice();
      break;
    case OPT.GUEST:
      opts.guests.push(data.slice());
      break;
    case OPT.TSC2NSEC:
      if (data.length >= 16) {
        const v = new DataView(data.buffer, data.byteOffset, 16);
        opts.tsc2nsec = {
          mult: v.getUint32(0, le),
          shift: v.getUint32(4, le),
          offset: v.getBigUint64(8, le),
        };
      }
      break;
    case OPT.STRINGS: {
      let at = 0;
      while (at < data.length) {
        const s = cstringAt(data, at);
        if (!s) break;
        opts.strings.push(s[0]);
        at = s[1];
      }
      break;
    }
    case OPT.HEADER_INFO:
    case OPT.FTRACE_EVENTS:
    case OPT.EVENT_FORMATS:
    case OPT.KALLSYMS:
    case OPT.PRINTK:
    case OPT.CMDLINES:
    case OPT.BTF_FILE:
    case OPT.MODULES_FILE: {
      const off = num(data, 0, 8, le);
      if (off !== undefined) opts.sections.set(id, off);
      break;
    }
    case OPT.LAST_BOOT_INFO: {
      const text = optionText(data);
      const colon = text.indexOf(':');
      if (colon >= 0) opts.lastBootInfo = text.slice(colon + 1);
      break;
    }
    default:
      opts.unknown.push(id);
  }
}
