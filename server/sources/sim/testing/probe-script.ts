/**
 * Runs an rb-probe command script (see rb-probe.c) against the TypeScript ring-buffer model and
 * prints the same lines the C probe prints against the kernel, so the differential test can
 * compare them one to one. Only structure is printed (sizes, types, flags, counters), never times.
 */
import type {CpuRingBuffer} from '../ring-buffer-model.ts';
import {MARKER_MAX_PAYLOAD} from '../event-writer.ts';

/** The probe's description of one sub-buffer: commit word, record tokens, stored lost count. */
export function describeSubbuf(id: number, page: Uint8Array): string {
  const v = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const dsize = page.length - 16;
  const low = v.getUint32(8, true);
  const high = v.getUint32(12, true);
  const size = low & 0x7ffffff;
  let out = `p ${id} c=${hex8(high)}${hex8(low)}`;
  let off = 0;
  while (off < size && off + 4 <= dsize) {
    const w = v.getUint32(16 + off, true);
    const tl = w & 31;
    const delta = w >>> 5;
    const a0 = off + 8 <= dsize ? v.getUint32(16 + off + 4, true) : 0;
    if (tl >= 1 && tl <= 28) {
      out += ` D${tl}/${4 + 4 * tl}`;
      off += 4 + 4 * tl;
    } else if (tl === 0) {
      out += ` D0/${4 + a0}`;
      off += 4 + a0;
    } else if (tl === 29) {
      if (delta === 0 && a0 === 0) {
        out += ' N';
        break;
      }
      out += ` P${delta === 1 ? 1 : delta ? 2 : 0}/${4 + a0}`;
      off += 4 + a0;
    } else {
      out += tl === 30 ? ' E' : ' S';
      off += 8;
    }
  }
  if ((low & 0xc0000000) >>> 0 === 0xc0000000 && size + 8 <= dsize) {
    out += ` lost=${v.getUint32(16 + size + 4, true) * 2 ** 32 + v.getUint32(16 + size, true)}`;
  }
  return out;
}

function hex8(x: number): string {
  return (x >>> 0).toString(16).padStart(8, '0');
}

/** The probe's `m` line for a meta page. */
export function describeMeta(meta: Uint8Array): string {
  const v = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
  const u64 = (o: number) => v.getUint32(o + 4, true) * 2 ** 32 + v.getUint32(o, true);
  return (
    `m id=${v.getUint32(24, true)} read=${v.getUint32(28, true)} entries=${u64(40)} ` +
    `overrun=${u64(48)} readcnt=${u64(56)} lost=${u64(16)} flags=${u64(32)}`
  );
}

export interface ModelRun {
  lines: string[];
  rb: CpuRingBuffer;
}

/**
 * Apply `script` (probe commands, one per line) to `rb` (map it first unless the script maps it
 * with `M`, as the probe's lazy mode does). Writes
 * advance the model clock by `writeGapNs`; `s <ms>` advances it by that many milliseconds.
 */
export function runScriptOnModel(rb: CpuRingBuffer, script: string[], writeGapNs = 1000): ModelRun {
  const mapped = () => `mapped subbuf_size=${rb.subbufSize} nr_subbufs=${rb.nrPages + 1}`;
  // The probe maps before it says "ready" unless it runs lazily.
  const lines: string[] = rb.mapped ? [mapped(), 'ready'] : ['ready'];
  let now = 1_000_000;
  let seq = 0;
  const payload = new Uint8Array(8 + 8192).fill(0xab);
  const pv = new DataView(payload.buffer);
  for (const cmd of script) {
    const [op, a = '0', b = '1'] = cmd.trim().split(/\s+/);
    if (!rb.mapped && 'mpa'.includes(op)) {
      lines.push('nomap');
      continue;
    }
    if (op === 'M') {
      if (!rb.mapped) {
        rb.map();
        lines.push(mapped());
      }
    } else if (op === 'w') {
      const len = Number(a);
      for (let i = 0; i < Number(b); i++) {
        // raw_data: trace_entry (common_type 19) + the written bytes (4-byte id first)
        pv.setUint16(0, 19, true);
        pv.setUint32(8, seq++, true);
        now += writeGapNs;
        // trace_marker_raw: EINVAL when the event would exceed 4072 payload bytes (measured on
        // 6.18 with 4 and 8 KiB sub-buffers) or the sub-buffer; EBADF when the ring buffer
        // refuses the event (non-overwrite mode, full).
        if (8 + len > Math.min(MARKER_MAX_PAYLOAD, rb.dataSize - 8)) lines.push('werr 22');
        else if (!rb.write(now, payload, 8 + len)) lines.push('werr 9');
      }
    } else if (op === 'g') {
      if (rb.mapped) rb.getReader();
      lines.push(rb.mapped ? 'g 0' : 'g -19'); // ENODEV before the first mapping
    } else if (op === 'm') {
      lines.push(describeMeta(rb.meta));
    } else if (op === 'p') {
      lines.push(describeSubbuf(Number(a), rb.subbuf(Number(a))));
    } else if (op === 'a') {
      for (let id = 0; id <= rb.nrPages; id++) lines.push(describeSubbuf(id, rb.subbuf(id)));
    } else if (op === 's') {
      now += Number(a) * 1e6;
    } else if (op === 't') {
      rb.reset();
    }
  }
  return {lines, rb};
}
