/**
 * Decode benchmark: the core sub-buffer decoder filling typed-array columns, side by side with
 * libtraceevent's kbuffer walk in C (bench/c/kbuffer-walk.c, built here with cc -O2), over the real
 * captured sub-buffers. Both read every event's timestamp and common_pid; checksums must agree.
 */
import {execFileSync} from 'node:child_process';
import {mkdirSync, readFileSync} from 'node:fs';
import {cpus} from 'node:os';
import {fileURLToPath} from 'node:url';
import {X86_64_4K} from '../core/page-layout.ts';
import {EventColumns, decodeSubbuf} from '../core/subbuffer.ts';

const CAPTURES = fileURLToPath(new URL('../core/testing/fixtures/captures/', import.meta.url));
const FILES = [
  'mixed-cpu0.raw',
  'mixed-cpu1.raw',
  'markers-cpu1.raw',
  'sparse-cpu0.raw',
  'sparse-cpu1.raw',
];

function buildC(): string {
  const out = fileURLToPath(new URL('./build/', import.meta.url));
  mkdirSync(out, {recursive: true});
  const bin = `${out}kbuffer-walk`;
  const src = fileURLToPath(new URL('./c/kbuffer-walk.c', import.meta.url));
  execFileSync('cc', ['-O2', '-o', bin, src, '-ltraceevent']);
  return bin;
}

function runTs(rounds: number) {
  const bufs = FILES.map((f) => new Uint8Array(readFileSync(CAPTURES + f)));
  const cols = new EventColumns(1 << 16);
  let events = 0;
  let txor = 0;
  let psum = 0;
  let bytes = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (const buf of bufs) {
      const view = new DataView(buf.buffer, buf.byteOffset);
      bytes += buf.length;
      for (let off = 0; off + 4096 <= buf.length; off += 4096) {
        cols.clear();
        decodeSubbuf(buf, off, 4096, X86_64_4K, cols);
        const ts = cols.tsNs;
        const po = cols.payloadOffset;
        for (let i = 0; i < cols.length; i++) {
          txor ^= ts[i]; // ToInt32: exact modulo 2^32 for integers below 2^53
          psum += view.getInt32(po[i] + 4, true);
        }
        events += cols.length;
      }
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return {events, seconds, bytes, txor: txor >>> 0, psum};
}

export const decodeBench = {
  describe: 'core sub-buffer decoder vs libtraceevent kbuffer (C) over the real captures',
  async run(args: string[]) {
    const rounds = Number(args[0] ?? 60);
    const bin = buildC();
    runTs(3); // warm up the JIT
    const results: Record<
      string,
      {events: number; seconds: number; bytes: number; txor: number; psum: number}
    > = {};
    // Alternate runs so machine noise hits both sides alike; keep each side's best.
    for (let i = 0; i < 3; i++) {
      const c = JSON.parse(
        execFileSync(bin, [String(rounds), ...FILES.map((f) => CAPTURES + f)], {encoding: 'utf8'}),
      );
      const t = runTs(rounds);
      if (!results.c || c.seconds < results.c.seconds) results.c = c;
      if (!results.ts || t.seconds < results.ts.seconds) results.ts = t;
    }
    const c = results.c;
    const t = results.ts;
    if (c.events !== t.events || c.txor !== t.txor || c.psum !== t.psum) {
      throw new Error(`decoders disagree: C ${JSON.stringify(c)} vs TS ${JSON.stringify(t)}`);
    }
    const rate = (r: typeof c) => r.events / r.seconds;
    const mbs = (r: typeof c) => r.bytes / r.seconds / 1e6;
    console.log(`machine: ${cpus()[0]?.model ?? '?'} x${cpus().length}, node ${process.version}`);
    console.log(`events per round: ${c.events / rounds}, rounds: ${rounds}, checksums agree`);
    console.log(
      `libtraceevent kbuffer (C -O2): ${(rate(c) / 1e6).toFixed(1)} M events/s, ${mbs(c).toFixed(0)} MB/s`,
    );
    console.log(
      `ringside core decoder (TS):    ${(rate(t) / 1e6).toFixed(1)} M events/s, ${mbs(t).toFixed(0)} MB/s`,
    );
    console.log(`ratio ringside / libtraceevent: ${(rate(t) / rate(c)).toFixed(2)}x`);
    return {rounds, c, ts: t, ratio: rate(t) / rate(c)};
  },
};
