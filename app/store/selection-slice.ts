/**
 * What the user clicked: an event (detail panel, highlighted row, timeline cursor) or a task
 * slice. Hover is transient and lives in the canvas component, not here.
 */
import type {StateCreator} from 'zustand';
import type {AppState} from '../store.ts';

export type Selection =
  | {kind: 'event'; id: number; cpu: number; tsNs: number}
  | {kind: 'slice'; cpu: number; pid: number; startNs: number; endNs: number}
  | null;

export interface SelectionSlice {
  /** The selected event or slice; null when nothing is selected. */
  selection: Selection;
  select: (sel: Selection) => void;
  clearSelection: () => void;
}

export const createSelectionSlice: StateCreator<AppState, [], [], SelectionSlice> = (set) => ({
  selection: null,
  select: (selection) => set({selection}),
  clearSelection: () => set({selection: null}),
});
