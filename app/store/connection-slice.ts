/**
 * Connection and source state: what the header and the empty/error states show.
 */
import type {StateCreator} from 'zustand';
import type {AppState} from '../store.ts';

export type SourceKindName = 'mmap' | 'read' | 'sim' | 'replay' | 'unknown';
export type ConnectionPhase = 'idle' | 'connecting' | 'open' | 'closed' | 'error';

/** Why there is nothing to show, each with its own advice in `EmptyState`. */
export type ProblemKind =
  | 'no-token' // the page was opened without ?token=
  | 'unauthorized' // wrong token: HTTP 401 or WS close 1008/4001
  | 'server-gone' // the socket closed / the server stopped
  | 'no-tracefs'
  | 'no-permission'
  | 'no-mmap' // kernel before 6.10: the server fell back to read()
  | 'old-kernel' // the kernel is too old for the trace source the server wanted
  | 'worker' // the worker failed to start
  | 'other';

export interface Problem {
  kind: ProblemKind;
  message: string;
}

export interface SourceInfo {
  kind: SourceKindName;
  /** tracefs instance name; '' = top level; undefined = none (sim/replay). */
  instance?: string;
  cpus: number[];
  subbufSize: number;
  nrSubbufs: number;
  traceClock: string;
  /** The server accepts control requests (start/stop tracing, clear). */
  controlAllowed: boolean;
  /** The CONTROL actions the server accepts here (HELLO server.controlActions). */
  controlActions?: string[];
  /** Why the server uses this source (HELLO sourceReason / sourceReasonCode). */
  reason?: string;
  reasonCode?: string;
  /** Tracing on/off as HELLO said it; undefined = unknown. */
  tracingOn?: boolean;
}

/** A server NOTICE as the notice area shows it. */
export interface NoticeEntry {
  /** NOTICE kind: reset, tracing-off, control-ok, control-denied, … */
  kind: string;
  text: string;
}

export interface ConnectionSlice {
  /** Lifecycle of the WebSocket as the worker reports it. */
  phase: ConnectionPhase;
  /** Set once the server described its source. */
  source: SourceInfo | null;
  /** The current blocking or non-blocking problem, if any. */
  problem: Problem | null;
  /** Notices from the source (tracing-off, reset…), newest last, at most 20. */
  notices: NoticeEntry[];
  /** Tracing on/off: HELLO, then tracing-on/-off notices and control answers; null = unknown. */
  tracingOn: boolean | null;
  /** The user closed the "why this source" explanation. */
  sourceAdviceDismissed: boolean;
  setConnecting: () => void;
  setOpen: (source: SourceInfo) => void;
  setClosed: (problem: Problem) => void;
  setProblem: (problem: Problem | null) => void;
  addNotice: (text: string, kind?: string) => void;
  setTracingOn: (on: boolean | null) => void;
  dismissSourceAdvice: () => void;
}

const MAX_NOTICES = 20;

export const createConnectionSlice: StateCreator<AppState, [], [], ConnectionSlice> = (set) => ({
  phase: 'idle',
  source: null,
  problem: null,
  notices: [],
  tracingOn: null,
  sourceAdviceDismissed: false,
  setConnecting: () => set({phase: 'connecting', problem: null}),
  setOpen: (source) =>
    set({phase: 'open', source, problem: null, tracingOn: source.tracingOn ?? null}),
  setClosed: (problem) =>
    set({phase: problem.kind === 'server-gone' ? 'closed' : 'error', problem}),
  setProblem: (problem) => set({problem}),
  addNotice: (text, kind = 'info') =>
    set((s) => ({notices: [...s.notices, {kind, text}].slice(-MAX_NOTICES)})),
  setTracingOn: (tracingOn) => set({tracingOn}),
  dismissSourceAdvice: () => set({sourceAdviceDismissed: true}),
});
