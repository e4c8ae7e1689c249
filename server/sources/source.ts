/**
 * The one interface every trace source implements (mmap, read, sim, replay).
 *
 * A source is *pulled*: the server calls `read()` only while some client holds credits, so with
 * no client the kernel buffer keeps its newest data (architecture.md, back-pressure policy).
 * `read()` never blocks; `wait()` resolves when new data may be there, without spinning.
 *
 * What a source emits is raw: sub-buffer bytes exactly as the kernel laid them out, and the
 * 80-byte meta page exactly as the kernel wrote it.
 */

export type SourceKind = 'mmap' | 'read' | 'sim' | 'replay';

/** One delivery of new records from one sub-buffer. */
export interface SubbufSlice {
  cpu: number;
  /** Kernel sub-buffer id (meta `reader.id`); -1 where the source has none (read()). */
  subbufId: number;
  /** Per-CPU slice counter assigned by the source, starting at 0; never reused. */
  seq: number;
  /**
   * The sub-buffer from its first byte (header included) to the end of committed data, plus the
   * stored lost-event count when the MISSED_STORED flag is set: exactly as in kernel memory.
   * Owned by the receiver (a copy, never a view into the live mapping).
   */
  bytes: Uint8Array;
  /**
   * Data-relative offset (0 = first record) where the new records start. Records below `from`
   * were delivered in an earlier slice or consumed before this source started; a decoder walks
   * them only to accumulate timestamps.
   */
  from: number;
}

/** The meta page as the kernel wrote it at `timeMs` (Date.now()). Absent for read()/replay. */
export interface MetaSnapshot {
  cpu: number;
  timeMs: number;
  /** `meta_struct_len` bytes (80) copied from the mapping. */
  bytes: Uint8Array;
}

export interface EventFormatText {
  system: string;
  name: string;
  /** The `format` file, verbatim. */
  text: string;
}

/** Everything a decoder needs, sent once per connection and again when it changes. */
export interface SourceMetadata {
  kind: SourceKind;
  /** tracefs instance name, '' for the top level, undefined where there is none. */
  instance?: string;
  cpus: number[];
  subbufSize: number;
  /** Sub-buffers per CPU (reader included); 0 where unknown. */
  nrSubbufs: number;
  littleEndian: boolean;
  headerPage: string;
  headerEvent: string;
  formats: EventFormatText[];
  /** `saved_cmdlines` text ("<pid> <comm>\n" lines). */
  savedCmdlines: string;
  /** The selected trace clock, e.g. 'local'. */
  traceClock: string;
  /** Big tables: filled only when asked for (`includeSymbols`). */
  kallsyms?: string;
  printkFormats?: string;
  /**
   * The meta page of each CPU as first mapped at open(), before any read: the baseline of the
   * cumulative counters. In attach mode (`instance`) the buffer may already have overrun; a
   * client that sees the stream from seq 0 counts overrun from here, not from 0. Absent where
   * there is no meta page (read, replay) or the source does not say.
   */
  baselineMetas?: MetaSnapshot[];
  /** tracing_on of the instance now; absent where unknown. */
  tracingOn?: boolean;
}

/** Something the source noticed that clients must be told about. */
export interface SourceNotice {
  kind:
    | 'reset' // the buffer was reset (counters went down); per-CPU position re-synced
    | 'tracing-off' // tracing_on became 0
    | 'tracing-on'
    | 'instance-gone' // the tracefs instance was removed from outside
    | 'metadata-changed' // formats/cmdlines changed: call metadata() again
    | 'error' // a recoverable error, counted and reported
    | 'end'; // a finite source (replay) has nothing more
  cpu?: number;
  message: string;
}

export interface SourceBatch {
  slices: SubbufSlice[];
  metas: MetaSnapshot[];
  notices: SourceNotice[];
  /**
   * CPUs this read took everything from: every event committed before the read started was
   * delivered (in this batch or earlier). Lets clients merge CPUs by timestamp without guessing
   * (CAUGHT_UP frame). Absent where the source cannot tell (sim, replay).
   */
  caughtUp?: number[];
}

/** A CONTROL request as the fan-out hands it to a source (validated there: see control.ts). */
export interface SourceControlRequest {
  action: string;
  args: Record<string, unknown>;
}

/** What a control action did, in one line for the NOTICE. */
export interface SourceControlResult {
  ok: boolean;
  message: string;
  /** Events changed: the fan-out re-sends METADATA with a new generation. */
  metadataChanged?: boolean;
}

export interface SourceOpenOptions {
  includeSymbols?: boolean;
}

export interface TraceSource {
  readonly kind: SourceKind;
  /** Set up (create instance, map buffers…) and describe the stream. */
  open(options?: SourceOpenOptions): Promise<SourceMetadata>;
  /** Current metadata (after a 'metadata-changed' notice). */
  metadata(options?: SourceOpenOptions): Promise<SourceMetadata>;
  /**
   * Take what is new now, at most `maxSlices` slices, without blocking. May perform reader swaps
   * (destructive: the caller must deliver or account for everything returned).
   */
  read(maxSlices: number): SourceBatch;
  /** Resolves when new data may be available, or after `timeoutMs`; never spins. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** Undo everything open() did (unmap, close, remove own instance). Idempotent. */
  close(): Promise<void>;
  /**
   * Optional: what CONTROL may do here. `undefined`/[] = nothing (e.g. top level, replay).
   * `attachedAllowed` is `--allow-control-attached`: an attached named instance may be changed.
   */
  controlActions?(attachedAllowed: boolean): string[];
  /** Optional: run one allowed control action (never called for an action not listed above). */
  control?(req: SourceControlRequest): Promise<SourceControlResult>;
  /**
   * Optional, non-destructive: look at tracing_on / the instance without reading data, for
   * notices while no client holds credits (the fan-out calls it about every 250 ms when idle).
   */
  pollNotices?(): SourceNotice[];
}

/** How `serve` and `tail` ask for a source (CLI flags of the same names). */
export interface SourceOptions {
  source: 'auto' | SourceKind;
  /** trace.dat file for `replay`. */
  replayFile?: string;
  /** Replay speed: 1 = real time, N = N times faster, 0 = as fast as the client takes. */
  speed?: number;
  /** Attach to this existing instance without changing it ('' = top level, explicit). */
  instance?: string;
  /** trace-cmd event syntax: 'sched', 'sched:sched_switch', 'sched/sched_switch', 'all'. */
  events: string[];
  bufferKb?: number;
  subbufKb?: number;
  /** Trace clock for an own instance (e.g. 'mono'); the kernel default ('local') otherwise. */
  traceClock?: string;
  /** Seed for the sim source (deterministic). */
  seed?: number;
  /**
   * Own instance: also trace the server's own threads (`--no-self-filter`). By default they are
   * kept out (set_event_notrace_pid, see tracefs/self-filter.ts), as trace-cmd record does.
   */
  traceSelf?: boolean;
  /** Log line sink for "using X because Y" messages. */
  log?: (line: string) => void;
}
