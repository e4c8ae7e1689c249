/** React context carrying the backend and the timeline cache to components. */
import {createContext, useContext} from 'react';
import type {DashboardBackend} from './backend.ts';
import type {TimelineCache} from './timeline-cache.ts';

export interface DataContextValue {
  backend: DashboardBackend;
  cache: TimelineCache;
}

export const DataContext = createContext<DataContextValue | null>(null);

export function useData(): DataContextValue {
  const v = useContext(DataContext);
  if (!v) throw new Error('DataContext missing: render inside <DataContext value={...}>');
  return v;
}
