/**
 * Test helpers for live-kernel source tests: write numbered `trace_marker_raw` records from a
 * child process pinned to one CPU, and decode what a source delivered back into those numbers
 * with the real sub-buffer decoder (core/subbuffer.ts).
 *
 * Marker payload (after the 8 common bytes): u32 id (the raw_data `id` field), u32 check =
 * id ^ CHECK_XOR, 12 filler bytes. Record = 4 header + 8 common + 20 = 32 bytes: 127 fit in a
 * 4080-byte page with 16 bytes left, room for a stored lost-event count.
 */
import {spawn} from 'node:child_process';
import type {SourceBatch, SourceMetadata, SubbufSlice} from '../../source.ts';
import {EventColumns, decodeSubbuf, readSubbufHeader} from '../../../../core/subbuffer.ts';
import {pageLayoutFromHeaderPage} from '../../../../core/page-layout.ts';
import type {PageLayout} from '../../../../core/page-layout.ts';
import {parseMetaPage} from '../../../../core/meta-page.ts';

export const CHECK_XOR = 0x5a5aa5a5;

/**
 * Write `count` markers with ids `first..first+count-1` from a child pinned to `cpu`. With
 * `perMs`, writes that many per timer tick of `intervalMs` (default 1), else all at once.
 */
export function writeMarkers(
  instanceDir: string,
  o: {cpu: number; count: number; first?: number; perMs?: number; intervalMs?: number},
): Promise<{written: number; errors: number}> {
  const script = `
    const fs = require('node:fs');
    const fd = fs.openSync(${JSON.stringify(`${instanceDir}/trace_marker_raw`)}, 'w');
    const b = Buffer.alloc(20, 0xcd);
    const first = ${o.first ?? 0}, count = ${o.count}, perMs = ${o.perMs ?? 0};
    const interval = ${o.intervalMs ?? 1};
    let n = 0, errors = 0;
    function burst(k) {
      for (let i = 0; i < k && n < count; i++, n++) {
        const id = (first + n) >>> 0;
        b.writeUInt32LE(id, 0);
        b.writeUInt32LE((id ^ ${CHECK_XOR}) >>> 0, 4);
        try { fs.writeSync(fd, b); } catch { errors++; }
      }
      if (n < count) setTimeout(() => burst(perMs), interval);
      else process.stdout.write(JSON.stringify({written: n - errors, errors}));
    }
    burst(perMs || count);
  `;
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', String(o.cpu), process.execPath, '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`marker writer exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as {written: number; errors: number});
    });
  });
}

export interface CpuTally {
  ids: number[];
  tsNs: number[];
  badPayload: number;
  /** Sum of MISSED_STORED counts on delivered pages. */
  storedLost: number;
  /** Pages with MISSED_EVENTS but no stored count. */
  missedUnknown: number;
  firstMeta?: {entries: number; overrun: number; read: number};
  lastMeta?: {entries: number; overrun: number; read: number};
}

/** Decodes slices into per-CPU marker id lists. */
export class MarkerCollector {
  readonly layout: PageLayout;
  readonly rawDataId: number;
  readonly cpus = new Map<number, CpuTally>();
  readonly notices: SourceBatch['notices'] = [];
  decodeErrors = 0;
  otherEvents = 0;
  slices = 0;
  private cols = new EventColumns(4096);

  constructor(md: SourceMetadata) {
    this.layout = pageLayoutFromHeaderPage(md.headerPage, md.littleEndian);
    const f = md.formats.find((x) => x.system === 'ftrace' && x.name === 'raw_data');
    const m = f && /^ID:\s*(\d+)/m.exec(f.text);
    if (!m) throw new Error('no ftrace/raw_data format in metadata');
    this.rawDataId = Number(m[1]);
  }

  tally(cpu: number): CpuTally {
    let t = this.cpus.get(cpu);
    if (!t) {
      t = {ids: [], tsNs: [], badPayload: 0, storedLost: 0, missedUnknown: 0};
      this.cpus.set(cpu, t);
    }
    return t;
  }

  add(batch: SourceBatch): number {
    let n = 0;
    for (const s of batch.slices) n += this.addSlice(s);
    for (const m of batch.metas) {
      const p = parseMetaPage(m.bytes);
      const t = this.tally(m.cpu);
      const c = {entries: p.entries, overrun: p.overrun, read: p.read};
      t.firstMeta ??= c;
      t.lastMeta = c;
    }
    this.notices.push(...batch.notices);
    return n;
  }

  addSlice(s: SubbufSlice): number {
    this.slices++;
    const t = this.tally(s.cpu);
    const view = new DataView(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength);
    if (s.from === 0 || s.subbufId < 0) {
      const h = readSubbufHeader(view, 0, s.bytes.length, this.layout);
      if (h.missedEvents) {
        if (h.lostEvents >= 0) t.storedLost += h.lostEvents;
        else t.missedUnknown++;
      }
    }
    this.cols.clear();
    const r = decodeSubbuf(s.bytes, 0, s.bytes.length, this.layout, this.cols, {emitFrom: s.from});
    if (r.error) this.decodeErrors++;
    const dv = view;
    for (let i = 0; i < this.cols.length; i++) {
      const off = this.cols.payloadOffset[i]!;
      if (dv.getUint16(off, true) !== this.rawDataId) {
        this.otherEvents++;
        continue;
      }
      const id = dv.getUint32(off + 8, true);
      const check = dv.getUint32(off + 12, true);
      if (check !== (id ^ CHECK_XOR) >>> 0) t.badPayload++;
      t.ids.push(id);
      t.tsNs.push(this.cols.tsNs[i]!);
    }
    return this.cols.length;
  }
}

/** First index where `ids` is not exactly first, first+1, …; -1 when it is. */
export function firstOutOfOrder(ids: number[], first: number): number {
  for (let i = 0; i < ids.length; i++) if (ids[i] !== first + i) return i;
  return -1;
}
