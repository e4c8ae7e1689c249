/**
 * Event-list filters and list follow. Filters are sent to the worker as-is; they are small and
 * serialisable, so changing one is a store update and a new query, nothing else.
 */
import type {StateCreator} from 'zustand';
import type {AppState} from '../store.ts';

export interface EventFilters {
  /** Only these CPUs; empty = all. */
  cpus: number[];
  /** Only these event names; empty = all. */
  events: string[];
  /** A pid (digits) or a comm substring; '' = any. */
  task: string;
  /** Substring of the rendered line; '' = any. */
  text: string;
}

export const NO_FILTERS: EventFilters = {cpus: [], events: [], task: '', text: ''};

export interface FilterSlice {
  /** Current event-list filters. */
  filters: EventFilters;
  /** The list sticks to the newest events (scrolling up turns this off). */
  listFollow: boolean;
  setFilters: (patch: Partial<EventFilters>) => void;
  toggleCpuFilter: (cpu: number) => void;
  resetFilters: () => void;
  setListFollow: (on: boolean) => void;
}

export const createFilterSlice: StateCreator<AppState, [], [], FilterSlice> = (set) => ({
  filters: NO_FILTERS,
  listFollow: true,
  setFilters: (patch) => set((s) => ({filters: {...s.filters, ...patch}})),
  toggleCpuFilter: (cpu) =>
    set((s) => {
      const has = s.filters.cpus.includes(cpu);
      const cpus = has
        ? s.filters.cpus.filter((c) => c !== cpu)
        : [...s.filters.cpus, cpu].sort((a, b) => a - b);
      return {filters: {...s.filters, cpus}};
    }),
  resetFilters: () => set({filters: NO_FILTERS}),
  setListFollow: (listFollow) => set({listFollow}),
});
