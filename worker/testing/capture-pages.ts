/**
 * Test helper: real sub-buffers from core/testing/fixtures/captures as `DecodedPage`s (decoded
 * with the real kbuffer walker) plus the `SourceMetadata` the server would send for them.
 */
import {existsSync, readFileSync, readdirSync} from 'node:fs';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {X86_64_4K, subbufSize} from '../../core/page-layout.ts';
import {EventColumns, decodeSubbuf} from '../../core/subbuffer.ts';
import type {DecodedPage} from '../page-sink.ts';
import type {TraceMetadata} from '../session.ts';

export const CAPTURES = new URL('../../core/testing/fixtures/captures/', import.meta.url);

export function captureMetadata(cpus = [0, 1]): TraceMetadata {
  const dir = fileURLToPath(new URL('formats/', CAPTURES));
  return {
    cpus,
    littleEndian: true,
    headerPage: readFileSync(new URL('header_page', CAPTURES), 'utf8'),
    formats: listFormats(dir),
    savedCmdlines: readFileSync(new URL('saved_cmdlines', CAPTURES), 'utf8'),
  };
}

/** Every `<dir>/<system>/<event>/format`, sorted. */
function listFormats(dir: string): {system: string; name: string; text: string}[] {
  const out: {system: string; name: string; text: string}[] = [];
  for (const system of readdirSync(dir).sort()) {
    for (const name of readdirSync(join(dir, system)).sort()) {
      const path = join(dir, system, name, 'format');
      if (existsSync(path)) out.push({system, name, text: readFileSync(path, 'utf8')});
    }
  }
  return out;
}

/** Decode one `.raw` capture (4096-byte sub-buffers) into pages for `cpu`; each owns its bytes. */
export function capturePages(file: string, cpu: number): DecodedPage[] {
  const all = readFileSync(new URL(file, CAPTURES));
  const size = subbufSize(X86_64_4K);
  const pages: DecodedPage[] = [];
  for (let base = 0, seq = 0; base + size <= all.length; base += size, seq++) {
    const bytes = new Uint8Array(all.subarray(base, base + size)); // a copy: owned
    pages.push(decodePage(bytes, cpu, seq, seq % 7));
  }
  return pages;
}

/** Decode `bytes` (one whole sub-buffer) as the reader loop would. */
export function decodePage(
  bytes: Uint8Array,
  cpu: number,
  seq: number,
  subbufId: number,
  emitFrom = 0,
): DecodedPage {
  const cols = new EventColumns(64);
  const where = `cpu${cpu} page ${seq}`;
  const r = decodeSubbuf(bytes, 0, bytes.length, X86_64_4K, cols, {where, emitFrom});
  if (r.error) throw r.error;
  const n = cols.length;
  return {
    cpu,
    bytes,
    columns: {
      length: n,
      tsNs: cols.tsNs.subarray(0, n),
      payloadOffset: cols.payloadOffset.subarray(0, n),
      payloadLen: cols.payloadLen.subarray(0, n),
    },
    subbufId,
    seq,
    lostBefore: r.header.lostEvents,
  };
}

/** Interleave per-CPU page lists in a random order that keeps each CPU's own order. */
export function interleave(lists: DecodedPage[][], rnd: () => number): DecodedPage[] {
  const idx = lists.map(() => 0);
  const out: DecodedPage[] = [];
  for (;;) {
    const open = lists.map((l, i) => (idx[i] < l.length ? i : -1)).filter((i) => i >= 0);
    if (open.length === 0) return out;
    const i = open[Math.floor(rnd() * open.length)];
    out.push(lists[i][idx[i]++]);
  }
}
