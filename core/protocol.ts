/**
 * The Ringside wire protocol: the one place the format of every WebSocket message lives.
 * docs/protocol.md is the prose version of this file; change both together.
 *
 * One WebSocket message = one frame, or, for a client that asked for it in HELLO_ACK
 * (`multiFrame`, added in v1), one or more whole frames back to back (the server sends all the
 * frames of one read as one message). Every frame starts with the same 8-byte header and its
 * total length is a multiple of 8, so frames are self-delimiting: they can be concatenated in a
 * message or on a byte stream (core/framing.ts), and the raw kernel bytes inside a SUBBUF frame
 * always start 8-byte aligned.
 *
 *   0        1         2             4                        8
 *   ┌────────┬─────────┬─────────────┬────────────────────────┐
 *   │ u8 type│ u8 vers │ u16 flags=0 │ u32 frameBytes (÷8)    │ body … zero padding to ÷8
 *   └────────┴─────────┴─────────────┴────────────────────────┘
 *
 * All header and body numbers are little-endian, whatever the kernel's byte order. The kernel
 * bytes inside SUBBUF and META are untouched (kernel order; HELLO says which).
 * Hot path (SUBBUF, META, GAP, CREDIT) is fixed binary; cold path (HELLO, METADATA, STATS,
 * HELLO_ACK, CONTROL) is a length-prefixed UTF-8 JSON body.
 *
 * Versioning: `version` is PROTOCOL_VERSION of the sender. Fields added later say
 * `// Added in vN`; a decoder rejects frames from a newer major version it does not know.
 */

import {encodeUtf8} from './protocol-text.ts';

export const PROTOCOL_VERSION = 1;
export const FRAME_HEADER_BYTES = 8;
export const FRAME_ALIGN = 8;

/** Largest server→client frame: METADATA with kallsyms can be ~10 MB on big kernels. */
export const MAX_SERVER_FRAME_BYTES = 64 * 1024 * 1024;
/** Largest client→server frame (the server's WebSocket `maxPayload`). */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
/**
 * Most bytes the server puts in one multi-frame message (a single larger frame still goes alone).
 * Added in v1.
 */
export const MAX_MULTI_FRAME_MESSAGE_BYTES = 1 << 20;
/** The kernel caps sub-buffers at 1 MiB (RB_WRITE_MASK + 1, kernel-abi.md §3.6). */
export const MAX_SUBBUF_BYTES = 1 << 20;
/** Meta page copies: 80 bytes today (52 for the ILP32 seed RFC); room for growth. */
export const MAX_META_BYTES = 4096;
export const MAX_CPUS = 65536;
/** Sequence numbers are float64 integers, exact below 2^53. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export const FrameType = {
  // server → client
  HELLO: 1,
  METADATA: 2,
  SUBBUF: 3,
  META: 4,
  GAP: 5,
  NOTICE: 6,
  STATS: 7,
  /** Added in v1: which CPUs a read drained completely (tail ordering, docs/protocol.md). */
  CAUGHT_UP: 8,
  // client → server
  CREDIT: 16,
  HELLO_ACK: 17,
  CONTROL: 18,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

/** SUBBUF body: cpu u32 @8, subbufId i32 @12, seq f64 @16, from u32 @24, byteLength u32 @28. */
export const SUBBUF_HEADER_BYTES = 32;
/** META body: cpu u32 @8, metaBytes u32 @12, timeMs f64 @16, raw meta page @24. */
export const META_HEADER_BYTES = 24;
/** GAP: cpu u32 @8, reason u32 @12, firstSeq f64 @16, lastSeq f64 @24, slices f64 @32, bytes f64 @40. */
export const GAP_FRAME_BYTES = 48;
/** NOTICE: kind u8 @8, 3 zero bytes, cpu i32 @12, messageBytes u32 @16, 0 u32 @20, UTF-8 @24. */
export const NOTICE_HEADER_BYTES = 24;
/** CREDIT: frames u32 @8, 0 u32 @12, bytes f64 @16. */
export const CREDIT_FRAME_BYTES = 24;
/** CAUGHT_UP: count u32 @8, 0 u32 @12, u32 cpus[count] @16. Added in v1. */
export const CAUGHT_UP_HEADER_BYTES = 16;
/** JSON frames: jsonBytes u32 @8, 0 u32 @12, UTF-8 JSON @16. */
export const JSON_HEADER_BYTES = 16;

export type WireSourceKind = 'mmap' | 'read' | 'sim' | 'replay';
export const WIRE_SOURCE_KINDS: readonly WireSourceKind[] = ['mmap', 'read', 'sim', 'replay'];

/** Why a client missed slices. Codes are wire values. */
export const GapReason = {
  /** The client's bounded queue was full (it took less than the fastest client). */
  SLOW_CLIENT: 1,
  /** The server could not encode or send the slice to this client. */
  SERVER_ERROR: 2,
} as const;
export type GapReasonCode = (typeof GapReason)[keyof typeof GapReason];

/** NOTICE kinds: the source notices (server/sources/source.ts) plus protocol-level ones. */
export const NOTICE_KINDS = [
  'reset',
  'tracing-off',
  'tracing-on',
  'instance-gone',
  'metadata-changed',
  'error',
  'end',
  'control-denied',
  'server-shutdown',
  // Added in v1 (appended: the index is the wire value).
  'control-ok',
  'control-failed',
] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

// ---- JSON bodies (cold path) ------------------------------------------------------------------

/**
 * Why the server uses the source it uses (createSource): `ok` auto found the real thing (mmap),
 * `explicit` the user asked for this kind, the rest say why auto fell back. Added in v1.
 */
export type SourceReasonCode =
  'ok' | 'explicit' | 'no-tracefs' | 'no-permission' | 'old-kernel' | 'no-mmap';
export const SOURCE_REASON_CODES: readonly SourceReasonCode[] = [
  'ok',
  'explicit',
  'no-tracefs',
  'no-permission',
  'old-kernel',
  'no-mmap',
];

/** The meta page of one CPU as first mapped at open() (hex of the raw bytes). Added in v1. */
export interface WireBaselineMeta {
  cpu: number;
  timeMs: number;
  /** The raw meta page (80 bytes, kernel byte order) as lower-case hex. */
  hex: string;
}

/** CONTROL actions the server implements (answered by NOTICE control-ok/-denied/-failed). */
export const CONTROL_ACTIONS = [
  'enable-event',
  'disable-event',
  'tracing-on',
  'tracing-off',
  'clear',
  'buffer-size',
] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

/** First frame on every connection. Token-free: nothing here grants access. */
export interface HelloInfo {
  protocol: number;
  /** Random per server run; per-CPU `seq` values are comparable only within one session. */
  sessionId: string;
  source: WireSourceKind;
  /** tracefs instance name, '' for the top level, absent where there is none. */
  instance?: string;
  cpus: number[];
  subbufSize: number;
  /** Sub-buffers per CPU, reader included; 0 where unknown (read/replay). */
  nrSubbufs: number;
  traceClock: string;
  /** Byte order of the kernel bytes in SUBBUF/META. */
  littleEndian: boolean;
  /**
   * Added in v1. Meta page per CPU as the source first mapped it at open(): the baseline of the
   * cumulative counters (overrun…) for a client that sees the stream from seq 0. Absent where
   * the source has no meta page (read, replay) or does not say (sim).
   */
  baselineMetas?: WireBaselineMeta[];
  /** Added in v1. createSource's one-line reason, e.g. "mmap: tracefs at …, kernel 6.18". */
  sourceReason?: string;
  /** Added in v1. Machine-readable form of sourceReason (which empty state the UI shows). */
  sourceReasonCode?: SourceReasonCode;
  /** Added in v1. tracing_on of the instance when this HELLO was made; absent where unknown. */
  tracingOn?: boolean;
  server: {
    name: string;
    version: string;
    /**
     * Whether CONTROL frames are honoured: `--allow-control` and a controllable source (own
     * instance; an attached named instance only with `--allow-control-attached`; never the top
     * level).
     */
    allowControl: boolean;
    /** Added in v1. The actions CONTROL accepts here ([] when allowControl is false). */
    controlActions?: string[];
    /** Frames the server queues per client at most before it drops and sends GAP. */
    windowFrames: number;
  };
}

export interface WireEventFormat {
  system: string;
  name: string;
  text: string;
}

/** Everything a decoder needs; sent after HELLO_ACK and again when it changes. */
export interface WireMetadata {
  /** Increases each time the server sends changed metadata. */
  generation: number;
  headerPage: string;
  headerEvent: string;
  formats: WireEventFormat[];
  savedCmdlines: string;
  traceClock: string;
  kallsyms?: string;
  printkFormats?: string;
}

/** Client options, sent once in answer to HELLO; data flows only after it. */
export interface HelloAck {
  protocol: number;
  /** Ask for kallsyms and printk formats in METADATA (big). */
  includeSymbols?: boolean;
  /** Free text for logs, e.g. 'ringside-tail'. */
  client?: string;
  /**
   * Added in v1. The client splits messages into frames (core/framing.ts), so the server may put
   * several whole frames in one message (at most MAX_MULTI_FRAME_MESSAGE_BYTES unless one frame
   * is larger). Without it every message is exactly one frame.
   */
  multiFrame?: boolean;
  /**
   * Added in v1. Only these CPUs' data: the server sends no SUBBUF, META or GAP frame of any
   * other CPU (HELLO still lists them all; CAUGHT_UP is sent whole). Absent: every CPU. For a
   * client that shows a few CPUs of a big machine, or a reference consumer that must cost the
   * machine as little as possible (bench painted).
   */
  cpus?: number[];
}

/**
 * One control action (docs/protocol.md lists them and their args). `id` (added in v1) is echoed
 * at the start of the answering NOTICE's message as `#id `, so a client can match answers.
 */
export interface ControlRequest {
  action: string;
  args?: Record<string, unknown>;
  id?: string;
}

/** Server-side counters, sent about once a second. */
export interface ServerStats {
  timeMs: number;
  clients: number;
  /** Source reads done / skipped because no client held credits. */
  sourceReads: number;
  slicesRead: number;
  bytesRead: number;
  metasRead: number;
  /** This connection. */
  client: {
    framesSent: number;
    bytesSent: number;
    credits: number;
    queuedFrames: number;
    queuedBytes: number;
    gapSlices: number;
    gapBytes: number;
    bufferedAmount: number;
  };
}

// ---- decoded frames ---------------------------------------------------------------------------

export interface SubbufFrame {
  type: typeof FrameType.SUBBUF;
  cpu: number;
  /** Kernel sub-buffer id; -1 where the source has none (read()). */
  subbufId: number;
  /** Per-CPU slice counter from the source; consecutive unless a GAP says otherwise. */
  seq: number;
  /** Data-relative offset where the new records start (decodeSubbuf emitFrom). */
  from: number;
  /** Raw sub-buffer bytes (a view into the received message; zero-copy). */
  bytes: Uint8Array;
}

export interface MetaFrame {
  type: typeof FrameType.META;
  cpu: number;
  timeMs: number;
  /** The raw meta page, kernel byte order. */
  bytes: Uint8Array;
}

export interface GapFrame {
  type: typeof FrameType.GAP;
  cpu: number;
  reason: GapReasonCode;
  firstSeq: number;
  lastSeq: number;
  slices: number;
  bytes: number;
}

export interface NoticeFrame {
  type: typeof FrameType.NOTICE;
  kind: NoticeKind;
  /** -1 when the notice is not about one CPU. */
  cpu: number;
  message: string;
}

/** Added in v1. The CPUs the source read to the end in its last read (see protocol.md). */
export interface CaughtUpFrame {
  type: typeof FrameType.CAUGHT_UP;
  cpus: number[];
}

export interface HelloFrame {
  type: typeof FrameType.HELLO;
  hello: HelloInfo;
}
export interface MetadataFrame {
  type: typeof FrameType.METADATA;
  metadata: WireMetadata;
}
export interface StatsFrame {
  type: typeof FrameType.STATS;
  stats: ServerStats;
}
export interface CreditFrame {
  type: typeof FrameType.CREDIT;
  /** Additional data frames (SUBBUF + META) the client can take. */
  frames: number;
  /** Additional bytes of data frames; a frame may overdraw by its own size once. */
  bytes: number;
}
export interface HelloAckFrame {
  type: typeof FrameType.HELLO_ACK;
  ack: HelloAck;
}
export interface ControlFrame {
  type: typeof FrameType.CONTROL;
  control: ControlRequest;
}

export type ServerFrame =
  | HelloFrame
  | MetadataFrame
  | SubbufFrame
  | MetaFrame
  | GapFrame
  | NoticeFrame
  | StatsFrame
  | CaughtUpFrame;
export type ClientFrame = CreditFrame | HelloAckFrame | ControlFrame;
export type Frame = ServerFrame | ClientFrame;

export function align8(n: number): number {
  return (n + 7) & ~7;
}

// ---- encoders (server and client both import these) ------------------------------------------

function frame(type: FrameTypeCode, totalBytes: number): {out: Uint8Array; view: DataView} {
  return frameAt(new Uint8Array(align8(totalBytes)), 0, type, totalBytes);
}

/**
 * A frame of `totalBytes` (before padding) at byte `at` of `buf`, which must be zero there (a new
 * buffer is): the header written, the rest for the caller. Lets the server lay out all the frames
 * of one read in one buffer (one multi-frame message, no copy per frame).
 */
function frameAt(
  buf: Uint8Array,
  at: number,
  type: FrameTypeCode,
  totalBytes: number,
): {out: Uint8Array; view: DataView} {
  const len = align8(totalBytes);
  const out = buf.subarray(at, at + len);
  const view = new DataView(out.buffer, out.byteOffset, len);
  view.setUint8(0, type);
  view.setUint8(1, PROTOCOL_VERSION);
  view.setUint32(4, len, true);
  return {out, view};
}

/** Bytes of a SUBBUF frame carrying `n` bytes. */
export const subbufFrameBytes = (n: number): number => align8(SUBBUF_HEADER_BYTES + n);
/** Bytes of a META frame carrying an `n`-byte meta page. */
export const metaFrameBytes = (n: number): number => align8(META_HEADER_BYTES + n);
/** Bytes of a CAUGHT_UP frame listing `n` CPUs. */
export const caughtUpFrameBytes = (n: number): number => align8(CAUGHT_UP_HEADER_BYTES + 4 * n);

/** One SUBBUF frame; copies `bytes` once (the only copy between source and socket). */
export function encodeSubbuf(
  cpu: number,
  subbufId: number,
  seq: number,
  from: number,
  bytes: Uint8Array,
): Uint8Array {
  return writeSubbuf(
    new Uint8Array(subbufFrameBytes(bytes.length)),
    0,
    cpu,
    subbufId,
    seq,
    from,
    bytes,
  );
}

/** encodeSubbuf into `buf` at `at` (zeroed, subbufFrameBytes long); returns the frame's view. */
export function writeSubbuf(
  buf: Uint8Array,
  at: number,
  cpu: number,
  subbufId: number,
  seq: number,
  from: number,
  bytes: Uint8Array,
): Uint8Array {
  const {out, view} = frameAt(buf, at, FrameType.SUBBUF, SUBBUF_HEADER_BYTES + bytes.length);
  view.setUint32(8, cpu, true);
  view.setInt32(12, subbufId, true);
  view.setFloat64(16, seq, true);
  view.setUint32(24, from, true);
  view.setUint32(28, bytes.length, true);
  out.set(bytes, SUBBUF_HEADER_BYTES);
  return out;
}

export function encodeMeta(cpu: number, timeMs: number, bytes: Uint8Array): Uint8Array {
  return writeMeta(new Uint8Array(metaFrameBytes(bytes.length)), 0, cpu, timeMs, bytes);
}

/** encodeMeta into `buf` at `at` (zeroed, metaFrameBytes long); returns the frame's view. */
export function writeMeta(
  buf: Uint8Array,
  at: number,
  cpu: number,
  timeMs: number,
  bytes: Uint8Array,
): Uint8Array {
  const {out, view} = frameAt(buf, at, FrameType.META, META_HEADER_BYTES + bytes.length);
  view.setUint32(8, cpu, true);
  view.setUint32(12, bytes.length, true);
  view.setFloat64(16, timeMs, true);
  out.set(bytes, META_HEADER_BYTES);
  return out;
}

export function encodeGap(g: Omit<GapFrame, 'type'>): Uint8Array {
  const {out, view} = frame(FrameType.GAP, GAP_FRAME_BYTES);
  view.setUint32(8, g.cpu, true);
  view.setUint32(12, g.reason, true);
  view.setFloat64(16, g.firstSeq, true);
  view.setFloat64(24, g.lastSeq, true);
  view.setFloat64(32, g.slices, true);
  view.setFloat64(40, g.bytes, true);
  return out;
}

export function encodeNotice(kind: NoticeKind, cpu: number, message: string): Uint8Array {
  const text = encodeUtf8(message);
  const {out, view} = frame(FrameType.NOTICE, NOTICE_HEADER_BYTES + text.length);
  view.setUint8(8, NOTICE_KINDS.indexOf(kind));
  view.setInt32(12, cpu, true);
  view.setUint32(16, text.length, true);
  out.set(text, NOTICE_HEADER_BYTES);
  return out;
}

export function encodeCaughtUp(cpus: readonly number[]): Uint8Array {
  return writeCaughtUp(new Uint8Array(caughtUpFrameBytes(cpus.length)), 0, cpus);
}

/** encodeCaughtUp into `buf` at `at` (zeroed, caughtUpFrameBytes long); returns the view. */
export function writeCaughtUp(buf: Uint8Array, at: number, cpus: readonly number[]): Uint8Array {
  const {out, view} = frameAt(
    buf,
    at,
    FrameType.CAUGHT_UP,
    CAUGHT_UP_HEADER_BYTES + 4 * cpus.length,
  );
  view.setUint32(8, cpus.length, true);
  cpus.forEach((cpu, i) => view.setUint32(CAUGHT_UP_HEADER_BYTES + 4 * i, cpu, true));
  return out;
}

/** Raw bytes → lower-case hex (HELLO baselineMetas). */
export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

/** Lower-case or upper-case hex → bytes; undefined when it is not hex of whole bytes. */
export function hexToBytes(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function encodeCredit(frames: number, bytes: number): Uint8Array {
  const {out, view} = frame(FrameType.CREDIT, CREDIT_FRAME_BYTES);
  view.setUint32(8, frames, true);
  view.setFloat64(16, bytes, true);
  return out;
}

function encodeJson(type: FrameTypeCode, value: unknown): Uint8Array {
  const text = encodeUtf8(JSON.stringify(value));
  const {out, view} = frame(type, JSON_HEADER_BYTES + text.length);
  view.setUint32(8, text.length, true);
  out.set(text, JSON_HEADER_BYTES);
  return out;
}

export const encodeHello = (h: HelloInfo) => encodeJson(FrameType.HELLO, h);
export const encodeMetadata = (m: WireMetadata) => encodeJson(FrameType.METADATA, m);
export const encodeStats = (s: ServerStats) => encodeJson(FrameType.STATS, s);
export const encodeHelloAck = (a: HelloAck) => encodeJson(FrameType.HELLO_ACK, a);
export const encodeControl = (c: ControlRequest) => encodeJson(FrameType.CONTROL, c);
