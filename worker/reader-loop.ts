/**
 * The consumer half of the reader loop (kernel-abi.md §2.7), per CPU, fed with server frames.
 *
 * For each CPU it keeps the sub-buffer id and data offset it has been given, and reads every
 * SUBBUF frame against them:
 *
 *   same id, from ≥ pos      continuation of the reader sub-buffer (writer appended)
 *   same id, from < pos      the page was rewritten under us: buffer reset
 *   new id                   reader swap; the ring model says how many sub-buffers were lapped
 *   MISSED flags on a page   kernel loss (stored count, or unknown)
 *   seq jump                 explained by a GAP frame (delivery gap), a reconnect (disconnected),
 *                            or unexplained (counted, never silently ignored)
 *
 * META frames give Δoverrun (exact kernel loss) and resets (counters going down); the baseline
 * of overrun is HELLO's `baselineMetas` (the meta page as the server first mapped it) for a
 * stream seen from seq 0, so history from before the session (attach mode) is not counted. Each
 * slice is
 * decoded with decodeSubbuf(emitFrom = from) into reusable columns and handed to `events`; the
 * callee copies what it keeps. NOTICE frames go to `notice`, CAUGHT_UP frames to `caughtUp`. Pure module: no DOM, no Node; the same code runs in the browser
 * Worker and in `ringside tail`.
 */
import {isDecodeError} from '../core/errors.ts';
import {parseMetaPage} from '../core/meta-page.ts';
import {pageLayoutFromHeaderPage, type PageLayout} from '../core/page-layout.ts';
import {
  FrameType,
  hexToBytes,
  type GapFrame,
  type HelloInfo,
  type MetaFrame,
  type NoticeFrame,
  type ServerFrame,
  type ServerStats,
  type SubbufFrame,
  type WireMetadata,
} from '../core/protocol.ts';
import {EventColumns, decodeSubbuf} from '../core/subbuffer.ts';
import {CumulativeCounter, RingModel, emptyLoss, kernelLostEvents, type CpuLoss} from './loss.ts';

export interface ReaderLoopHandlers {
  /**
   * Events of one slice: rows [start, start+count) of `cols`, offsets into `bytes`.
   * `lostBefore`: kernel-lost events just before the first of them (the page's MISSED flags:
   * 0 none, -1 unknown count, N), for trace-cmd's "CPU:N [N EVENTS DROPPED]" line.
   */
  events(
    cpu: number,
    bytes: Uint8Array,
    cols: EventColumns,
    start: number,
    count: number,
    lostBefore: number,
  ): void;
  hello?(hello: HelloInfo, sameSession: boolean): void;
  metadata?(metadata: WireMetadata): void;
  /**
   * Every NOTICE frame: source notices (reset, tracing-off/-on, instance-gone,
   * metadata-changed, error, end), answers to CONTROL (control-ok/-denied/-failed) and
   * server-shutdown. `cpu` is -1 when not about one CPU.
   */
  notice?(notice: NoticeFrame): void;
  stats?(stats: ServerStats): void;
  /**
   * CAUGHT_UP: the server's last read took everything committed on these CPUs; every event of
   * theirs from before that read has been delivered (frames before this one).
   */
  caughtUp?(cpus: number[]): void;
  /** A slice or meta page that could not be decoded (counted in `decodeErrors`). */
  error?(cpu: number, error: Error): void;
}

interface CpuState {
  loss: CpuLoss;
  lastSeq: number;
  /** Seq of the first slice seen on this CPU (-1 before). */
  firstSeq: number;
  id: number;
  pos: number;
  ring: RingModel | undefined;
  overrun: CumulativeCounter;
  entries: CumulativeCounter;
  read: CumulativeCounter;
  sawMeta: boolean;
  /** Set by GAP or reconnect: the next slice may follow missed swaps. */
  afterGap: boolean;
  reconnected: boolean;
  /** overrun of a META that came before any slice, and the resets count then (see onSubbuf). */
  metaBeforeSlice: {overrun: number; resets: number} | undefined;
}

/** Counters of a HELLO baseline meta page. */
interface BaselineCounters {
  overrun: number;
  entries: number;
  read: number;
}

export class ReaderLoop {
  private readonly cpus = new Map<number, CpuState>();
  private hello: HelloInfo | undefined;
  private baselines = new Map<number, BaselineCounters>();
  private layout: PageLayout | undefined;
  private readonly cols = new EventColumns(4096);

  constructor(private readonly h: ReaderLoopHandlers) {}

  get session(): HelloInfo | undefined {
    return this.hello;
  }

  private cpu(cpu: number): CpuState {
    let st = this.cpus.get(cpu);
    if (!st) {
      st = {
        loss: emptyLoss(cpu),
        lastSeq: -1,
        firstSeq: -1,
        id: -1,
        pos: 0,
        ring: undefined,
        overrun: new CumulativeCounter(),
        entries: new CumulativeCounter(),
        read: new CumulativeCounter(),
        sawMeta: false,
        afterGap: false,
        reconnected: false,
        metaBeforeSlice: undefined,
      };
      st.loss.overrunBeforeSession = this.baselines.get(cpu)?.overrun ?? -1;
      this.cpus.set(cpu, st);
    }
    return st;
  }

  handle(f: ServerFrame): void {
    switch (f.type) {
      case FrameType.SUBBUF:
        return this.onSubbuf(f);
      case FrameType.META:
        return this.onMeta(f);
      case FrameType.GAP:
        return this.onGap(f);
      case FrameType.HELLO:
        return this.onHello(f.hello);
      case FrameType.METADATA:
        try {
          this.layout = pageLayoutFromHeaderPage(
            f.metadata.headerPage,
            this.hello?.littleEndian ?? true,
            'METADATA header_page',
          );
        } catch (e) {
          // Without a layout every slice counts as a decode error until valid metadata comes.
          this.layout = undefined;
          if (!isDecodeError(e)) throw e;
          this.h.error?.(-1, e);
        }
        this.h.metadata?.(f.metadata);
        return;
      case FrameType.NOTICE:
        this.h.notice?.(f);
        return;
      case FrameType.STATS:
        this.h.stats?.(f.stats);
        return;
      case FrameType.CAUGHT_UP:
        this.h.caughtUp?.(f.cpus);
        return;
    }
  }

  private onHello(hello: HelloInfo): void {
    const same = this.hello?.sessionId === hello.sessionId;
    this.hello = hello;
    if (same) {
      for (const st of this.cpus.values()) st.reconnected = true;
    } else {
      this.cpus.clear();
      this.layout = undefined;
      this.baselines = this.parseBaselines(hello);
    }
    this.h.hello?.(hello, same);
  }

  private parseBaselines(hello: HelloInfo): Map<number, BaselineCounters> {
    const out = new Map<number, BaselineCounters>();
    for (const b of hello.baselineMetas ?? []) {
      try {
        const bytes = hexToBytes(b.hex);
        if (!bytes) throw new Error(`cpu${b.cpu}: HELLO baseline meta is not hex`);
        const m = parseMetaPage(bytes, hello.littleEndian, `cpu${b.cpu} HELLO baseline meta`);
        out.set(b.cpu, {overrun: m.overrun, entries: m.entries, read: m.read});
      } catch (e) {
        // Without a baseline that CPU counts as before (from 0 when seen from seq 0).
        this.cpu(b.cpu).loss.decodeErrors++;
        this.h.error?.(b.cpu, e as Error);
      }
    }
    return out;
  }

  private onGap(g: GapFrame): void {
    const st = this.cpu(g.cpu);
    st.loss.gapFrames++;
    st.loss.gapSlices += g.slices;
    st.loss.gapBytes += g.bytes;
    if (st.lastSeq >= 0 && g.firstSeq > st.lastSeq + 1) {
      st.loss.unexplainedSlices += g.firstSeq - st.lastSeq - 1;
    }
    st.lastSeq = Math.max(st.lastSeq, g.lastSeq);
    st.afterGap = true;
  }

  private onMeta(f: MetaFrame): void {
    const st = this.cpu(f.cpu);
    try {
      const m = parseMetaPage(f.bytes, this.hello?.littleEndian ?? true, `cpu${f.cpu} meta page`);
      const wentDown = m.entries < st.entries.value || m.read < st.read.value;
      st.entries.update(m.entries);
      st.read.update(m.read);
      // A stream seen from seq 0 counts every overrun since the server opened the buffer (the
      // events the writer lost before the first read are lost to us too): from the HELLO
      // baseline, or from 0 without one. A late joiner starts from its first META.
      const base = this.baselines.get(f.cpu);
      if (!st.overrun.started) {
        if (st.firstSeq === 0 && base) st.overrun.setBaseline(base.overrun);
        else if (st.firstSeq < 0) st.metaBeforeSlice = {overrun: m.overrun, resets: st.loss.resets};
      }
      st.loss.overrunEvents += st.overrun.update(m.overrun, st.firstSeq === 0 && !base);
      st.sawMeta = true;
      if (wentDown) {
        st.loss.resets++;
        st.ring?.forgetPosition();
      }
    } catch (e) {
      st.loss.decodeErrors++;
      this.h.error?.(f.cpu, e as Error);
    }
  }

  private onSubbuf(f: SubbufFrame): void {
    const st = this.cpu(f.cpu);
    const loss = st.loss;
    // 1. Sequence: every seq is delivered, or announced missing.
    if (st.lastSeq >= 0) {
      if (f.seq <= st.lastSeq) {
        loss.duplicateSlices++;
        return;
      }
      const jump = f.seq - st.lastSeq - 1;
      if (jump > 0) {
        if (st.reconnected) loss.disconnectedSlices += jump;
        else loss.unexplainedSlices += jump;
        st.afterGap = true;
      }
    }
    const first = st.lastSeq < 0 && st.id < 0;
    if (first) {
      st.firstSeq = f.seq;
      // A META came first (an idle CPU, or the slice budget ran out) and this turns out to be
      // the whole stream: count the overrun between the server's baseline and that META too.
      const base = this.baselines.get(f.cpu);
      const early = st.metaBeforeSlice;
      if (f.seq === 0 && base && early && early.resets === loss.resets) {
        loss.overrunEvents += Math.max(0, early.overrun - base.overrun);
      }
    }
    st.metaBeforeSlice = undefined;
    st.lastSeq = f.seq;
    st.reconnected = false;
    loss.slices++;

    // 2. Where this slice sits relative to what we had.
    const nr = this.hello?.nrSubbufs ?? 0;
    let freshPage = false;
    if (first) {
      freshPage = true;
      // The ring model needs every swap since the mapping: only a stream seen from seq 0.
      if (f.seq === 0 && nr >= 2 && f.subbufId >= 0) {
        st.ring = new RingModel(nr);
        if (f.subbufId !== 0) this.swap(st, f.subbufId);
      } else {
        loss.ringModelValid = false;
      }
    } else if (f.subbufId !== st.id || f.subbufId < 0) {
      freshPage = true;
      if (st.afterGap) this.invalidateRing(st);
      else if (st.ring) this.swap(st, f.subbufId);
    } else if (f.from < st.pos) {
      // Same sub-buffer, but it restarts below what we had: the buffer was reset.
      freshPage = true;
      if (!st.sawMeta) loss.resets++;
      st.ring?.forgetPosition();
    }
    st.afterGap = false;
    st.id = f.subbufId;

    // 3. Decode; MISSED flags count once, on the first delivery of a page.
    const layout = this.layout;
    if (!layout) {
      loss.decodeErrors++;
      this.h.error?.(f.cpu, new Error('SUBBUF before METADATA: no page layout'));
      return;
    }
    const cols = this.cols;
    cols.clear();
    try {
      const r = decodeSubbuf(f.bytes, 0, f.bytes.length, layout, cols, {
        emitFrom: f.from,
        where: `cpu${f.cpu} sub-buffer ${f.subbufId} seq ${f.seq}`,
      });
      let lostBefore = 0;
      if (freshPage && r.header.missedEvents) {
        lostBefore = r.header.lostEvents;
        if (lostBefore >= 0) loss.missedStoredEvents += lostBefore;
        else loss.missedUnknownSubbufs++;
      }
      st.pos = r.header.size;
      if (r.error) {
        loss.decodeErrors++;
        this.h.error?.(f.cpu, r.error);
      }
      if (r.count > 0) {
        loss.events += r.count;
        this.h.events(f.cpu, f.bytes, cols, 0, r.count, lostBefore);
      }
    } catch (e) {
      if (!isDecodeError(e)) throw e;
      loss.decodeErrors++;
      this.h.error?.(f.cpu, e);
    }
  }

  private swap(st: CpuState, id: number): void {
    const skipped = st.ring!.swap(id);
    if (skipped < 0) this.invalidateRing(st);
    else st.loss.skippedSubbufsDerived += skipped;
  }

  private invalidateRing(st: CpuState): void {
    st.ring = undefined;
    st.loss.ringModelValid = false;
  }

  /** Loss figures of one CPU (a live object: copy to keep). */
  loss(cpu: number): CpuLoss {
    return this.cpu(cpu).loss;
  }

  cpuList(): number[] {
    return [...this.cpus.keys()].sort((a, b) => a - b);
  }

  /** Kernel-lost events of one CPU (Δoverrun with META, stored MISSED counts without). */
  kernelLost(cpu: number): number {
    const st = this.cpu(cpu);
    return kernelLostEvents(st.loss, st.sawMeta);
  }
}
