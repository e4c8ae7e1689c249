/**
 * Test helpers for the fan-out: a TraceSource wrapper that counts reads, and an in-memory
 * FrameSink that records frames and lets a test set `bufferedAmount`.
 */
import type {FrameSink} from '../client-queue.ts';
import type {
  SourceBatch,
  SourceMetadata,
  SourceOpenOptions,
  TraceSource,
} from '../../sources/source.ts';
import {FrameReader} from '../../../core/framing.ts';
import {decodeServerFrame} from '../../../core/protocol-decode.ts';
import type {ServerFrame} from '../../../core/protocol.ts';

export class SpySource implements TraceSource {
  reads = 0;
  slicesRead = 0;
  constructor(readonly inner: TraceSource) {}
  get kind() {
    return this.inner.kind;
  }
  open(o?: SourceOpenOptions): Promise<SourceMetadata> {
    return this.inner.open(o);
  }
  metadata(o?: SourceOpenOptions): Promise<SourceMetadata> {
    return this.inner.metadata(o);
  }
  /** Notices added to the next read's batch (as if the source had noticed something). */
  inject: SourceBatch['notices'] = [];
  read(max: number): SourceBatch {
    this.reads++;
    const b = this.inner.read(max);
    b.notices.push(...this.inject.splice(0));
    this.slicesRead += b.slices.length;
    return b;
  }
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return this.inner.wait(ms, signal);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export class MemorySink implements FrameSink {
  bufferedAmount = 0;
  frames: ServerFrame[] = [];
  /** Frames per message, in order (more than 1 only for a multiFrame client). */
  messageFrames: number[] = [];
  closed: {code: number; reason: string} | undefined;
  /** Called for each frame (after decoding), e.g. to grant credits back. */
  onFrame: (f: ServerFrame) => void = () => {};
  send(data: Uint8Array, cb: (err?: Error) => void): void {
    // A message is one frame, or several back to back (multiFrame): split like the client does.
    const reader = new FrameReader();
    reader.append(data.slice());
    const got: ServerFrame[] = [];
    for (let m = reader.readMessage(); m; m = reader.readMessage()) got.push(decodeServerFrame(m));
    if (reader.pendingBytes !== 0) throw new Error(`message ends inside a frame`);
    this.frames.push(...got);
    this.messageFrames.push(got.length);
    queueMicrotask(() => {
      for (const f of got) this.onFrame(f);
      cb();
    });
  }
  close(code: number, reason: string): void {
    this.closed = {code, reason};
  }
  of<T extends ServerFrame['type']>(type: T): Extract<ServerFrame, {type: T}>[] {
    return this.frames.filter((f) => f.type === type) as Extract<ServerFrame, {type: T}>[];
  }
}

export function until(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}
