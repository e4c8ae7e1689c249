/**
 * Renders the text of an event (what `trace-cmd report` prints after `name:`) from its record,
 * following libtraceevent 1.7 (pretty_print / print_event_cache):
 *
 *   format + args ──parse once per event id──▶ segments [text | conversion+arg] ──per record──▶ text
 *
 * Events whose print fmt libtraceevent cannot parse print "[FAILED TO PARSE]" and then every
 * event field as ` name=value` (print_fields / print_field_raw); each such render is counted
 * in `fallbacks` under "system:name". ftrace `bprint` builds its format and arguments from the
 * record (bprint.ts). The record bytes are not copied; one context object is reused, so the
 * steady-state cost per event is the output string plus small bigint temporaries.
 */
import {isDecodeError} from '../errors.ts';
import type {EventFormat, FieldDef} from '../format/event-format.ts';
import type {EventRegistry} from '../format/event-registry.ts';
import {bprintArgs} from './bprint.ts';
import {EvalContext} from './eval-context.ts';
import {evalNum, printStr} from './evaluate.ts';
import {buildSegments, type Segment} from './format-string.ts';
import {Arg, PrintFmtParser} from './parser.ts';
import {printPointer} from './pointers.ts';
import {
  REPLACE_HANDLERS,
  handlerState,
  hasPrefixHandler,
  prefixText,
  type ReplaceHandler,
} from './plugins.ts';
import {formatInt, formatInt64Halves, formatIntSmall, hex64} from './printf.ts';

interface Program {
  format: EventFormat;
  segs: Segment[];
  /** Why libtraceevent would fail this event (then we print its fields). */
  failed: string | undefined;
  isBprint: boolean;
  /** Plugin handler replacing the print fmt text (trace-cmd's default plugins). */
  handler: ReplaceHandler | undefined;
  /** Plugin that prints a prefix before the normal text (plugin_kmem). */
  prefix: boolean;
  /** The text cannot end with a newline (its last segment is a number or other text). */
  endsPlain: boolean;
  /** Whether the text can hold a NUL (then it is cut there, as C's trace_seq would). */
  mayNul: boolean;
}

export interface RendererOptions {
  /**
   * Emulate the libtraceevent plugins trace-cmd report loads by default (sched_switch,
   * sched_wakeup[_new], raw_data, kernel_stack, hrtimer, tlb_flush, kmem call sites).
   * Default true; false gives the plain print-fmt text (libtraceevent without plugins).
   */
  plugins?: boolean;
  /**
   * Drop one trailing newline, as trace-cmd report does before ending the line (trace-read.c).
   * Default true; false keeps libtraceevent's text as is (e.g. ftrace:print's "...\n").
   */
  trimNewline?: boolean;
}

/** C argument width for a length-modifier count (hh h - l ll). */
function lsBits(ls: number): number {
  return ls === 0 ? 32 : ls === -1 ? 16 : ls === -2 ? 8 : 64;
}

export class EventRenderer {
  /** Renders that fell back to "[FAILED TO PARSE]" + fields, by "system:name". */
  readonly fallbacks = new Map<string, number>();
  /** Why each failed event failed to compile (for diagnostics), by "system:name". */
  readonly failures = new Map<string, string>();
  private readonly programs = new Map<number, Program>();
  private readonly ctx: EvalContext;
  private generation = -1;

  private readonly plugins: boolean;
  private readonly trimNewline: boolean;
  /** Whether the text being rendered cannot end with a newline (set by renderInfo). */
  private lastEndsPlain = false;
  /** render() never returns text ending with a newline (see RendererOptions.trimNewline). */
  readonly trimsNewline: boolean;

  constructor(
    private readonly registry: EventRegistry,
    opts: RendererOptions = {},
  ) {
    this.ctx = new EvalContext(registry, registry.longSize);
    this.plugins = opts.plugins ?? true;
    this.trimNewline = opts.trimNewline ?? true;
    this.trimsNewline = this.trimNewline;
  }

  /** Text of one event. `payloadOffset`/`payloadLen` delimit the record (from common_type). */
  render(
    format: EventFormat,
    bytes: Uint8Array,
    payloadOffset: number,
    payloadLen: number,
  ): string {
    const text = this.renderInfo(format, bytes, payloadOffset, payloadLen);
    if (!this.trimNewline || this.lastEndsPlain) return text;
    return text.endsWith('\n') ? text.slice(0, -1) : text;
  }

  private renderInfo(
    format: EventFormat,
    bytes: Uint8Array,
    payloadOffset: number,
    payloadLen: number,
  ): string {
    const prog = this.program(format);
    this.lastEndsPlain = prog.endsPlain && prog.handler === undefined;
    const c = this.ctx;
    c.setRecord(bytes, payloadOffset, payloadLen);
    let head = '';
    if (prog.handler) {
      handlerState.continuePretty = false;
      head = prog.handler(format, c);
      if (!handlerState.continuePretty) return head;
    } else if (prog.prefix) {
      head = prefixText(format, c);
    }
    if (prog.failed !== undefined) {
      const key = `${format.system}:${format.name}`;
      this.fallbacks.set(key, (this.fallbacks.get(key) ?? 0) + 1);
      return `${head}[FAILED TO PARSE]${this.rawFields(format)}`;
    }
    let segs = prog.segs;
    if (prog.isBprint) {
      const b = bprintArgs(format, c);
      if (b) segs = buildSegments(b.format, b.args).segs;
    }
    let out = head;
    for (let i = 0; i < segs.length; i++) out += this.segment(segs[i]);
    if (!prog.mayNul && !prog.isBprint) return out;
    const nul = out.indexOf('\0');
    return nul < 0 ? out : out.slice(0, nul);
  }

  /** Compiled program for an event (compiled on first use, cached by id). */
  private program(format: EventFormat): Program {
    if (this.generation !== this.registry.generation) {
      this.programs.clear();
      this.generation = this.registry.generation;
    }
    let p = this.programs.get(format.id);
    if (p && p.format === format) return p;
    p = compile(format, this.registry.longSize);
    if (this.plugins) {
      p.handler = REPLACE_HANDLERS.get(`${format.system}:${format.name}`);
      p.prefix = hasPrefixHandler(format);
    }
    // (plugin_kmem's prefix is a kallsyms name: never a NUL)
    p.mayNul = p.handler !== undefined || p.segs.some(segmentMayNul);
    const last = p.segs[p.segs.length - 1];
    p.endsPlain =
      !p.mayNul &&
      p.failed === undefined &&
      !p.isBprint &&
      last !== undefined &&
      ((last.kind === 'text' && last.text.length > 0 && !last.text.endsWith('\n')) ||
        (last.kind === 'digit' && last.spec?.conv !== 'c'));
    if (p.failed !== undefined) this.failures.set(`${format.system}:${format.name}`, p.failed);
    this.programs.set(format.id, p);
    return p;
  }

  private segment(s: Segment): string {
    const c = this.ctx;
    switch (s.kind) {
      case 'text':
        return s.text;
      case 'digit': {
        const star = s.lenArg ? Number(BigInt.asIntN(32, evalNum(s.lenArg, c))) : 0;
        const bits = lsBits(s.ls);
        if (s.fastSize > 0) {
          // Hot path: a plain field (or constant-index element) read zero-extended as evalNum
          // would, out of range as 0, without bigints where the value allows.
          const at = s.fastOffset;
          if (s.fastSize < 8 || at + 8 > c.size) {
            return formatIntSmall(
              s.spec!,
              c.readSmall(at, s.fastSize < 8 ? s.fastSize : 0),
              bits,
              star,
            );
          }
          const le = c.littleEndian;
          const lo = c.view.getUint32(c.start + at + (le ? 0 : 4), le);
          if (bits <= 32) return formatIntSmall(s.spec!, lo, bits, star);
          const hi = c.view.getUint32(c.start + at + (le ? 4 : 0), le);
          const text = formatInt64Halves(s.spec!, hi, lo, star);
          if (text !== undefined) return text;
        }
        return formatInt(s.spec!, evalNum(s.arg!, c), bits, star);
      }
      case 'pointer': {
        if (s.ptrStyle >= 0 && s.fastOffset + s.fastSize <= c.size) {
          // Hot path (%p, %pS of a field): the value as u32 halves, symbols cached by address.
          const at = s.fastOffset;
          let hi = 0;
          let lo: number;
          if (s.fastSize === 8) {
            const le = c.littleEndian;
            lo = c.view.getUint32(c.start + at + (le ? 0 : 4), le);
            hi = c.view.getUint32(c.start + at + (le ? 4 : 0), le);
          } else {
            lo = c.readSmall(at, s.fastSize);
          }
          if (s.ptrStyle === 2) return hi === 0 && lo === 0 ? '(nil)' : `0x${hex64(hi, lo)}`;
          return (
            this.registry.symbolTextHalves(hi, lo, s.ptrStyle === 1 ? 1 : 0) ?? `0x${hex64(hi, lo)}`
          );
        }
        const plen = s.lenArg ? Number(BigInt.asIntN(32, evalNum(s.lenArg, c))) : 1;
        return printPointer(s.text, plen, s.arg!, c);
      }
      case 'string': {
        const star = s.lenArg ? Number(BigInt.asIntN(32, evalNum(s.lenArg, c))) : 0;
        // A negative `*` makes libtraceevent call printf without it: glibc then prints the
        // conversion as written (observed with libtraceevent 1.7.1 on glibc).
        if (star < 0) return s.text;
        return printStr(s.arg!, c, s.spec!, star);
      }
    }
  }

  /** libtraceevent print_fields for a failed event: " name=value" for each event field. */
  private rawFields(format: EventFormat): string {
    let out = '';
    for (const f of format.fields) out += ` ${f.name}=${this.rawField(f)}`;
    return out;
  }

  private rawField(f: FieldDef): string {
    const c = this.ctx;
    if (f.arrayLen >= 0 || (f.dynamic !== 'none' && f.size === 2)) {
      let off: number;
      let len: number;
      if (f.dynamic !== 'none') {
        c.dynLoc(f);
        off = c.dynOffset;
        len = c.dynLen;
      } else {
        off = f.offset;
        len = f.size;
      }
      if (f.isString && printableArray(c, off, len)) return c.cString(off);
      let s = 'ARRAY[';
      for (let i = 0; i < len; i++) {
        if (i) s += ', ';
        const b = c.byte(off + i);
        s += b < 16 ? `0${b.toString(16)}` : b.toString(16);
      }
      return `${s}]`;
    }
    const val = c.readNumber(f.offset, f.size);
    if (f.isPointer) return `0x${val.toString(16)}`;
    if (f.signed) {
      switch (f.size) {
        case 4:
          return f.isLong
            ? `0x${BigInt.asUintN(32, val).toString(16)}`
            : BigInt.asIntN(32, val).toString();
        case 2:
          return BigInt.asIntN(16, val).toString().padStart(2, ' ');
        case 1:
          return BigInt.asIntN(8, val).toString();
        default:
          return BigInt.asIntN(64, val).toString();
      }
    }
    return f.isLong ? `0x${val.toString(16)}` : val.toString();
  }
}

/** Whether a segment's text can contain a NUL: %c, or literal text of the format / its args. */
function segmentMayNul(s: Segment): boolean {
  if (s.text.includes('\0')) return true;
  if (s.kind === 'text') return false;
  if (s.kind === 'digit') return s.spec?.conv === 'c';
  const f = s.arg?.kind === 'field' ? s.arg.field : undefined;
  // a long-sized scalar printed with %s is a trace_printk format address (see evaluate.ts)
  if (f && f.arrayLen < 0 && f.dynamic === 'none') return true;
  return s.arg === undefined || argMayNul(s.arg);
}

function argMayNul(a: Arg): boolean {
  if (a.text.includes('\0')) return true;
  for (const sym of a.syms) if (sym.str.includes('\0')) return true;
  if (a.left && argMayNul(a.left)) return true;
  if (a.right && argMayNul(a.right)) return true;
  return a.third !== undefined && argMayNul(a.third);
}

function printableArray(c: EvalContext, off: number, len: number): boolean {
  for (let i = 0; i < len; i++) {
    const b = c.byte(off + i);
    if (b === 0) break;
    const printable = b >= 0x20 && b <= 0x7e;
    const space = b === 0x20 || (b >= 0x09 && b <= 0x0d);
    if (!printable && !space) return false;
  }
  return true;
}

/** Parse an event's print fmt into segments; parse problems become `failed`. */
export function compile(format: EventFormat, longSize: number): Program {
  const isBprint = format.system === 'ftrace' && format.name === 'bprint';
  try {
    const parsed = new PrintFmtParser(format.printFmt, format, longSize).parse();
    let args = parsed.args;
    if (format.system === 'ftrace' && args.length === 0) {
      // Old ftrace formats had no arguments: libtraceevent passes every field in order.
      args = format.fields.map((f) => {
        const a = new Arg();
        a.kind = 'field';
        a.text = f.name;
        a.field = f;
        return a;
      });
    }
    if (isBprint)
      return {
        format,
        segs: [],
        failed: undefined,
        isBprint,
        handler: undefined,
        prefix: false,
        endsPlain: false,
        mayNul: true,
      };
    const {segs, failed} = buildSegments(parsed.format, args);
    return {
      format,
      segs,
      failed,
      isBprint,
      handler: undefined,
      prefix: false,
      endsPlain: false,
      mayNul: true,
    };
  } catch (e) {
    if (!isDecodeError(e)) throw e;
    return {
      format,
      segs: [],
      failed: e.detail,
      isBprint,
      handler: undefined,
      prefix: false,
      endsPlain: false,
      mayNul: true,
    };
  }
}
