/**
 * Perf harness with the real worker (served by Vite's dev server from timeline.perf.ts): the
 * bench script hands over captured sub-buffers and their metadata; this page decodes them with
 * core's kbuffer walker, replays them in laps with shifted timestamps up to N events per CPU
 * (as worker/testing/big-trace.ts does in Node), feeds the worker through the real bridge and
 * mounts the real App. Timeline answers then come from the worker's level-of-detail queries.
 */
import {createRoot} from 'react-dom/client';
import {App} from '../App.tsx';
import {appStore} from '../store.ts';
import {DataContext} from '../data/context.ts';
import {TimelineCache} from '../data/timeline-cache.ts';
import {scheduler} from '../render/raf-scheduler.ts';
import {createWorkerBackend, openWorker} from '../worker-bridge.ts';
import {X86_64_4K, subbufSize} from '../../core/page-layout.ts';
import {EventColumns, decodeSubbuf} from '../../core/subbuffer.ts';
import type {TraceMetadata, WorkerApi} from '../../worker/api.ts';

type DecodedPage = Parameters<WorkerApi['feedPages']>[0][number];
import '../styles.css';

const remote = openWorker();
const backend = createWorkerBackend(remote);
const cache = new TimelineCache(backend);

function decodeCapture(raw: Uint8Array, cpu: number): DecodedPage[] {
  const size = subbufSize(X86_64_4K);
  const out: DecodedPage[] = [];
  for (let base = 0, seq = 0; base + size <= raw.length; base += size, seq++) {
    const bytes = raw.slice(base, base + size);
    const cols = new EventColumns(64);
    decodeSubbuf(bytes, 0, bytes.length, X86_64_4K, cols, {where: `cpu${cpu} page ${seq}`});
    const n = cols.length;
    out.push({
      cpu,
      bytes,
      columns: {
        length: n,
        tsNs: cols.tsNs.slice(0, n),
        payloadOffset: cols.payloadOffset.slice(0, n),
        payloadLen: cols.payloadLen.slice(0, n),
      },
      subbufId: seq % 7,
      seq,
      lostBefore: 0,
    });
  }
  return out;
}

/** Laps of the capture with shifted timestamps until `n` events (big-trace.ts, in the browser). */
function laps(src: DecodedPage[], cpu: number, n: number): DecodedPage[] {
  const t0 = src[0].columns.tsNs[0];
  const lastPage = src[src.length - 1].columns;
  const span = lastPage.tsNs[lastPage.length - 1] - t0 + 1000;
  const out: DecodedPage[] = [];
  let count = 0;
  let seq = 0;
  for (let lap = 0; count < n; lap++) {
    for (const p of src) {
      if (count >= n) break;
      const tsNs = new Float64Array(p.columns.length);
      for (let i = 0; i < tsNs.length; i++) tsNs[i] = p.columns.tsNs[i] - t0 + lap * span;
      out.push({...p, cpu, seq: seq++, columns: {...p.columns, tsNs}});
      count += p.columns.length;
    }
  }
  return out;
}

async function load(
  meta: TraceMetadata,
  raws: string[],
  n: number,
): Promise<{loadMs: number; events: number}> {
  const t0 = performance.now();
  await remote.setMemoryCap(2 * 1024 * 1024 * 1024);
  await remote.loadMetadata(meta);
  const pages = raws.map((b64, cpu) =>
    laps(
      decodeCapture(
        Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)),
        cpu,
      ),
      cpu,
      n,
    ),
  );
  // One message per CPU: structured clone keeps the shared page bytes shared.
  for (const p of pages) await remote.feedPages(p, false);
  await remote.feedPages([], true);
  const s = await backend.stats();
  const st = appStore.getState();
  st.setOpen({
    kind: 'replay',
    cpus: meta.cpus,
    subbufSize: 4096,
    nrSubbufs: 0,
    traceClock: 'local',
    controlAllowed: false,
  });
  st.setStats(s.cpuStats, s.window, Date.now());
  st.setDataVersion(s.dataVersion);
  if (s.dataRange) st.setDataRange(s.dataRange);
  return {loadMs: performance.now() - t0, events: s.window.events};
}

// The bench script reads these (timeline.perf.ts).
(window as unknown as {__bench: unknown}).__bench = {store: appStore, scheduler, cache, load};

createRoot(document.getElementById('root')!).render(
  <DataContext value={{backend, cache}}>
    <App />
  </DataContext>,
);
