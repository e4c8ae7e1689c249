/**
 * The Web Worker entry: expose the one API (api.ts) through comlink. Nothing else lives here;
 * the app opens this file in `app/worker-bridge.ts` and imports only `type WorkerApi`.
 */
import {expose} from 'comlink';
import {createWorkerApi, type WorkerApi} from './api.ts';

const api: WorkerApi = createWorkerApi();

export type {WorkerApi};

expose(api);
