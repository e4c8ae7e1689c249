/**
 * Writes a parsed trace.dat back out as version 6 or 7, with "none" or "zlib" compression for
 * v7 (metadata sections, options sections and CPU data in chunks). The CPU data and all
 * metadata are copied from the source file unchanged, except that `kallsyms` may be replaced.
 *
 * Used by tests: a zlib v7 file (which Debian's trace-cmd cannot write) is built by recompressing
 * a real zstd/none file, and small fixtures are made by trimming a real file's 5 MB kallsyms to
 * the symbols its events use. Not tuned for speed or for huge files (it builds the file in memory).
 */
import {zlibSync} from 'fflate';
import {CpuPageReader} from './cpu-pages.ts';
import {OPT, type BufferInfo, type CpuDataRef} from './options.ts';
import type {TraceDat} from './tracedat-file.ts';

declare class TextEncoder {
  encode(s: string): Uint8Array;
}
const ENC = new TextEncoder();

export interface WriteOptions {
  version: 6 | 7;
  /**
   * v7 only. 'zlib': compress sections and CPU data with zlib. 'zstd': compressed CPU chunks of
   * a zstd source are copied verbatim; everything else is written as zstd frames of stored
   * (raw) blocks, so no zstd compressor is needed.
   */
  compression?: 'none' | 'zlib' | 'zstd';
  /** Replace the kallsyms text. */
  kallsyms?: string;
  /** Pages per compressed CPU-data chunk (trace-cmd uses ~1 MB; small values test chunking). */
  chunkPages?: number;
  /** Extra option records (e.g. ids a reader does not know), written with the others. */
  extraOptions?: [number, Uint8Array][];
  /** v7: order in which the metadata sections (ids 16..21) are written. */
  sectionOrder?: number[];
}

class Out {
  buf = new Uint8Array(1 << 16);
  len = 0;
  constructor(readonly le: boolean) {}
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  u8(v: number): void {
    this.bytes(Uint8Array.of(v));
  }
  u16(v: number): void {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, this.le);
    this.bytes(b);
  }
  u32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, this.le);
    this.bytes(b);
  }
  u64(v: number | bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), this.le);
    this.bytes(b);
  }
  text(s: string, nul = false): void {
    this.bytes(ENC.encode(s));
    if (nul) this.u8(0);
  }
  patch64(at: number, v: number): void {
    new DataView(this.buf.buffer).setBigUint64(at, BigInt(v), this.le);
  }
  patch32(at: number, v: number): void {
    new DataView(this.buf.buffer).setUint32(at, v, this.le);
  }
  align(n: number): void {
    const pad = (n - (this.len % n)) % n;
    this.bytes(new Uint8Array(pad));
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** The uncompressed data of one CPU, page after page. */
export function cpuDataBytes(dat: TraceDat, buffer: BufferInfo, ref: CpuDataRef): Uint8Array {
  const r = new CpuPageReader(dat, buffer, ref);
  const out = new Out(dat.littleEndian);
  while (r.next()) out.bytes(r.bytes.subarray(r.base, r.base + r.available));
  return out.result();
}

/** A zstd frame holding `data` in stored blocks (RFC 8878 Raw_Block, 128 KiB max each). */
export function zstdStoredFrame(data: Uint8Array): Uint8Array {
  const o = new Out(true);
  o.u32(0xfd2fb528);
  o.u8(0xa0); // FCS 4 bytes, single segment, no checksum, no dictionary
  o.u32(data.length);
  const MAX = 128 << 10;
  let at = 0;
  do {
    const n = Math.min(MAX, data.length - at);
    const last = at + n >= data.length ? 1 : 0;
    const h = last | (0 << 1) | (n << 3);
    o.bytes(Uint8Array.of(h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff));
    o.bytes(data.subarray(at, at + n));
    at += n;
  } while (at < data.length);
  return o.result();
}

/** The bytes of a compressed CPU's chunk table and chunks, exactly as stored. */
function rawChunks(dat: TraceDat, ref: CpuDataRef): Uint8Array {
  const le = dat.littleEndian;
  const head = dat.src.read(ref.offset, 4);
  const count = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, le);
  let at = ref.offset + 4;
  for (let i = 0; i < count; i++) {
    const h = dat.src.read(at, 8);
    at += 8 + new DataView(h.buffer, h.byteOffset, 8).getUint32(0, le);
  }
  return dat.src.read(ref.offset, at - ref.offset).slice();
}

function zstdChunks(data: Uint8Array, chunkBytes: number, le: boolean): Uint8Array {
  const o = new Out(le);
  const n = Math.ceil(data.length / chunkBytes);
  o.u32(n);
  for (let i = 0; i < n; i++) {
    const part = data.subarray(i * chunkBytes, Math.min(data.length, (i + 1) * chunkBytes));
    const z = zstdStoredFrame(part);
    o.u32(z.length);
    o.u32(part.length);
    o.bytes(z);
  }
  return o.result();
}

function optionRecord(o: Out, id: number, data: Uint8Array): void {
  o.u16(id);
  o.u32(data.length);
  o.bytes(data);
}

function cstr(s: string): Uint8Array {
  const b = ENC.encode(s);
  const r = new Uint8Array(b.length + 1);
  r.set(b);
  return r;
}

/** Options that carry data (not section offsets, buffers or DONE), in a stable order. */
function plainOptions(dat: TraceDat, le: boolean): [number, Uint8Array][] {
  const o = dat.options;
  const list: [number, Uint8Array][] = [];
  if (o.date !== undefined) list.push([OPT.DATE, cstr(o.date)]);
  if (o.offset !== undefined) list.push([OPT.OFFSET, cstr(o.offset)]);
  if (o.traceClock !== undefined) list.push([OPT.TRACECLOCK, cstr(o.traceClock)]);
  if (o.uname !== undefined) list.push([OPT.UNAME, cstr(o.uname)]);
  if (o.version !== undefined) list.push([OPT.VERSION, cstr(o.version)]);
  for (const s of o.cpustats) list.push([OPT.CPUSTAT, cstr(s.endsWith('\n') ? s.slice(0, -1) : s)]);
  if (o.cpuCount !== undefined) {
    const b = new Out(le);
    b.u32(o.cpuCount);
    list.push([OPT.CPUCOUNT, b.result()]);
  }
  if (o.tsc2nsec) {
    const b = new Out(le);
    b.u32(o.tsc2nsec.mult);
    b.u32(o.tsc2nsec.shift);
    b.u64(o.tsc2nsec.offset);
    list.push([OPT.TSC2NSEC, b.result()]);
  }
  if (o.traceId !== undefined) {
    const b = new Out(le);
    b.u64(o.traceId);
    list.push([OPT.TRACEID, b.result()]);
  }
  return list;
}

function formatsBySystem(dat: TraceDat): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const f of dat.eventFormats) {
    let l = m.get(f.system);
    if (!l) m.set(f.system, (l = []));
    l.push(f.text);
  }
  return m;
}

function preamble(o: Out, dat: TraceDat, version: string): void {
  o.bytes(Uint8Array.of(0x17, 0x08, 0x44));
  o.text('tracing');
  o.text(version, true);
  o.u8(dat.littleEndian ? 0 : 1);
  o.u8(dat.userLongSize);
  o.u32(dat.pageSize);
}

function headerBlock(o: Out, dat: TraceDat): void {
  const hp = ENC.encode(dat.headerPage);
  const he = ENC.encode(dat.headerEvent);
  o.text('header_page', true);
  o.u64(hp.length);
  o.bytes(hp);
  o.text('header_event', true);
  o.u64(he.length);
  o.bytes(he);
}
function ftraceBlock(o: Out, dat: TraceDat): void {
  o.u32(dat.ftraceFormats.length);
  for (const t of dat.ftraceFormats) {
    const b = ENC.encode(t);
    o.u64(b.length);
    o.bytes(b);
  }
}
function eventsBlock(o: Out, dat: TraceDat): void {
  const m = formatsBySystem(dat);
  o.u32(m.size);
  for (const [system, texts] of m) {
    o.text(system, true);
    o.u32(texts.length);
    for (const t of texts) {
      const b = ENC.encode(t);
      o.u64(b.length);
      o.bytes(b);
    }
  }
}
function sized32(o: Out, text: string): void {
  const b = ENC.encode(text);
  o.u32(b.length);
  o.bytes(b);
}
function sized64(o: Out, text: string): void {
  const b = ENC.encode(text);
  o.u64(b.length);
  o.bytes(b);
}

export function writeTraceDat(dat: TraceDat, opts: WriteOptions): Uint8Array {
  const kallsyms = opts.kallsyms ?? dat.kallsyms;
  return opts.version === 6 ? writeV6(dat, kallsyms, opts) : writeV7(dat, kallsyms, opts);
}

function writeV6(dat: TraceDat, kallsyms: string, opts: WriteOptions): Uint8Array {
  const le = dat.littleEndian;
  const o = new Out(le);
  preamble(o, dat, '6');
  headerBlock(o, dat);
  ftraceBlock(o, dat);
  eventsBlock(o, dat);
  sized32(o, kallsyms);
  sized32(o, dat.printk);
  sized64(o, dat.cmdlines);
  const cpus = dat.options.cpuCount ?? dat.cpus;
  o.u32(cpus);
  o.text('options  ', true);
  for (const [id, data] of plainOptions(dat, le)) optionRecord(o, id, data);
  for (const [id, data] of opts.extraOptions ?? []) optionRecord(o, id, data);
  const bufferOffsetAt: number[] = [];
  for (const b of dat.buffers.slice(1)) {
    const name = cstr(b.name);
    o.u16(OPT.BUFFER);
    o.u32(8 + name.length);
    bufferOffsetAt.push(o.len);
    o.u64(0);
    o.bytes(name);
  }
  o.u16(0);
  const tables: number[] = [];
  const cpuTable = (): void => {
    o.text('flyrecord', true);
    tables.push(o.len);
    for (let i = 0; i < cpus; i++) {
      o.u64(0);
      o.u64(0);
    }
  };
  cpuTable();
  if (dat.options.traceClock !== undefined) sized64(o, dat.options.traceClock);
  dat.buffers.slice(1).forEach((_, i) => {
    o.patch64(bufferOffsetAt[i], o.len);
    cpuTable();
  });
  dat.buffers.forEach((b, bi) => {
    for (const ref of b.cpus) {
      if (ref.cpu >= cpus) continue;
      const data = ref.size > 0 ? cpuDataBytes(dat, b, ref) : new Uint8Array(0);
      o.align(dat.pageSize);
      o.patch64(tables[bi] + ref.cpu * 16, o.len);
      o.patch64(tables[bi] + ref.cpu * 16 + 8, data.length);
      o.bytes(data);
    }
  });
  return o.result();
}

function writeV7(dat: TraceDat, kallsyms: string, opts: WriteOptions): Uint8Array {
  const le = dat.littleEndian;
  const zlib = opts.compression === 'zlib';
  const zstd = opts.compression === 'zstd';
  const compressed = zlib || zstd;
  const chunkBytes = (opts.chunkPages ?? 32) * dat.pageSize;
  const o = new Out(le);
  preamble(o, dat, '7');
  o.text(zlib ? 'zlib' : zstd ? 'zstd' : 'none', true);
  const zstdVersion = dat.compression.name === 'zstd' ? dat.compression.version : '1.5.4';
  o.text(zlib ? '1.2.13' : zstd ? zstdVersion : '', true);
  const firstOptionsAt = o.len;
  o.u64(0);

  /** A section: header, then the body (compressed as one block when zlib). */
  const section = (id: number, body: (b: Out) => void, compress = compressed): number => {
    const start = o.len;
    const b = new Out(le);
    body(b);
    const data = b.result();
    o.u16(id);
    o.u16(compress ? 1 : 0);
    o.u32(0);
    if (compress) {
      const z = zlib ? zlibSync(data, {level: 6}) : zstdStoredFrame(data);
      o.u64(8 + z.length);
      o.u32(z.length);
      o.u32(data.length);
      o.bytes(z);
    } else {
      o.u64(data.length);
      o.bytes(data);
    }
    return start;
  };

  const bodies: Record<number, (b: Out) => void> = {
    [OPT.HEADER_INFO]: (b) => headerBlock(b, dat),
    [OPT.FTRACE_EVENTS]: (b) => ftraceBlock(b, dat),
    [OPT.EVENT_FORMATS]: (b) => eventsBlock(b, dat),
    [OPT.KALLSYMS]: (b) => sized32(b, kallsyms),
    [OPT.PRINTK]: (b) => sized32(b, dat.printk),
    [OPT.CMDLINES]: (b) => sized64(b, dat.cmdlines),
  };
  const order = opts.sectionOrder ?? [16, 17, 18, 19, 20, 21];
  const offsets: [number, number][] = order.map((id) => [id, section(id, bodies[id])]);

  // CPU data sections, one per buffer that has CPUs.
  const bufferOptions: Uint8Array[] = [];
  for (const buf of dat.buffers) {
    let sectionAt = 0;
    const table: [number, number, number][] = [];
    if (buf.cpus.length > 0) {
      sectionAt = o.len;
      o.u16(OPT.BUFFER);
      o.u16(compressed ? 1 : 0);
      o.u32(0);
      const sizeAt = o.len;
      o.u64(0);
      o.align(buf.pageSize);
      const dataStart = o.len;
      for (const ref of buf.cpus) {
        const at = o.len;
        if (zstd) {
          if (ref.size > 0)
            o.bytes(
              buf.compressed
                ? rawChunks(dat, ref)
                : zstdChunks(cpuDataBytes(dat, buf, ref), chunkBytes, le),
            );
          table.push([ref.cpu, at, o.len - at]);
          continue;
        }
        const data = ref.size > 0 ? cpuDataBytes(dat, buf, ref) : new Uint8Array(0);
        if (zlib && data.length > 0) {
          const n = Math.ceil(data.length / chunkBytes);
          o.u32(n);
          for (let i = 0; i < n; i++) {
            const part = data.subarray(i * chunkBytes, Math.min(data.length, (i + 1) * chunkBytes));
            const z = zlibSync(part, {level: 6});
            o.u32(z.length);
            o.u32(part.length);
            o.bytes(z);
          }
        } else o.bytes(data);
        table.push([ref.cpu, at, o.len - at]);
        if (!zlib) o.align(buf.pageSize);
      }
      o.patch64(sizeAt, o.len - dataStart);
    }
    const b = new Out(le);
    b.u64(sectionAt);
    b.text(buf.name, true);
    b.text(buf.clock || dat.clock || 'local', true);
    b.u32(buf.pageSize);
    b.u32(table.length);
    for (const [cpu, at, size] of table) {
      b.u32(cpu);
      b.u64(at);
      b.u64(size);
    }
    bufferOptions.push(b.result());
  }

  // Options: a section with the buffers (written first so its offset is known), then the one the
  // header points at: section offsets and plain options, with DONE → the buffers section.
  const buffersAt = section(OPT.DONE, (b) => {
    for (const data of bufferOptions) optionRecord(b, OPT.BUFFER, data);
    optionRecord(b, OPT.DONE, new Uint8Array(8));
  });
  const first = section(OPT.DONE, (b) => {
    for (const [id, off] of offsets) {
      const v = new Out(le);
      v.u64(off);
      optionRecord(b, id, v.result());
    }
    for (const [id, data] of plainOptions(dat, le)) optionRecord(b, id, data);
    for (const [id, data] of opts.extraOptions ?? []) optionRecord(b, id, data);
    const next = new Out(le);
    next.u64(buffersAt);
    optionRecord(b, OPT.DONE, next.result());
  });
  o.patch64(firstOptionsAt, first);
  return o.result();
}
