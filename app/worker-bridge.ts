/**
 * The one place the app opens the worker. Everything else talks to `DashboardBackend`.
 * Vite bundles `worker/index.ts` as an ES-module worker (vite.config.ts: worker.format 'es').
 */
import {wrap, type Remote} from 'comlink';
import type {WorkerApi} from '../worker/api.ts';
import {WorkerBackend} from './data/worker-backend.ts';

export function openWorker(): Remote<WorkerApi> {
  return wrap<WorkerApi>(
    new Worker(new URL('../worker/index.ts', import.meta.url), {type: 'module'}),
  );
}

export function createWorkerBackend(api: Remote<WorkerApi> = openWorker()): WorkerBackend {
  return new WorkerBackend(api);
}
