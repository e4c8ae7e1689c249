/**
 * The worker's bounded columnar event store: per-CPU tables (cpu-table.ts) fed page by page by
 * the reader loop, inside a rolling window capped in bytes.
 *
 * Memory model (what the cap counts): the page bytes kept whole (the payload arena: every field
 * can be decoded later from them) plus the column rows that hold memory (23 bytes per event;
 * capacity never written is not memory yet, cpu-table.ts; a full window up to ~33 % slack).
 * When the sum passes the cap, whole pages are evicted, always the one whose newest event is
 * oldest across CPUs, so every CPU keeps about the same time span. Eviction is counted separately: it is the third
 * loss figure, "window eviction, not loss" (architecture.md).
 *
 * Per page the store reads three common fields straight from the bytes (common_type u16 @0,
 * common_flags u8 @2, common_pid i32 @4, in the kernel's byte order): no object per event.
 */
import {COLUMN_BYTES_PER_EVENT, CpuTable, type PageRecord} from './cpu-table.ts';
import {PageArena, SLAB_BYTES} from './page-arena.ts';
import type {DecodedPage, PageSink} from './page-sink.ts';

const NO_BYTES = new Uint8Array(0);
/** Spare page slabs kept mapped ahead of the copies (1 MiB: ~80 ms of pages at 500k/s). */
const WARM_SLABS = 4;
/** Column rows kept mapped past a busy table's tail (~64 ms at 500k/s)… */
const WARM_ROWS = 32 * 1024;
/** …at most this many per idle step (~46 memory pages per column set). */
const WARM_ROWS_STEP = 8 * 1024;

/** Spare page slabs worth keeping under a cap: 1/32 of it (8 MiB of 256 MiB), at least 2. */
function spareSlabsFor(capBytes: number): number {
  return Math.max(2, Math.floor(capBytes / 32 / SLAB_BYTES));
}

export const DEFAULT_MEMORY_CAP_BYTES = 256 * 1024 * 1024;

export interface EvictionCounts {
  pages: number;
  events: number;
  bytes: number;
}

export interface StoreOptions {
  memoryCapBytes?: number;
  littleEndian?: boolean;
}

export class EventStore implements PageSink {
  private tables: (CpuTable | undefined)[] = [];
  private typeCountsByCpu: Uint32Array[] = [];
  /** The kept page bytes (a page's bytes are copied in: the sink may reuse its own). */
  readonly arena = new PageArena();
  private capBytes: number;
  littleEndian: boolean;
  /** Bumped on every change of the window (append, evict, reset). */
  version = 0;
  /** Bytes of page payloads in the window (each sub-buffer charged once). */
  pageBytes = 0;
  /** Bytes the columns of all CPUs hold (touched rows × 23, CpuTable.columnBytes). */
  columnBytes = 0;
  readonly evicted: EvictionCounts = {pages: 0, events: 0, bytes: 0};
  readonly evictedByCpu: EvictionCounts[] = [];
  /** Events appended since reset (whether or not still in the window). */
  totalEvents = 0;
  /** Pages whose first event is older than the CPU's previous last event. */
  outOfOrderPages = 0;
  /** Records shorter than the 8 bytes of common fields (kept with pid 0). */
  shortRecords = 0;

  constructor(options: StoreOptions = {}) {
    this.capBytes = options.memoryCapBytes ?? DEFAULT_MEMORY_CAP_BYTES;
    this.arena.maxSpare = spareSlabsFor(this.capBytes);
    this.littleEndian = options.littleEndian ?? true;
  }

  get memoryCapBytes(): number {
    return this.capBytes;
  }

  /** Change the cap; evicts at once when the window is over the new cap. */
  setMemoryCap(bytes: number): void {
    if (!(bytes > 0)) throw new RangeError(`memory cap ${bytes} must be > 0`);
    this.capBytes = bytes;
    this.arena.maxSpare = spareSlabsFor(bytes);
    if (this.evictToCap()) this.version++;
  }

  reset(): void {
    this.tables = [];
    this.typeCountsByCpu = [];
    this.arena.clear();
    this.pageBytes = 0;
    this.columnBytes = 0;
    this.evicted.pages = this.evicted.events = this.evicted.bytes = 0;
    this.evictedByCpu.length = 0;
    this.totalEvents = 0;
    this.outOfOrderPages = 0;
    this.shortRecords = 0;
    this.version++;
  }

  /** CPUs that have a table, ascending. */
  cpus(): number[] {
    const out: number[] = [];
    this.tables.forEach((t, cpu) => t && out.push(cpu));
    return out;
  }

  table(cpu: number): CpuTable | undefined {
    return this.tables[cpu];
  }

  private tableFor(cpu: number): CpuTable {
    let t = this.tables[cpu];
    if (!t) {
      t = new CpuTable(cpu);
      this.tables[cpu] = t;
      this.columnBytes += t.columnBytes();
      this.typeCountsByCpu[cpu] = new Uint32Array(512);
      this.evictedByCpu[cpu] = {pages: 0, events: 0, bytes: 0};
    }
    return t;
  }

  handlePage(page: DecodedPage): void {
    const t = this.tableFor(page.cpu);
    const cols = page.columns;
    const n = cols.length;
    const bytes = page.bytes;
    const le = this.littleEndian;
    const prev = t.newestPage();
    const colBefore = t.columnBytes();
    t.reserve(n, this.rowBudget(t));
    const firstAbs = t.endAbs;
    let at = t.tail;
    const tsCol = t.tsNs;
    const offCol = t.payloadOffset;
    const lenCol = t.payloadLen;
    const pidCol = t.pid;
    const typeCol = t.type;
    const flagCol = t.flags;
    let counts = this.typeCountsByCpu[page.cpu];
    for (let i = 0; i < n; i++, at++) {
      const o = cols.payloadOffset[i];
      const len = cols.payloadLen[i];
      tsCol[at] = cols.tsNs[i];
      offCol[at] = o;
      lenCol[at] = len;
      let type = 0;
      let pid = 0;
      let flags = 0;
      if (len >= 8 && o + 8 <= bytes.length) {
        if (le) {
          type = bytes[o] | (bytes[o + 1] << 8);
          pid = bytes[o + 4] | (bytes[o + 5] << 8) | (bytes[o + 6] << 16) | (bytes[o + 7] << 24);
        } else {
          type = (bytes[o] << 8) | bytes[o + 1];
          pid = (bytes[o + 4] << 24) | (bytes[o + 5] << 16) | (bytes[o + 6] << 8) | bytes[o + 7];
        }
        flags = bytes[o + 2];
      } else {
        this.shortRecords++;
        if (len >= 2 && o + 2 <= bytes.length)
          type = le ? bytes[o] | (bytes[o + 1] << 8) : (bytes[o] << 8) | bytes[o + 1];
      }
      pidCol[at] = pid;
      typeCol[at] = type;
      flagCol[at] = flags;
      if (type >= counts.length) counts = this.growCounts(page.cpu, type);
      counts[type]++;
    }
    t.tail = at;
    this.columnBytes += t.columnBytes() - colBefore; // the new rows are touched now
    const firstTsNs = n > 0 ? cols.tsNs[0] : this.headerTs(bytes);
    const lastTsNs = n > 0 ? cols.tsNs[n - 1] : firstTsNs;
    if (prev && n > 0 && firstTsNs < prev.lastTsNs) this.outOfOrderPages++;
    // An empty page keeps no bytes: only its markers (swap, loss) matter.
    const kept = n > 0 ? this.arena.copy(page.cpu, bytes) : undefined;
    const rec: PageRecord = {
      bytes: kept?.bytes ?? NO_BYTES,
      slab: kept?.slab,
      cost: n > 0 ? bytes.byteLength : 0,
      firstAbs,
      count: n,
      firstTsNs,
      lastTsNs,
      subbufId: page.subbufId,
      seq: page.seq,
      lostBefore: page.lostBefore,
      skippedBefore: page.skippedBefore ?? 0,
      swap: page.subbufId >= 0 && (!prev || prev.subbufId !== page.subbufId),
    };
    if (n > 0 && prev) this.shareContinuation(t, rec);
    t.pages.push(rec);
    t.pageBytes += rec.cost;
    this.pageBytes += rec.cost;
    this.totalEvents += n;
    this.evictToCap();
    this.version++;
    if (n > 0) {
      this.appendedSinceWarm[page.cpu] = true;
      this.warmSoon();
    }
  }

  private warmTimer: ReturnType<typeof setTimeout> | undefined;
  private appendedSinceWarm: boolean[] = [];

  private warmSoon(): void {
    if (this.warmTimer !== undefined) return;
    // A timer task, so it waits for the messages already queued (the worker's real work).
    this.warmTimer = setTimeout(() => {
      this.warmTimer = undefined;
      if (this.warm()) this.warmSoon();
    }, 0);
  }

  /**
   * One bounded step (a few ms of page faults at most) of mapping the memory the next appends will
   * write: a spare page slab, and the column rows ahead of the tail of each CPU that had
   * appends. First writes to fresh memory cost ~10–60 µs per 4 KiB on the project VM (page
   * copies and column writes were ~1.8 s of a 6 s `bench painted` heavy run, most of it while
   * the window fills); done here they leave the path from a message to its 'edge' push.
   * Returns true when there is more to do.
   */
  warm(): boolean {
    const any = this.appendedSinceWarm.some(Boolean);
    if (!any) return false;
    this.arena.warmSpare(WARM_SLABS);
    let more = this.arena.spareSlabs < Math.min(WARM_SLABS, this.arena.maxSpare);
    this.appendedSinceWarm.forEach((yes, cpu) => {
      const t = yes ? this.tables[cpu] : undefined;
      if (!t) return;
      const before = t.columnBytes();
      const rows = t.warmAhead(WARM_ROWS_STEP, WARM_ROWS);
      this.columnBytes += t.columnBytes() - before;
      if (rows > 0) more = true;
    });
    if (this.evictToCap()) this.version++;
    if (!more) this.appendedSinceWarm = [];
    return more;
  }

  /**
   * When `rec` is a later slice of the sub-buffer the newest records came from (same id, same
   * header timestamp, at least as long), their bytes are a prefix of its bytes: point them at
   * the new bytes and stop charging for the old ones. Payload offsets stay valid (both are
   * relative to the sub-buffer start).
   */
  private shareContinuation(t: CpuTable, rec: PageRecord): void {
    const nb = rec.bytes;
    if (rec.subbufId < 0 || nb.byteLength < 8) return;
    for (let k = t.pages.length - 1; k >= t.pageHead; k--) {
      const p = t.pages[k];
      if (p.subbufId !== rec.subbufId || p.count === 0) break;
      const ob = p.bytes;
      if (ob === nb || ob.byteLength > nb.byteLength || !sameHeaderTs(ob, nb)) break;
      p.bytes = nb;
      t.pageBytes -= p.cost;
      this.pageBytes -= p.cost;
      p.cost = 0;
    }
  }

  private growCounts(cpu: number, type: number): Uint32Array {
    const old = this.typeCountsByCpu[cpu];
    let n = old.length;
    while (n <= type) n *= 2;
    const c = new Uint32Array(n);
    c.set(old);
    this.typeCountsByCpu[cpu] = c;
    return c;
  }

  private headerTs(bytes: Uint8Array): number {
    if (bytes.length < 8) return 0;
    const v = new DataView(bytes.buffer, bytes.byteOffset, 8);
    const le = this.littleEndian;
    return v.getUint32(le ? 4 : 0, le) * 2 ** 32 + v.getUint32(le ? 0 : 4, le);
  }

  /**
   * Rows of columns `t` can use under the cap: what the other tables leave, divided by a row's
   * cost when the table holds 0.75 rows of events (page bytes) per row of capacity, the
   * steady state of CpuTable.reserve's 25 % sliding room. So a table that grows to this size
   * leaves its events room in the cap, and slides from then on instead of growing.
   */
  private rowBudget(t: CpuTable): number {
    const mine = t.pageBytes + t.columnBytes();
    const budget = this.capBytes - (this.liveBytes - mine);
    const pagePerEvent = t.length > 0 ? t.pageBytes / t.length : 0;
    return Math.max(0, Math.floor(budget / (0.75 * pagePerEvent + COLUMN_BYTES_PER_EVENT)));
  }

  /** Evict whole pages, oldest newest-event first, until under the cap. True if any went. */
  private evictToCap(): boolean {
    let any = false;
    while (this.liveBytes > this.capBytes) {
      // Column capacity shrinks at the next append (CpuTable.reserve); pages go now.
      let victim: CpuTable | undefined;
      let victimTs = Infinity;
      for (const t of this.tables) {
        const p = t?.oldestPage();
        if (p && p.lastTsNs < victimTs) {
          victimTs = p.lastTsNs;
          victim = t;
        }
      }
      if (!victim) break;
      const p = victim.oldestPage()!;
      const counts = this.typeCountsByCpu[victim.cpu];
      const pos = victim.pos(p.firstAbs);
      for (let i = pos, end = pos + p.count; i < end; i++) counts[victim.type[i]]--;
      victim.evictOldestPage();
      if (p.slab) this.arena.release(p.slab);
      const colBefore = victim.columnBytes();
      victim.shrinkToFit();
      this.columnBytes += victim.columnBytes() - colBefore;
      const bytes = p.cost + p.count * COLUMN_BYTES_PER_EVENT;
      this.pageBytes -= p.cost;
      const e = this.evictedByCpu[victim.cpu];
      e.pages++;
      e.events += p.count;
      e.bytes += bytes;
      this.evicted.pages++;
      this.evicted.events += p.count;
      this.evicted.bytes += bytes;
      any = true;
    }
    return any;
  }

  /** Live events of the window on all CPUs. */
  get eventCount(): number {
    let n = 0;
    for (const t of this.tables) if (t) n += t.length;
    return n;
  }

  /** Event counts in the window by type id (index = common_type) for one CPU. */
  typeCounts(cpu: number): Uint32Array {
    return this.typeCountsByCpu[cpu] ?? new Uint32Array(0);
  }

  /** Oldest timestamp still in the window on `cpu` (Infinity when empty). */
  oldestTsNs(cpu: number): number {
    const t = this.tables[cpu];
    return t && t.length > 0 ? t.tsNs[t.head] : Infinity;
  }

  newestTsNs(cpu: number): number {
    const t = this.tables[cpu];
    return t && t.length > 0 ? t.tsNs[t.tail - 1] : -Infinity;
  }

  /** Where the record of event `abs` on `cpu` lies, or undefined when it left the window. */
  payload(cpu: number, abs: number): {bytes: Uint8Array; offset: number; len: number} | undefined {
    const t = this.tables[cpu];
    if (!t || abs < t.firstAbs || abs >= t.endAbs) return undefined;
    const page = t.pageOf(abs);
    if (!page) return undefined;
    const i = t.pos(abs);
    return {bytes: page.bytes, offset: t.payloadOffset[i], len: t.payloadLen[i]};
  }

  /** What the cap bounds: page bytes + allocated column bytes. */
  get liveBytes(): number {
    return this.pageBytes + this.columnBytes;
  }
}

function sameHeaderTs(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 8; i++) if (a[i] !== b[i]) return false;
  return true;
}
