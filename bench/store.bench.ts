/**
 * Memory of the worker's event store (worker/event-store.ts): bytes per event (page bytes kept
 * whole + columns) and how many events a 256 MiB window holds, fed with the real captured
 * sub-buffers (core/testing/fixtures/captures) replayed until the window is full and evicting.
 * Each replay round shifts the page header timestamps, so pages are new pages to the store.
 * Reference printed as a ratio: the raw ring-buffer bytes per event (what a trace.dat holds,
 * uncompressed), i.e. what the columns add on top of keeping the kernel's bytes.
 *
 * npm run bench store [--cap-mib N]
 */
import {readFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {X86_64_4K} from '../core/page-layout.ts';
import {EventColumns, decodeSubbuf} from '../core/subbuffer.ts';
import {EventStore} from '../worker/event-store.ts';

const CAPTURES = fileURLToPath(new URL('../core/testing/fixtures/captures/', import.meta.url));
const SETS: Record<string, string[]> = {
  'mixed (sched, irq, timer, syscalls…)': ['mixed-cpu0.raw', 'mixed-cpu1.raw'],
  'markers (raw_data, 12-byte payload)': ['markers-cpu1.raw'],
  sparse: ['sparse-cpu0.raw', 'sparse-cpu1.raw'],
};
const PAGE = 4096;

function fill(files: string[], capBytes: number) {
  const store = new EventStore({memoryCapBytes: capBytes});
  const pages = files.flatMap((f, cpu) => {
    const buf = new Uint8Array(readFileSync(CAPTURES + f));
    const out: {cpu: number; bytes: Uint8Array}[] = [];
    for (let off = 0; off + PAGE <= buf.length; off += PAGE)
      out.push({cpu, bytes: buf.slice(off, off + PAGE)});
    return out;
  });
  const cols = new EventColumns(4096);
  let rawBytes = 0;
  let rawEvents = 0;
  let seq = 0;
  let round = 0;
  const t0 = performance.now();
  // Replay until the window has evicted at least one full window's worth (steady state).
  while (store.evicted.bytes < capBytes && round < 100_000) {
    // Shift time by 10 s a round: later than every event of the previous round.
    const shiftNs = BigInt(round) * 10_000_000_000n;
    for (const p of pages) {
      const bytes = p.bytes.slice();
      const dv = new DataView(bytes.buffer);
      dv.setBigUint64(0, dv.getBigUint64(0, true) + shiftNs, true);
      cols.clear();
      decodeSubbuf(bytes, 0, bytes.length, X86_64_4K, cols);
      const commit = Number(dv.getBigUint64(8, true) & 0xfffffn);
      rawBytes += commit;
      rawEvents += cols.length;
      store.handlePage({cpu: p.cpu, bytes, columns: cols, subbufId: -1, seq: seq++, lostBefore: 0});
    }
    round++;
  }
  const seconds = (performance.now() - t0) / 1000;
  const n = store.eventCount;
  return {
    capBytes,
    eventsInWindow: n,
    liveBytes: store.liveBytes,
    pageBytes: store.pageBytes,
    columnBytes: store.columnBytes,
    bytesPerEvent: store.liveBytes / n,
    pageBytesPerEvent: store.pageBytes / n,
    columnBytesPerEvent: store.columnBytes / n,
    rawBytesPerEvent: rawBytes / rawEvents,
    fedEvents: rawEvents,
    fedEventsPerS: rawEvents / seconds,
    rounds: round,
  };
}

export const storeBench = {
  describe: 'worker event store: bytes per event and events in a 256 MiB window (real captures)',
  async run(args: string[]) {
    const i = args.indexOf('--cap-mib');
    const capMiB = Number(i >= 0 ? args[i + 1] : 256);
    const results: Record<string, ReturnType<typeof fill>> = {};
    console.log(`window cap ${capMiB} MiB; fed until a whole window was evicted`);
    console.log(
      'capture set                              B/event  (pages + columns)  raw kernel B/event  ratio   events in window   fed/s',
    );
    for (const [name, files] of Object.entries(SETS)) {
      const r = fill(files, capMiB * 1024 * 1024);
      results[name] = r;
      console.log(
        `${name.padEnd(40)} ${r.bytesPerEvent.toFixed(1).padStart(7)}  (${r.pageBytesPerEvent.toFixed(1)} + ${r.columnBytesPerEvent.toFixed(1)})` +
          `${r.rawBytesPerEvent.toFixed(1).padStart(16)}    ${(r.bytesPerEvent / r.rawBytesPerEvent).toFixed(2)}x ${(r.eventsInWindow / 1e6).toFixed(2).padStart(10)} M ${(r.fedEventsPerS / 1e6).toFixed(1).padStart(8)} M`,
      );
    }
    return {capMiB, results};
  },
};
