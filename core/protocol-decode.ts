/**
 * Strict decoder for the frames of core/protocol.ts. Every length, reserved word, padding byte
 * and field range is checked; anything off throws `DecodeError('bad-frame')` with the byte offset
 * of the offending field. Nothing else is ever thrown (JSON and UTF-8 errors are wrapped), so a
 * server can close exactly the connection that sent garbage and keep serving the others.
 *
 * Binary payloads (SUBBUF bytes, META bytes) are returned as views into the input: zero-copy.
 */
import {DecodeError} from './errors.ts';
import {decodeUtf8Strict} from './protocol-text.ts';
import {
  CAUGHT_UP_HEADER_BYTES,
  CREDIT_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FrameType,
  GAP_FRAME_BYTES,
  GapReason,
  JSON_HEADER_BYTES,
  MAX_CPUS,
  MAX_META_BYTES,
  MAX_SEQ,
  MAX_SERVER_FRAME_BYTES,
  MAX_SUBBUF_BYTES,
  META_HEADER_BYTES,
  NOTICE_HEADER_BYTES,
  NOTICE_KINDS,
  PROTOCOL_VERSION,
  SOURCE_REASON_CODES,
  SUBBUF_HEADER_BYTES,
  WIRE_SOURCE_KINDS,
  align8,
  type ClientFrame,
  type ControlRequest,
  type Frame,
  type GapReasonCode,
  type HelloAck,
  type HelloInfo,
  type ServerFrame,
  type ServerStats,
  type WireMetadata,
} from './protocol.ts';

const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(FrameType).map(([k, v]) => [v, k]),
);
const GAP_REASONS = new Set<number>(Object.values(GapReason));

export function frameTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `type ${type}`;
}

function fail(detail: string, offset: number, where: string): never {
  throw new DecodeError('bad-frame', detail, offset, where);
}

/**
 * Check the common header against the message length. Returns the frame type. Used by the framer
 * too (with `total` = bytes available so far, `exact` = false).
 */
export function checkFrameHeader(
  view: DataView,
  base: number,
  available: number,
  maxBytes: number,
  exact: boolean,
  where = 'frame',
): {type: number; frameBytes: number} {
  if (available < FRAME_HEADER_BYTES) {
    fail(`${available} bytes cannot hold the ${FRAME_HEADER_BYTES}-byte frame header`, base, where);
  }
  const type = view.getUint8(base);
  const version = view.getUint8(base + 1);
  const flags = view.getUint16(base + 2, true);
  const frameBytes = view.getUint32(base + 4, true);
  if (!(type in TYPE_NAMES)) fail(`unknown frame type ${type}`, base, where);
  if (version < 1 || version > PROTOCOL_VERSION) {
    fail(`protocol version ${version} is not 1..${PROTOCOL_VERSION}`, base + 1, where);
  }
  if (flags !== 0) fail(`reserved flags 0x${flags.toString(16)} are not 0`, base + 2, where);
  if (frameBytes < FRAME_HEADER_BYTES || frameBytes % 8 !== 0 || frameBytes > maxBytes) {
    fail(`frame length ${frameBytes} is not a multiple of 8 in 8..${maxBytes}`, base + 4, where);
  }
  if (exact && frameBytes !== available) {
    fail(`frame length ${frameBytes} differs from the ${available}-byte message`, base + 4, where);
  }
  return {type, frameBytes};
}

/** Field reader bound to one frame: bounds-checked, little-endian, offsets relative to it. */
class FieldReader {
  constructor(
    readonly view: DataView,
    readonly base: number,
    readonly length: number,
    readonly where: string,
  ) {}

  u32(off: number): number {
    return this.view.getUint32(this.base + off, true);
  }
  i32(off: number): number {
    return this.view.getInt32(this.base + off, true);
  }
  u8(off: number): number {
    return this.view.getUint8(this.base + off);
  }
  f64(off: number): number {
    return this.view.getFloat64(this.base + off, true);
  }
  fail(detail: string, off: number): never {
    fail(detail, this.base + off, this.where);
  }
  zero(off: number, what: string): void {
    if (this.u32(off) !== 0) this.fail(`reserved ${what} is not 0`, off);
  }
  /** A non-negative integer stored as float64 (seq numbers, byte counts). */
  count(off: number, what: string, max = MAX_SEQ): number {
    const v = this.f64(off);
    if (!Number.isInteger(v) || v < 0 || v > max)
      this.fail(`${what} ${v} is not an integer in 0..${max}`, off);
    return v;
  }
  /** The frame must be exactly `used` bytes plus zero padding to 8. */
  body(used: number): void {
    if (align8(used) !== this.length) {
      this.fail(`frame length ${this.length} does not match its ${used}-byte content`, 4);
    }
    for (let i = used; i < this.length; i++) {
      if (this.u8(i) !== 0) this.fail('padding byte is not 0', i);
    }
  }
  bytes(off: number, n: number): Uint8Array {
    return new Uint8Array(this.view.buffer, this.view.byteOffset + this.base + off, n);
  }
  text(off: number, n: number): string {
    try {
      return decodeUtf8Strict(this.bytes(off, n));
    } catch {
      this.fail('text is not valid UTF-8', off);
    }
  }
  json(): unknown {
    const n = this.u32(8);
    this.zero(12, 'word');
    if (JSON_HEADER_BYTES + n > this.length) this.fail(`JSON length ${n} runs past the frame`, 8);
    this.body(JSON_HEADER_BYTES + n);
    const text = this.text(JSON_HEADER_BYTES, n);
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      this.fail(`JSON body does not parse: ${e instanceof Error ? e.message : String(e)}`, 16);
    }
  }
}

// ---- JSON shape checks --------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function shape(r: FieldReader, v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    r.fail(`${what} is not an object`, 16);
  return v as Obj;
}
function str(r: FieldReader, o: Obj, key: string, optional = false): void {
  if (optional && o[key] === undefined) return;
  if (typeof o[key] !== 'string') r.fail(`field '${key}' is not a string`, 16);
}
function num(r: FieldReader, o: Obj, key: string): void {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    r.fail(`field '${key}' is not a non-negative number`, 16);
  }
}
function bool(r: FieldReader, o: Obj, key: string, optional = false): void {
  if (optional && o[key] === undefined) return;
  if (typeof o[key] !== 'boolean') r.fail(`field '${key}' is not a boolean`, 16);
}

function cpuList(r: FieldReader, o: Obj, key: string, optional = false): void {
  const v = o[key];
  if (optional && v === undefined) return;
  if (
    !Array.isArray(v) ||
    v.length > MAX_CPUS ||
    !v.every((c) => Number.isInteger(c) && c >= 0 && c < MAX_CPUS)
  ) {
    r.fail(`field '${key}' is not a list of CPU numbers`, 16);
  }
}

function checkHello(r: FieldReader, v: unknown): HelloInfo {
  const o = shape(r, v, 'HELLO');
  num(r, o, 'protocol');
  str(r, o, 'sessionId');
  if (!WIRE_SOURCE_KINDS.includes(o.source as never))
    r.fail(`unknown source '${String(o.source)}'`, 16);
  str(r, o, 'instance', true);
  cpuList(r, o, 'cpus');
  num(r, o, 'subbufSize');
  num(r, o, 'nrSubbufs');
  str(r, o, 'traceClock');
  bool(r, o, 'littleEndian');
  // Added in v1: optional fields, checked when present.
  if (o.baselineMetas !== undefined) {
    if (!Array.isArray(o.baselineMetas)) r.fail(`field 'baselineMetas' is not a list`, 16);
    for (const b of o.baselineMetas as unknown[]) {
      const bo = shape(r, b, 'baseline meta');
      if (!Number.isInteger(bo.cpu) || (bo.cpu as number) < 0 || (bo.cpu as number) >= MAX_CPUS)
        r.fail(`baseline meta cpu is not a CPU number`, 16);
      num(r, bo, 'timeMs');
      str(r, bo, 'hex');
      const hex = bo.hex as string;
      if (
        hex.length < 2 ||
        hex.length > 2 * MAX_META_BYTES ||
        hex.length % 2 !== 0 ||
        !/^[0-9a-f]*$/.test(hex)
      )
        r.fail(
          `baseline meta of cpu ${String(bo.cpu)} is not lower-case hex of 1..${MAX_META_BYTES} bytes`,
          16,
        );
    }
  }
  str(r, o, 'sourceReason', true);
  if (
    o.sourceReasonCode !== undefined &&
    !SOURCE_REASON_CODES.includes(o.sourceReasonCode as never)
  )
    r.fail(`unknown sourceReasonCode '${String(o.sourceReasonCode)}'`, 16);
  bool(r, o, 'tracingOn', true);
  const s = shape(r, o.server, 'HELLO.server');
  str(r, s, 'name');
  str(r, s, 'version');
  bool(r, s, 'allowControl');
  num(r, s, 'windowFrames');
  if (s.controlActions !== undefined) {
    if (!Array.isArray(s.controlActions) || !s.controlActions.every((a) => typeof a === 'string'))
      r.fail(`field 'controlActions' is not a list of strings`, 16);
  }
  return o as unknown as HelloInfo;
}

function checkMetadata(r: FieldReader, v: unknown): WireMetadata {
  const o = shape(r, v, 'METADATA');
  num(r, o, 'generation');
  for (const k of ['headerPage', 'headerEvent', 'savedCmdlines', 'traceClock']) str(r, o, k);
  str(r, o, 'kallsyms', true);
  str(r, o, 'printkFormats', true);
  if (!Array.isArray(o.formats)) r.fail(`field 'formats' is not a list`, 16);
  for (const f of o.formats as unknown[]) {
    const fo = shape(r, f, 'format');
    str(r, fo, 'system');
    str(r, fo, 'name');
    str(r, fo, 'text');
  }
  return o as unknown as WireMetadata;
}

function checkStats(r: FieldReader, v: unknown): ServerStats {
  const o = shape(r, v, 'STATS');
  for (const k of ['timeMs', 'clients', 'sourceReads', 'slicesRead', 'bytesRead', 'metasRead']) {
    num(r, o, k);
  }
  const c = shape(r, o.client, 'STATS.client');
  for (const k of [
    'framesSent',
    'bytesSent',
    'credits',
    'queuedFrames',
    'queuedBytes',
    'gapSlices',
    'gapBytes',
    'bufferedAmount',
  ]) {
    num(r, c, k);
  }
  return o as unknown as ServerStats;
}

function checkHelloAck(r: FieldReader, v: unknown): HelloAck {
  const o = shape(r, v, 'HELLO_ACK');
  num(r, o, 'protocol');
  bool(r, o, 'includeSymbols', true);
  str(r, o, 'client', true);
  bool(r, o, 'multiFrame', true);
  cpuList(r, o, 'cpus', true);
  return o as unknown as HelloAck;
}

function checkControl(r: FieldReader, v: unknown): ControlRequest {
  const o = shape(r, v, 'CONTROL');
  str(r, o, 'action');
  if (o.args !== undefined) shape(r, o.args, 'CONTROL.args');
  str(r, o, 'id', true);
  return o as unknown as ControlRequest;
}

// ---- frames ------------------------------------------------------------------------------------

/** Decode one whole frame (exactly one message). Throws only `DecodeError('bad-frame')`. */
export function decodeFrame(msg: Uint8Array, maxBytes = MAX_SERVER_FRAME_BYTES): Frame {
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const {type, frameBytes} = checkFrameHeader(view, 0, msg.length, maxBytes, true);
  const r = new FieldReader(view, 0, frameBytes, `${frameTypeName(type)} frame`);
  switch (type) {
    case FrameType.SUBBUF: {
      if (frameBytes < SUBBUF_HEADER_BYTES) r.fail('too short for a SUBBUF header', 4);
      const cpu = r.u32(8);
      const subbufId = r.i32(12);
      const seq = r.count(16, 'seq');
      const from = r.u32(24);
      const n = r.u32(28);
      if (cpu >= MAX_CPUS) r.fail(`cpu ${cpu} is not below ${MAX_CPUS}`, 8);
      if (subbufId < -1) r.fail(`sub-buffer id ${subbufId} is below -1`, 12);
      if (n > MAX_SUBBUF_BYTES) r.fail(`byte length ${n} exceeds ${MAX_SUBBUF_BYTES}`, 28);
      if (from > n) r.fail(`from ${from} is past the ${n} bytes carried`, 24);
      r.body(SUBBUF_HEADER_BYTES + n);
      return {type, cpu, subbufId, seq, from, bytes: r.bytes(SUBBUF_HEADER_BYTES, n)};
    }
    case FrameType.META: {
      if (frameBytes < META_HEADER_BYTES) r.fail('too short for a META header', 4);
      const cpu = r.u32(8);
      const n = r.u32(12);
      const timeMs = r.f64(16);
      if (cpu >= MAX_CPUS) r.fail(`cpu ${cpu} is not below ${MAX_CPUS}`, 8);
      if (n < 1 || n > MAX_META_BYTES) r.fail(`meta length ${n} is not 1..${MAX_META_BYTES}`, 12);
      if (!Number.isFinite(timeMs)) r.fail(`time ${timeMs} is not finite`, 16);
      r.body(META_HEADER_BYTES + n);
      return {type, cpu, timeMs, bytes: r.bytes(META_HEADER_BYTES, n)};
    }
    case FrameType.GAP: {
      r.body(Math.min(frameBytes, GAP_FRAME_BYTES));
      if (frameBytes !== GAP_FRAME_BYTES)
        r.fail(`GAP length ${frameBytes} is not ${GAP_FRAME_BYTES}`, 4);
      const cpu = r.u32(8);
      const reason = r.u32(12);
      const firstSeq = r.count(16, 'first seq');
      const lastSeq = r.count(24, 'last seq');
      const slices = r.count(32, 'slices');
      const bytes = r.count(40, 'bytes');
      if (cpu >= MAX_CPUS) r.fail(`cpu ${cpu} is not below ${MAX_CPUS}`, 8);
      if (!GAP_REASONS.has(reason)) r.fail(`unknown gap reason ${reason}`, 12);
      if (lastSeq < firstSeq) r.fail(`last seq ${lastSeq} is before first seq ${firstSeq}`, 24);
      if (slices !== lastSeq - firstSeq + 1) {
        r.fail(`slices ${slices} differs from the seq range ${firstSeq}..${lastSeq}`, 32);
      }
      return {type, cpu, reason: reason as GapReasonCode, firstSeq, lastSeq, slices, bytes};
    }
    case FrameType.NOTICE: {
      if (frameBytes < NOTICE_HEADER_BYTES) r.fail('too short for a NOTICE header', 4);
      const kindCode = r.u8(8);
      if (kindCode >= NOTICE_KINDS.length) r.fail(`unknown notice kind ${kindCode}`, 8);
      if (r.u8(9) !== 0 || r.u8(10) !== 0 || r.u8(11) !== 0) r.fail('reserved bytes are not 0', 9);
      const cpu = r.i32(12);
      if (cpu < -1 || cpu >= MAX_CPUS) r.fail(`cpu ${cpu} is not -1..${MAX_CPUS - 1}`, 12);
      const n = r.u32(16);
      r.zero(20, 'word');
      if (NOTICE_HEADER_BYTES + n > frameBytes)
        r.fail(`message length ${n} runs past the frame`, 16);
      r.body(NOTICE_HEADER_BYTES + n);
      return {type, kind: NOTICE_KINDS[kindCode], cpu, message: r.text(NOTICE_HEADER_BYTES, n)};
    }
    case FrameType.CAUGHT_UP: {
      if (frameBytes < CAUGHT_UP_HEADER_BYTES) r.fail('too short for a CAUGHT_UP header', 4);
      const n = r.u32(8);
      r.zero(12, 'word');
      if (n > MAX_CPUS || CAUGHT_UP_HEADER_BYTES + 4 * n > frameBytes)
        r.fail(`cpu count ${n} runs past the frame`, 8);
      r.body(CAUGHT_UP_HEADER_BYTES + 4 * n);
      const cpus: number[] = [];
      for (let i = 0; i < n; i++) {
        const cpu = r.u32(CAUGHT_UP_HEADER_BYTES + 4 * i);
        if (cpu >= MAX_CPUS)
          r.fail(`cpu ${cpu} is not below ${MAX_CPUS}`, CAUGHT_UP_HEADER_BYTES + 4 * i);
        cpus.push(cpu);
      }
      return {type, cpus};
    }
    case FrameType.CREDIT: {
      r.body(Math.min(frameBytes, CREDIT_FRAME_BYTES));
      if (frameBytes !== CREDIT_FRAME_BYTES)
        r.fail(`CREDIT length ${frameBytes} is not ${CREDIT_FRAME_BYTES}`, 4);
      const frames = r.u32(8);
      r.zero(12, 'word');
      const bytes = r.count(16, 'credit bytes');
      return {type, frames, bytes};
    }
    case FrameType.HELLO:
      if (frameBytes < JSON_HEADER_BYTES) r.fail('too short for a JSON header', 4);
      return {type, hello: checkHello(r, r.json())};
    case FrameType.METADATA:
      if (frameBytes < JSON_HEADER_BYTES) r.fail('too short for a JSON header', 4);
      return {type, metadata: checkMetadata(r, r.json())};
    case FrameType.STATS:
      if (frameBytes < JSON_HEADER_BYTES) r.fail('too short for a JSON header', 4);
      return {type, stats: checkStats(r, r.json())};
    case FrameType.HELLO_ACK:
      if (frameBytes < JSON_HEADER_BYTES) r.fail('too short for a JSON header', 4);
      return {type, ack: checkHelloAck(r, r.json())};
    case FrameType.CONTROL:
      if (frameBytes < JSON_HEADER_BYTES) r.fail('too short for a JSON header', 4);
      return {type, control: checkControl(r, r.json())};
    default:
      return r.fail(`unknown frame type ${type}`, 0);
  }
}

function isClientType(type: number): boolean {
  return type === FrameType.CREDIT || type === FrameType.HELLO_ACK || type === FrameType.CONTROL;
}

/** Decode a frame a server received: only client→server types, client size limit. */
export function decodeClientFrame(msg: Uint8Array, maxBytes: number): ClientFrame {
  const f = decodeFrame(msg, maxBytes);
  if (!isClientType(f.type)) fail(`${frameTypeName(f.type)} is not a client frame`, 0, 'frame');
  return f as ClientFrame;
}

/** Decode a frame a client received: only server→client types. */
export function decodeServerFrame(msg: Uint8Array, maxBytes = MAX_SERVER_FRAME_BYTES): ServerFrame {
  const f = decodeFrame(msg, maxBytes);
  if (isClientType(f.type)) fail(`${frameTypeName(f.type)} is not a server frame`, 0, 'frame');
  return f as ServerFrame;
}
