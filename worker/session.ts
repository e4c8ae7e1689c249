/**
 * One viewing session in the worker: the metadata of the trace (formats, cmdlines, byte order),
 * the event store and every derived view, fed by one loop (DevTools handler shape: each view
 * has reset / handlePage / data). The reader loop calls `handlePage`, `handleMeta` and
 * `handleLoss`; the comlink API (api.ts) calls the query methods. Pure: runs in Node tests.
 */
import {EventRegistry} from '../core/format/event-registry.ts';
import {readFieldArray, readFieldInt, readFieldString, recordRef} from '../core/format/fields.ts';
import {unreadEvents, type MetaPage} from '../core/meta-page.ts';
import {EventRenderer} from '../core/print/render.ts';
import {ReportFormatter} from '../core/report/report-line.ts';
import type {ColumnOut} from './answer-buffers.ts';
import {CommTable} from './comm-table.ts';
import {COLUMN_BYTES_PER_EVENT} from './cpu-table.ts';
import {EventList, type EventListPage, type EventListQuery} from './event-list.ts';
import {refCpu, refIndex, type EventRef} from './event-ref.ts';
import {EventStore, type EvictionCounts} from './event-store.ts';
import {MetaStatsView, type CpuStats} from './meta-stats.ts';
import type {DecodedPage, LossFigures, PageSink, StatsSink} from './page-sink.ts';
import {schedSchema} from './sched-schema.ts';
import {SchedView, type SchedData} from './sched-view.ts';
import {queryTimeline, type TimelineLod, type TimelineQuery} from './timeline-lod.ts';
import {TypeTable} from './type-table.ts';

/** What the session needs to know about a trace; SourceMetadata and HELLO+METADATA fit it. */
export interface TraceMetadata {
  cpus: number[];
  littleEndian: boolean;
  /** Kernel long size; from header_page when absent (commit field size), else 8. */
  longSize?: 4 | 8;
  headerPage?: string;
  formats: {system: string; name: string; text: string}[];
  savedCmdlines: string;
  kallsyms?: string;
  printkFormats?: string;
}

export interface EventDetail {
  id: EventRef;
  cpu: number;
  tsNs: number;
  pid: number;
  comm: string;
  system: string;
  name: string;
  flags: number;
  line: string;
  /** [field name, printed value] of every event field, from the format file. */
  fields: [string, string][];
}

export interface WindowSummary {
  cpus: {
    cpu: number;
    events: number;
    pages: number;
    oldestNs: number;
    newestNs: number;
    evicted: EvictionCounts;
  }[];
  events: number;
  totalEvents: number;
  memory: {
    capBytes: number;
    /** What the cap bounds: pageBytes + columnBytes. */
    liveBytes: number;
    /** Sub-buffer bytes kept (the payload arena). */
    pageBytes: number;
    /** Allocated column capacity (23 B/event + slack). */
    columnBytes: number;
    /** Derived data outside the cap: sched slices, event-list index, stats series. */
    derivedBytes: number;
    columnBytesPerEvent: number;
  };
  evicted: EvictionCounts;
  outOfOrderPages: number;
  /** Malformed pages refused by the session (not counted as events). */
  rejectedPages: number;
  shortRecords: number;
  /** Formats that failed to parse: "system/name: reason". */
  formatErrors: string[];
}

export interface EventCounts {
  typeNames: string[];
  /** Per CPU: count per dense type index (same order as typeNames). */
  cpus: {cpu: number; counts: Float64Array}[];
}

export class Session implements PageSink, StatsSink {
  registry: EventRegistry | undefined;
  readonly store = new EventStore();
  readonly comms = new CommTable();
  readonly types = new TypeTable();
  readonly sched: SchedView;
  readonly stats = new MetaStatsView((cpu) => this.store.evictedByCpu[cpu]?.events ?? 0);
  readonly events = new EventList(this.store, this.types, this.comms, (cpu, abs) =>
    this.line(cpu, abs),
  );
  private formatter: ReportFormatter | undefined;
  private formatErrors: string[] = [];
  private evictedPagesSeen = 0;
  /** Called after every change (pages, metas, reset); the API throttles notifications. */
  onChange: (() => void) | undefined;

  /** `now`: wall clock (ms) for the sched view's quiet-CPU rule; injectable for tests. */
  constructor(options: {now?: () => number} = {}) {
    this.sched = new SchedView(this.comms, undefined, options.now);
  }

  setMetadata(meta: TraceMetadata): void {
    const longSize = meta.longSize ?? longSizeOf(meta.headerPage);
    const reg = new EventRegistry({longSize, littleEndian: meta.littleEndian});
    this.formatErrors = [];
    for (const f of meta.formats) {
      try {
        reg.addFormatText(f.text, f.system, `${f.system}/${f.name}/format`);
      } catch (e) {
        this.formatErrors.push(`${f.system}/${f.name}: ${(e as Error).message}`);
      }
    }
    reg.setCmdlines(meta.savedCmdlines);
    if (meta.kallsyms) reg.setKallsyms(meta.kallsyms);
    if (meta.printkFormats) reg.setPrintkFormats(meta.printkFormats);
    this.registry = reg;
    this.comms.loadSavedCmdlines(meta.savedCmdlines);
    this.types.setRegistry(reg);
    this.store.littleEndian = meta.littleEndian;
    this.sched.setSchema(schedSchema(reg), meta.littleEndian);
    this.sched.setCpus(meta.cpus);
    this.formatter = new ReportFormatter(reg, new EventRenderer(reg));
    this.changed();
  }

  reset(): void {
    this.store.reset();
    this.sched.reset();
    this.stats.reset();
    this.events.reset();
    this.evictedPagesSeen = 0;
    this.changed();
  }

  /** Pages refused as malformed (bad CPU number, columns outside the bytes). */
  rejectedPages = 0;

  handlePage(page: DecodedPage): void {
    if (!validPage(page)) {
      this.rejectedPages++;
      return;
    }
    this.store.handlePage(page);
    this.sched.handlePage(page);
    this.stats.handlePage(page);
    if (this.store.evicted.pages !== this.evictedPagesSeen) {
      this.evictedPagesSeen = this.store.evicted.pages;
      for (const cpu of this.store.cpus()) this.sched.trim(cpu, this.store.oldestTsNs(cpu));
    }
    this.changed();
  }

  handleMeta(cpu: number, timeMs: number, meta: MetaPage): void {
    this.stats.handleMeta(cpu, timeMs, meta);
    this.sched.noteMeta(cpu, unreadEvents(meta));
    this.changed();
  }

  handleLoss(figures: LossFigures): void {
    this.stats.handleLoss(figures);
    this.changed();
  }

  handleSkippedIds(cpu: number, ids: number[], missing: number): void {
    this.stats.handleSkippedIds(cpu, ids, missing);
    this.changed();
  }

  /** End of a finite stream: process what the cross-CPU horizon still holds back. */
  flush(): void {
    this.sched.flush();
    this.changed();
  }

  setMemoryCap(bytes: number): void {
    this.store.setMemoryCap(bytes);
    for (const cpu of this.store.cpus()) this.sched.trim(cpu, this.store.oldestTsNs(cpu));
    this.changed();
  }

  private changed(): void {
    this.onChange?.();
  }

  get version(): number {
    return this.store.version;
  }

  timeline(q: TimelineQuery, out?: ColumnOut): TimelineLod {
    return queryTimeline(q, this.store, this.sched, this.types, this.comms, out);
  }

  eventPage(q: EventListQuery): EventListPage {
    return this.events.query(q);
  }

  schedData(): SchedData {
    return this.sched.data();
  }

  statsData(lastRows?: number): CpuStats[] {
    return this.stats.data(lastRows);
  }

  /** The trace-cmd report line of one event (without a registry: a minimal line). */
  line(cpu: number, abs: number): string {
    const p = this.store.payload(cpu, abs);
    const t = this.store.table(cpu);
    if (!p || !t) return '(left the window)';
    const ts = t.tsNs[t.pos(abs)];
    if (this.formatter) {
      try {
        return this.formatter.formatEvent(cpu, ts, p.bytes, p.offset, p.len);
      } catch (e) {
        return `[cpu ${cpu}] ${ts}: [cannot render: ${(e as Error).message}]`;
      }
    }
    return `[${String(cpu).padStart(3, '0')}] ${ts}: type_${t.type[t.pos(abs)]} pid=${t.pid[t.pos(abs)]}`;
  }

  eventDetail(ref: EventRef): EventDetail | undefined {
    const cpu = refCpu(ref);
    const abs = refIndex(ref);
    const t = this.store.table(cpu);
    const p = this.store.payload(cpu, abs);
    if (!t || !p) return undefined;
    const i = t.pos(abs);
    const format = this.registry?.byId(t.type[i]);
    const fields: [string, string][] = [];
    if (format && this.registry) {
      const rec = recordRef(p.bytes, p.offset, p.len, this.registry.littleEndian);
      for (const f of format.fields) {
        let v: string;
        try {
          if (f.isString) v = readFieldString(rec, f);
          else if (f.arrayLen >= 0 || f.dynamic !== 'none')
            v = `[${readFieldArray(rec, f, this.registry.longSize).join(', ')}]`;
          else v = String(readFieldInt(rec, f));
        } catch (e) {
          v = `<${(e as Error).message}>`;
        }
        fields.push([f.name, v]);
      }
    }
    const pid = t.pid[i];
    return {
      id: ref,
      cpu,
      tsNs: t.tsNs[i],
      pid,
      comm: this.comms.get(pid) ?? this.registry?.comm(pid) ?? '<...>',
      system: format?.system ?? '',
      name: format?.name ?? `type_${t.type[i]}`,
      flags: t.flags[i],
      line: this.line(cpu, abs),
      fields,
    };
  }

  eventCounts(): EventCounts {
    const cpus = this.store.cpus().map((cpu) => {
      const raw = this.store.typeCounts(cpu);
      for (let id = 0; id < raw.length; id++) if (raw[id] > 0) this.types.indexOf(id);
      return {cpu, raw};
    });
    const typeNames = this.types.allNames();
    return {
      typeNames,
      cpus: cpus.map(({cpu, raw}) => {
        const counts = new Float64Array(typeNames.length);
        for (let id = 0; id < raw.length; id++)
          if (raw[id] > 0) counts[this.types.indexOf(id)] = raw[id];
        return {cpu, counts};
      }),
    };
  }

  summary(): WindowSummary {
    const s = this.store;
    return {
      cpus: s.cpus().map((cpu) => {
        const t = s.table(cpu)!;
        return {
          cpu,
          events: t.length,
          pages: t.pageCount,
          oldestNs: s.oldestTsNs(cpu),
          newestNs: s.newestTsNs(cpu),
          evicted: {...s.evictedByCpu[cpu]},
        };
      }),
      events: s.eventCount,
      totalEvents: s.totalEvents,
      memory: {
        capBytes: s.memoryCapBytes,
        liveBytes: s.liveBytes,
        pageBytes: s.pageBytes,
        columnBytes: s.columnBytes,
        derivedBytes: this.sched.bytes() + this.events.bytes() + this.stats.bytes(),
        columnBytesPerEvent: COLUMN_BYTES_PER_EVENT,
      },
      evicted: {...s.evicted},
      outOfOrderPages: s.outOfOrderPages,
      rejectedPages: this.rejectedPages,
      shortRecords: s.shortRecords,
      formatErrors: this.formatErrors.slice(),
    };
  }
}

/** A CPU number the tables can index and columns that stay inside the page bytes. */
function validPage(p: DecodedPage): boolean {
  if (!Number.isInteger(p.cpu) || p.cpu < 0 || p.cpu >= 65536) return false;
  const c = p.columns;
  if (
    c.tsNs.length < c.length ||
    c.payloadOffset.length < c.length ||
    c.payloadLen.length < c.length
  )
    return false;
  const n = p.bytes.length;
  for (let i = 0; i < c.length; i++) if (c.payloadOffset[i] + c.payloadLen[i] > n) return false;
  return true;
}

/** Kernel long size from header_page's commit field (8 when absent or unreadable). */
function longSizeOf(headerPage: string | undefined): 4 | 8 {
  const m = headerPage
    ? /field:\s*\S[^;]*\bcommit;\s*offset:\s*\d+;\s*size:\s*(\d+);/.exec(headerPage)
    : null;
  return m && m[1] === '4' ? 4 : 8;
}
