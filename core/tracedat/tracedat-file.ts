/**
 * trace.dat metadata reader for file versions 6 and 7 (kernel-abi.md §6, trace-cmd.dat.v6/v7(5),
 * behaviour checked against trace-cmd 3.1.6 lib/trace-cmd/trace-input.c).
 *
 *   v6: preamble │ header_page/event │ ftrace fmts │ event fmts │ kallsyms │ printk │ cmdlines │
 *       u32 cpus │ "options  " {id,size,data}… 0 │ "flyrecord" {u64 off,u64 size}×cpus │ [clock]
 *   v7: preamble │ "zstd\0ver\0" │ u64 → options section ─DONE→ options section … ; every other
 *       section (header info, formats, kallsyms, printk, cmdlines, BUFFER data) is found through
 *       an option that holds its offset, so sections may sit in any order.
 *
 * Only metadata is read here (sections are loaded whole, decompressed when flagged); CPU data
 * stays in the file and is streamed page by page by `cpu-pages.ts`. Every structural problem is
 * a DecodeError that names the section and file offset.
 */
import {DecodeError} from '../errors.ts';
import {pageLayoutFromHeaderPage, type PageLayout} from '../page-layout.ts';
import {utf8} from '../format/text.ts';
import {BytesSource, Cursor, type ByteSource} from './byte-source.ts';
import {codecFor, type Codec} from './compression.ts';
import {
  OPT,
  SECTION_NAMES,
  applyOption,
  emptyOptions,
  parseBufferOption,
  type BufferInfo,
  type TraceDatOptions,
} from './options.ts';

const MAGIC = [0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67]; // 17 08 44 "tracing"
/** Clocks whose timestamps trace-cmd prints as seconds.microseconds (extract_trace_clock). */
const USEC_CLOCKS = new Set(['local', 'global', 'uptime', 'perf', 'x86-tsc-nsec', 'tai']);
/** Largest metadata section we load into memory (kallsyms of a big kernel is ~10 MB). */
const MAX_SECTION = 256 << 20;

export interface EventFormatEntry {
  system: string;
  text: string;
}

export interface TraceDat {
  src: ByteSource;
  version: 6 | 7;
  littleEndian: boolean;
  /** User-space long size from the preamble. */
  userLongSize: number;
  /** Kernel long size (header_page commit size): what the records use. */
  longSize: 4 | 8;
  /** Page (sub-buffer) size from the preamble. */
  pageSize: number;
  layout: PageLayout;
  compression: {name: string; version: string};
  codec: Codec;
  headerPage: string;
  headerEvent: string;
  ftraceFormats: string[];
  eventFormats: EventFormatEntry[];
  kallsyms: string;
  printk: string;
  cmdlines: string;
  /** What trace-cmd prints as `cpus=N` (CPUCOUNT, or the v6 CPU count). */
  cpus: number;
  /** buffers[0] is the top-level buffer; instances follow in option order. */
  buffers: BufferInfo[];
  options: TraceDatOptions;
  /** The file's trace clock as trace-cmd resolves it ('' if never named). */
  clock: string;
  /** Timestamps print as `secs.usecs` (else as raw `%12llu` numbers). */
  usecs: boolean;
  /** Nanoseconds trace-cmd adds to every timestamp (DATE ×1000 + OFFSET). */
  tsOffsetNs: bigint;
}

function fail(
  kind: 'bad-tracedat' | 'short-input' | 'unsupported',
  detail: string,
  offset: number,
  where: string,
): never {
  throw new DecodeError(kind, detail, offset, where);
}

function clockFromTraceClockText(text: string): string | undefined {
  for (const word of text.split(' ')) {
    if (word.startsWith('[')) {
      const m = /^\[([^\]\s]*)/.exec(word);
      return m ? m[1] : undefined;
    }
  }
  return undefined;
}

/** strtoll(buf, NULL, 0): decimal, 0x hex or 0 octal, leading sign; stops at the first bad char. */
function strtoll(text: string): bigint {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(text);
  if (!m) return 0n;
  const body = m[2];
  let v: bigint;
  if (/^0[xX]/.test(body)) v = BigInt(body);
  else if (body.length > 1 && body[0] === '0') v = BigInt(`0o${body.slice(1)}`);
  else v = BigInt(body);
  return m[1] === '-' ? -v : v;
}

class Builder {
  le = true;
  version: 6 | 7 = 7;
  userLongSize = 8;
  pageSize = 4096;
  compression = {name: 'none', version: ''};
  codec: Codec = codecFor('none');
  headerPage = '';
  headerEvent = '';
  ftraceFormats: string[] = [];
  eventFormats: EventFormatEntry[] = [];
  kallsyms = '';
  printk = '';
  cmdlines = '';
  cpus = 0;
  buffers: BufferInfo[] = [];
  options = emptyOptions();
  clock = '';
  usecs = true;
  hasTraceClockOption = false;

  constructor(readonly src: ByteSource) {}

  cursor(where: string, at: number): Cursor {
    return new Cursor(this.src, this.le, where, at);
  }

  preamble(c: Cursor): void {
    const magic = c.bytes(10, 'magic');
    for (let i = 0; i < 10; i++) {
      if (magic[i] !== MAGIC[i])
        fail('bad-tracedat', 'not a trace.dat file (bad magic)', i, c.where);
    }
    const v = c.cstring('version', 16);
    if (v !== '6' && v !== '7')
      fail('unsupported', `trace.dat version '${v}' (only 6 and 7)`, 10, c.where);
    this.version = v === '6' ? 6 : 7;
    const endian = c.u8('endian');
    if (endian > 1) fail('bad-tracedat', `endian byte ${endian}`, c.pos - 1, c.where);
    this.le = endian === 0;
    c.littleEndian = this.le; // the cursor was built before the byte order was known
    this.userLongSize = c.u8('long size');
    this.pageSize = c.u32('page size');
    if (this.pageSize < 32 || this.pageSize > 1 << 24) {
      fail('bad-tracedat', `page size ${this.pageSize}`, c.pos - 4, c.where);
    }
  }

  headerInfo(c: Cursor): void {
    const tag1 = c.bytes(12, 'header_page tag');
    if (utf8(tag1) !== 'header_page\0')
      fail('bad-tracedat', 'missing "header_page" tag', c.pos - 12, c.where);
    const n1 = c.u64('header_page size');
    this.headerPage = utf8(c.bytes(n1, 'header_page'));
    const tag2 = c.bytes(13, 'header_event tag');
    if (utf8(tag2) !== 'header_event\0')
      fail('bad-tracedat', 'missing "header_event" tag', c.pos - 13, c.where);
    const n2 = c.u64('header_event size');
    this.headerEvent = utf8(c.bytes(n2, 'header_event'));
  }

  ftrace(c: Cursor): void {
    const count = c.u32('ftrace format count');
    for (let i = 0; i < count; i++) {
      const n = c.u64('ftrace format size');
      this.ftraceFormats.push(utf8(c.bytes(n, 'ftrace format')));
    }
  }

  events(c: Cursor): void {
    const systems = c.u32('event system count');
    for (let i = 0; i < systems; i++) {
      const system = c.cstring('system name');
      const count = c.u32('event count');
      for (let j = 0; j < count; j++) {
        const n = c.u64('event format size');
        this.eventFormats.push({system, text: utf8(c.bytes(n, `${system} format`))});
      }
    }
  }

  kallsymsBlock(c: Cursor): void {
    this.kallsyms = utf8(c.bytes(c.u32('kallsyms size'), 'kallsyms'));
  }
  printkBlock(c: Cursor): void {
    this.printk = utf8(c.bytes(c.u32('printk size'), 'printk formats'));
  }
  cmdlinesBlock(c: Cursor): void {
    this.cmdlines = utf8(c.bytes(c.u64('cmdlines size'), 'cmdlines'));
  }

  traceClockText(text: string): void {
    const clock = clockFromTraceClockText(text);
    if (clock === undefined) return;
    this.clock = clock;
    if (this.options.tsc2nsec) return;
    if (!USEC_CLOCKS.has(clock) && !clock.startsWith('mono')) this.usecs = false;
  }

  /** One option record; returns false at DONE. */
  option(id: number, data: Uint8Array, at: number, where: string): void {
    if (id === OPT.BUFFER || id === OPT.BUFFER_TEXT) {
      const b = parseBufferOption(id, data, this.le, this.version === 7, this.pageSize);
      if (!b) fail('bad-tracedat', `malformed BUFFER option (${data.length} bytes)`, at, where);
      if (b.name === '' && this.version === 7) {
        this.buffers[0] = b;
        if (!this.clock) this.clock = b.clock;
      } else this.buffers.push(b);
      return;
    }
    applyOption(this.options, id, data, this.le);
    if (id === OPT.TRACECLOCK) {
      this.hasTraceClockOption = true;
      this.traceClockText(this.options.traceClock ?? '');
    } else if (id === OPT.TSC2NSEC && this.options.tsc2nsec) this.usecs = true;
  }

  /** v6 options list: records until id 0. */
  optionsV6(c: Cursor): void {
    for (;;) {
      const id = c.u16('option id');
      if (id === OPT.DONE) return;
      const size = c.u32('option size');
      const at = c.pos;
      this.option(id, c.bytes(size, `option ${id}`).slice(), at, c.where);
    }
  }

  /** v7 options section chain starting at `offset`. */
  optionsV7(offset: number): void {
    const seen = new Set<number>();
    while (offset !== 0) {
      if (seen.has(offset))
        fail('bad-tracedat', 'options sections form a loop', offset, 'trace.dat options');
      seen.add(offset);
      const sec = this.section(offset, OPT.DONE);
      let next = 0;
      const c = new Cursor(new BytesSource(sec.data), this.le, sec.where);
      for (;;) {
        const id = c.u16('option id');
        const size = c.u32('option size');
        const at = c.pos;
        const data = c.bytes(size, `option ${id}`).slice();
        if (id === OPT.DONE) {
          if (size < 8) fail('bad-tracedat', `DONE option of ${size} bytes`, at, sec.where);
          next = new Cursor(new BytesSource(data), this.le, sec.where).u64('next options offset');
          break;
        }
        this.option(id, data, at, sec.where);
      }
      offset = next;
    }
  }

  /** Read a v7 section header at `offset` and its (decompressed) payload. */
  section(offset: number, expectId: number): {data: Uint8Array; flags: number; where: string} {
    const name = SECTION_NAMES[expectId] ?? `id ${expectId}`;
    const where = `trace.dat section ${expectId} (${name}) @${offset}`;
    const c = this.cursor(where, offset);
    if (offset >= this.src.size)
      fail('short-input', 'section offset is past the end of the file', offset, where);
    const id = c.u16('section id');
    const flags = c.u16('section flags');
    c.u32('section string id');
    const size = c.u64('section size');
    if (id !== expectId)
      fail('bad-tracedat', `section id ${id}, expected ${expectId}`, offset, where);
    if (size > MAX_SECTION)
      fail('bad-tracedat', `section size ${size} is too large`, offset + 8, where);
    if (flags & 1) {
      const zsize = c.u32('compressed size');
      const usize = c.u32('uncompressed size');
      if (usize > MAX_SECTION)
        fail('bad-tracedat', `uncompressed size ${usize} is too large`, c.pos - 4, where);
      const at = c.pos;
      const z = c.bytes(zsize, 'compressed section');
      return {
        data: this.codec.decompress(z, usize, where, at),
        flags,
        where: `${where} (uncompressed)`,
      };
    }
    return {data: c.bytes(size, 'section data').slice(), flags, where};
  }

  loadSections(): void {
    const s = this.options.sections;
    const run = (id: number, fn: (c: Cursor) => void, required: boolean): void => {
      const off = s.get(id);
      if (off === undefined) {
        if (required)
          fail('bad-tracedat', `no ${SECTION_NAMES[id]} section`, 0, 'trace.dat options');
        return;
      }
      const sec = this.section(off, id);
      fn(new Cursor(new BytesSource(sec.data), this.le, sec.where));
    };
    run(OPT.HEADER_INFO, (c) => this.headerInfo(c), true);
    run(OPT.FTRACE_EVENTS, (c) => this.ftrace(c), false);
    run(OPT.EVENT_FORMATS, (c) => this.events(c), false);
    run(OPT.KALLSYMS, (c) => this.kallsymsBlock(c), false);
    run(OPT.PRINTK, (c) => this.printkBlock(c), false);
    run(OPT.CMDLINES, (c) => this.cmdlinesBlock(c), false);
  }

  /** v7: each BUFFER section's header says whether its CPU data is compressed. */
  bufferSections(): void {
    for (const b of this.buffers) {
      if (!b || b.cpus.length === 0) continue;
      const where = `trace.dat BUFFER section of '${b.name}' @${b.offset}`;
      const c = this.cursor(where, b.offset);
      const id = c.u16('section id');
      const flags = c.u16('section flags');
      if (id !== OPT.BUFFER && id !== OPT.BUFFER_TEXT)
        fail('bad-tracedat', `section id ${id}, expected 3`, b.offset, where);
      b.compressed = (flags & 1) !== 0;
      if (b.compressed && this.codec.name === 'none') {
        fail('bad-tracedat', 'compressed CPU data in a file with no compression', b.offset, where);
      }
    }
  }

  /** v6 "flyrecord" CPU table for `buffer` (count = file CPU count). */
  flyrecordV6(c: Cursor, buffer: BufferInfo): void {
    // read_cpu_data reads handle->cpus entries, which a CPUCOUNT option may have changed.
    const n = this.options.cpuCount ?? this.cpus;
    if (n > 4096) fail('bad-tracedat', `cpu count ${n}`, c.pos, c.where);
    for (let cpu = 0; cpu < n; cpu++) {
      const offset = c.u64(`cpu${cpu} data offset`);
      const size = c.u64(`cpu${cpu} data size`);
      buffer.cpus.push({cpu, offset, size});
    }
  }

  /** v6 10-byte tag, options lists in front of it included; returns the final tag. */
  tagV6(c: Cursor): string {
    for (;;) {
      const tag = utf8(c.bytes(10, 'section tag'));
      if (tag.startsWith('options')) {
        this.optionsV6(c);
        continue;
      }
      if (tag.startsWith('latency')) return 'latency';
      if (tag.startsWith('flyrecord')) return 'flyrecord';
      fail('bad-tracedat', `unknown tag ${JSON.stringify(tag)}`, c.pos - 10, c.where);
    }
  }

  readV6(c: Cursor): void {
    c.where = 'trace.dat v6 header info';
    this.headerInfo(c);
    c.where = 'trace.dat v6 ftrace formats';
    this.ftrace(c);
    c.where = 'trace.dat v6 event formats';
    this.events(c);
    c.where = 'trace.dat v6 kallsyms';
    this.kallsymsBlock(c);
    c.where = 'trace.dat v6 printk';
    this.printkBlock(c);
    c.where = 'trace.dat v6 cmdlines';
    this.cmdlinesBlock(c);
    c.where = 'trace.dat v6 cpu count';
    this.cpus = c.u32('cpu count');
    if (this.cpus > 4096) fail('bad-tracedat', `cpu count ${this.cpus}`, c.pos - 4, c.where);
    c.where = 'trace.dat v6 options';
    const tag = this.tagV6(c);
    const top: BufferInfo = {
      name: '',
      clock: '',
      pageSize: this.pageSize,
      offset: c.pos,
      cpus: [],
      compressed: false,
      latency: tag === 'latency',
    };
    c.where = 'trace.dat v6 flyrecord';
    if (tag === 'flyrecord') this.flyrecordV6(c, top);
    // Instances were pushed while reading options; the top buffer goes first.
    this.buffers.unshift(top);
    if (tag === 'flyrecord' && this.hasTraceClockOption) {
      // init_data_v6: the trace_clock file follows the CPU table; a bad one means "local".
      try {
        const n = c.u64('trace_clock size');
        this.traceClockText(utf8(c.bytes(n, 'trace_clock')));
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        this.traceClockText('[local]');
      }
    }
    for (const b of this.buffers.slice(1)) {
      const bc = this.cursor(`trace.dat v6 buffer '${b.name}' @${b.offset}`, b.offset);
      if (b.offset >= this.src.size)
        fail('short-input', 'buffer offset past the end of the file', b.offset, bc.where);
      const t = this.tagV6(bc);
      if (t === 'latency') b.latency = true;
      else this.flyrecordV6(bc, b);
    }
  }

  readV7(c: Cursor): void {
    c.where = 'trace.dat v7 header';
    const name = c.cstring('compression name', 64);
    const version = c.cstring('compression version', 64);
    this.compression = {name, version};
    this.codec = codecFor(name);
    const first = c.u64('first options offset');
    this.buffers.push(undefined as unknown as BufferInfo); // slot for the top buffer
    this.optionsV7(first);
    if (!this.buffers[0]) {
      this.buffers[0] = {
        name: '',
        clock: this.clock,
        pageSize: this.pageSize,
        offset: 0,
        cpus: [],
        compressed: false,
        latency: false,
      };
    }
    this.cpus = this.options.cpuCount ?? 0;
    this.loadSections();
    this.bufferSections();
  }

  finish(): TraceDat {
    // `cpus=` is the main handle's max_cpu: the larger of the file's CPU count (v6 header or
    // CPUCOUNT) and the top buffer's highest CPU + 1.
    let maxCpus = Math.max(this.cpus, this.options.cpuCount ?? 0);
    for (const [i, b] of this.buffers.entries()) {
      for (const d of b.cpus) {
        if (i === 0) maxCpus = Math.max(maxCpus, d.cpu + 1);
        if (d.size > 0 && d.offset + d.size > this.src.size) {
          fail(
            'short-input',
            `cpu${d.cpu} data of '${b.name}' needs ${d.offset + d.size} bytes, file has ${this.src.size} (truncated?)`,
            d.offset,
            'trace.dat CPU table',
          );
        }
      }
    }
    const layout = pageLayoutFromHeaderPage(this.headerPage, this.le, 'trace.dat header_page');
    let tsOffsetNs = 0n;
    if (this.options.date) tsOffsetNs += strtoll(this.options.date) * 1000n;
    if (this.options.offset) tsOffsetNs += strtoll(this.options.offset);
    return {
      src: this.src,
      version: this.version,
      littleEndian: this.le,
      userLongSize: this.userLongSize,
      longSize: layout.longSize,
      pageSize: this.pageSize,
      layout,
      compression: this.compression,
      codec: this.codec,
      headerPage: this.headerPage,
      headerEvent: this.headerEvent,
      ftraceFormats: this.ftraceFormats,
      eventFormats: this.eventFormats,
      kallsyms: this.kallsyms,
      printk: this.printk,
      cmdlines: this.cmdlines,
      cpus: maxCpus,
      buffers: this.buffers,
      options: this.options,
      clock: this.clock,
      usecs: this.usecs,
      tsOffsetNs,
    };
  }
}

/** Read a trace.dat file's metadata. Throws DecodeError on anything malformed. */
export function readTraceDat(src: ByteSource): TraceDat {
  const b = new Builder(src);
  const c = new Cursor(src, true, 'trace.dat preamble', 0);
  b.preamble(c);
  if (b.version === 6) b.readV6(c);
  else b.readV7(c);
  return b.finish();
}
