/**
 * The Web Worker entry: expose the one API (api.ts) through comlink, with the WebSocket in a
 * relay worker. Nothing else lives here; the app opens this file in `app/worker-bridge.ts` and
 * imports only `type WorkerApi`.
 */
import {expose} from 'comlink';
import {createWorkerApi, type WorkerApi} from './api.ts';
import {relayWebSocket, type RelayPort} from './socket-relay.ts';

/**
 * The socket lives in a worker of its own where the browser has nested workers (socket-relay.ts:
 * `bench painted` heavy, five alternating runs each: the worker heard new data after p50
 * 33–55 ms instead of 61–292 ms); elsewhere the worker opens it itself.
 */
const relay =
  typeof Worker === 'function'
    ? relayWebSocket(
        () =>
          new Worker(new URL('./socket-relay-worker.ts', import.meta.url), {
            type: 'module',
          }) as unknown as RelayPort,
      )
    : undefined;

const api: WorkerApi = createWorkerApi({WebSocket: relay});

export type {WorkerApi};

expose(api);
