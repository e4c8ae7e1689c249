/**
 * `trace-cmd report` for a whole trace.dat: the `cpus=N` header, then every record of every
 * buffer in time order, as text chunks of ~64 KB so a caller can write them out without holding
 * the report in memory. Filters (CPUs, events) and `--stat` follow trace-cmd 3.1.6's
 * tracecmd/trace-read.c.
 */
import {DecodeError} from '../errors.ts';
import type {EventFormat} from '../format/event-format.ts';
import {EventRegistry} from '../format/event-registry.ts';
import {EventRenderer} from '../print/render.ts';
import {TraceEventIterator} from '../tracedat/event-iterator.ts';
import type {TraceDat} from '../tracedat/tracedat-file.ts';
import {parseEventSelectors, selects} from './event-filter.ts';
import {CommLearningRenderer} from './learned-comms.ts';
import {ReportFormatter} from './report-line.ts';

const CHUNK_CHARS = 1 << 16;
/** Per event id in blocks(): not looked at yet, teaches comms, does not. */
const UNKNOWN_TEACH = 0;
const TEACHES = 1;
const TEACHES_NOT = 2;

/** The event formats, symbols, printk formats and comms of a file, loaded into a registry. */
export function registryFromTraceDat(dat: TraceDat): {
  registry: EventRegistry;
  failures: DecodeError[];
} {
  const registry = new EventRegistry({longSize: dat.longSize, littleEndian: dat.littleEndian});
  const failures: DecodeError[] = [];
  const add = (text: string, system: string, i: number): void => {
    try {
      registry.addFormatText(text, system, `trace.dat ${system} format #${i}`);
    } catch (e) {
      // trace-cmd counts these as parsing failures and goes on without the event.
      if (!(e instanceof DecodeError)) throw e;
      failures.push(e);
    }
  };
  dat.ftraceFormats.forEach((t, i) => add(t, 'ftrace', i));
  dat.eventFormats.forEach((f, i) => add(f.text, f.system, i));
  if (dat.kallsyms) registry.setKallsyms(dat.kallsyms);
  if (dat.printk) registry.setPrintkFormats(dat.printk);
  if (dat.cmdlines) registry.setCmdlines(dat.cmdlines);
  return {registry, failures};
}

export interface ReportRequest {
  /** Only these CPUs (trace-cmd --cpu). */
  cpus?: number[];
  /** `-F` event selectors (see event-filter.ts). */
  filters?: string[];
}

export class TraceReport {
  readonly registry: EventRegistry;
  readonly renderer: EventRenderer;
  readonly comms: CommLearningRenderer;
  readonly formatter: ReportFormatter;
  readonly formatFailures: DecodeError[];
  readonly iterator: TraceEventIterator;
  /** Events printed so far. */
  events = 0;
  private readonly prefixes: string[];
  private readonly selected: (id: number) => boolean;

  constructor(
    readonly dat: TraceDat,
    request: ReportRequest = {},
  ) {
    const {registry, failures} = registryFromTraceDat(dat);
    this.registry = registry;
    this.formatFailures = failures;
    this.renderer = new EventRenderer(registry);
    this.comms = new CommLearningRenderer(registry, this.renderer);
    this.formatter = new ReportFormatter(registry, this.comms, {
      usecs: dat.usecs,
      tsOffsetNs: dat.tsOffsetNs,
      tsc2nsec: dat.options.tsc2nsec,
    });
    this.iterator = new TraceEventIterator(dat, {cpus: request.cpus});
    this.prefixes = instancePrefixes(dat);
    const selectors = parseEventSelectors(request.filters ?? []);
    if (selectors.length === 0) this.selected = () => true;
    else {
      const cache = new Map<number, boolean>();
      this.selected = (id) => {
        let ok = cache.get(id);
        if (ok === undefined) {
          const f = registry.byId(id);
          ok = f !== undefined && selects(selectors, f);
          cache.set(id, ok);
        }
        return ok;
      };
    }
  }

  header(): string {
    return `cpus=${this.dat.cpus}\n`;
  }

  /** The report body in chunks of about 64 KB (each ends with a newline). */
  *chunks(): Generator<string> {
    const it = this.iterator;
    const fmt = this.formatter;
    const prefixes = this.prefixes;
    const le = this.dat.littleEndian;
    let out = '';
    while (it.next()) {
      if (
        !this.selected(
          le
            ? it.bytes[it.payloadOffset] | (it.bytes[it.payloadOffset + 1] << 8)
            : (it.bytes[it.payloadOffset] << 8) | it.bytes[it.payloadOffset + 1],
        )
      ) {
        continue;
      }
      fmt.prefix = prefixes[it.bufferIndex] ?? '';
      out += fmt.formatEvent(it.cpu, it.tsNs, it.bytes, it.payloadOffset, it.payloadLen, it.lost);
      out += '\n';
      this.events++;
      if (out.length >= CHUNK_CHARS) {
        yield out;
        out = '';
      }
    }
    if (out) yield out;
  }

  /**
   * The report body cut into blocks of `blockEvents` printed records, for readers that share
   * the printing: prints the blocks `printed(block)` accepts (asked once per block, in order,
   * when it starts) and only follows the others (the comms that libtraceevent's sched plugin
   * learns), so every printed line is what chunks() prints. Yields [block number, text, last]:
   * a block's text comes in pieces of about 64 KB like chunks() (one big string per block
   * cost more to flatten and encode than its printing saved), `last` on its final piece.
   * After the last yield, `events` is the total count of records.
   */
  *blocks(
    blockEvents: number,
    printed: (block: number) => boolean,
  ): Generator<[number, string, boolean]> {
    const it = this.iterator;
    const fmt = this.formatter;
    const comms = this.comms;
    const registry = this.registry;
    const prefixes = this.prefixes;
    const le = this.dat.littleEndian;
    let block = 0;
    let inBlock = 0;
    let printing = printed(0);
    let out = '';
    const teaches = new Uint8Array(0x10000);
    while (it.next()) {
      const b = it.bytes;
      const at = it.payloadOffset;
      const id = le ? b[at] | (b[at + 1] << 8) : (b[at] << 8) | b[at + 1];
      if (!this.selected(id)) continue;
      if (inBlock === blockEvents) {
        if (printing) yield [block, out, true];
        out = '';
        block++;
        inBlock = 0;
        printing = printed(block);
      }
      inBlock++;
      this.events++;
      if (printing) {
        fmt.prefix = prefixes[it.bufferIndex] ?? '';
        out += fmt.formatEvent(it.cpu, it.tsNs, b, at, it.payloadLen, it.lost);
        out += '\n';
        if (out.length >= CHUNK_CHARS && inBlock < blockEvents) {
          yield [block, out, false];
          out = '';
        }
      } else if (it.payloadLen >= 2) {
        // Only sched events teach comms; most records are passed over on one array read.
        let teach = teaches[id];
        if (teach === UNKNOWN_TEACH) {
          const format = registry.byId(id);
          teach = format !== undefined && comms.teaches(format) ? TEACHES : TEACHES_NOT;
          teaches[id] = teach;
        }
        if (teach === TEACHES) comms.learn(registry.byId(id) as EventFormat, b, at, it.payloadLen);
      }
    }
    if (printing && inBlock > 0) yield [block, out, true];
  }
}

/**
 * trace-cmd labels each line with its buffer when a file has instances: `"%*s: "` with the
 * instance name, right-aligned to the longest instance name; top-buffer lines get blanks of that
 * width and two spaces (3.1.6 gives the main handle no name, whatever the input file is called).
 */
export function instancePrefixes(dat: TraceDat): string[] {
  if (dat.buffers.length <= 1) return dat.buffers.map(() => '');
  const width = Math.max(...dat.buffers.slice(1).map((b) => b.name.length));
  return dat.buffers.map((b, i) =>
    i === 0 || b.name === '' ? `${' '.repeat(width)}  ` : `${b.name.padStart(width)}: `,
  );
}

/** `trace-cmd report --stat`: the recorded per-CPU stats and where each CPU's data lies. */
export function statText(dat: TraceDat): string {
  let s = `cpus=${dat.cpus}\n`;
  s +=
    '\nKernel buffer statistics:\n' +
    '  Note: "entries" are the entries left in the kernel ring buffer and are not\n' +
    '        recorded in the trace data. They should all be zero.\n\n';
  const stats = dat.options.cpustats.join('');
  const nul = stats.indexOf('\0');
  s += stats ? `${nul < 0 ? stats : stats.slice(0, nul)}\n` : ' No stats in this file\n';
  const top = dat.buffers[0];
  for (const d of top?.cpus ?? []) {
    s += `CPU${d.cpu} data recorded at offset=0x${d.offset.toString(16)}\n    ${d.size} bytes in size\n`;
  }
  return s;
}
