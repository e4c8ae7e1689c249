/**
 * The app store: zustand slices combined (zustand "slices pattern"). `createAppStore()` makes a
 * fresh vanilla store (tests make their own); the page uses the `appStore` singleton through
 * `useAppStore(selector)`, and canvases use `appStore.subscribe` to request frames without
 * re-rendering React (transient updates).
 */
import {useStore} from 'zustand';
import {createStore} from 'zustand/vanilla';
import {createConnectionSlice, type ConnectionSlice} from './store/connection-slice.ts';
import {createFilterSlice, type FilterSlice} from './store/filter-slice.ts';
import {createSelectionSlice, type SelectionSlice} from './store/selection-slice.ts';
import {createStatsSlice, type StatsSlice} from './store/stats-slice.ts';
import {createViewportSlice, type ViewportSlice} from './store/viewport-slice.ts';

export type AppState = ConnectionSlice & ViewportSlice & SelectionSlice & FilterSlice & StatsSlice;

export function createAppStore() {
  return createStore<AppState>()((...a) => ({
    ...createConnectionSlice(...a),
    ...createViewportSlice(...a),
    ...createSelectionSlice(...a),
    ...createFilterSlice(...a),
    ...createStatsSlice(...a),
  }));
}

export type AppStore = ReturnType<typeof createAppStore>;

export const appStore: AppStore = createAppStore();

export function useAppStore<T>(selector: (s: AppState) => T): T {
  return useStore(appStore, selector);
}
