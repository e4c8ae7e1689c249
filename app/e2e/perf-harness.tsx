/**
 * Perf harness page (served by Vite's dev server from timeline.perf.ts, never built into dist/):
 * the real App and canvases over a synthetic backend of `?cpus=`×`?n=` events, so frame times
 * measure the main-thread pan/zoom path alone. Exposes the store and scheduler on window.
 */
import {createRoot} from 'react-dom/client';
import {App} from '../App.tsx';
import {appStore} from '../store.ts';
import {DataContext} from '../data/context.ts';
import {DashboardController} from '../data/controller.ts';
import {TimelineCache} from '../data/timeline-cache.ts';
import {scheduler} from '../render/raf-scheduler.ts';
import {createSyntheticBackend} from '../testing/synthetic-backend.ts';
import '../styles.css';

const params = new URLSearchParams(location.search);
const n = Number(params.get('n') ?? 2_000_000);
const cpus = Number(params.get('cpus') ?? 2);
const t0 = performance.now();
const backend = createSyntheticBackend(cpus, n, 10e9);
const buildMs = performance.now() - t0;
const cache = new TimelineCache(backend);
void new DashboardController(appStore, backend, cache).start({
  protocol: 'http:',
  host: location.host,
  search: '?token=bench',
});

// The bench script reads these (timeline.perf.ts).
(window as unknown as {__bench: unknown}).__bench = {store: appStore, scheduler, cache, buildMs, n};

createRoot(document.getElementById('root')!).render(
  <DataContext value={{backend, cache}}>
    <App />
  </DataContext>,
);
