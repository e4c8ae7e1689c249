/** Entry: open the worker, start the controller, render. */
import {StrictMode} from 'react';
import {createRoot} from 'react-dom/client';
import {App} from './App.tsx';
import {appStore} from './store.ts';
import {DataContext} from './data/context.ts';
import {DashboardController} from './data/controller.ts';
import {TimelineCache} from './data/timeline-cache.ts';
import {createWorkerBackend} from './worker-bridge.ts';
import './styles.css';

const backend = createWorkerBackend();
const cache = new TimelineCache(backend);
const controller = new DashboardController(appStore, backend, cache);
void controller.start(window.location);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <DataContext value={{backend, cache}}>
      <App />
    </DataContext>
  </StrictMode>,
);
