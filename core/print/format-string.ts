/**
 * Splits a print format string into literal text and conversions, pairing each conversion with
 * its argument(s), the way libtraceevent 1.7's parse_args does. Its quirks decide the output:
 *
 * - Accepted inside a conversion: `# h l L z Z . 0-9 -` and `*`. A `+`, space, `c` or any other
 *   char ends the conversion and is printed as `>X<` (so `%c` prints ">c<" and `%+d` ">+<d").
 * - `%p` takes extension letters (s S f F, M m [R F], I i 4/6/S [hnlb] [c], U [lLbB], h [CDN]).
 * - A conversion without an argument fails the event ("[FAILED TO PARSE]").
 * - Text escapes: \n \t \r \\ are decoded; any other `\x` becomes `x`; `%%` becomes `%`.
 */
import type {Arg} from './parser.ts';
import {parseConv, type ConvSpec} from './printf.ts';

export type SegKind = 'text' | 'digit' | 'pointer' | 'string';

export interface Segment {
  kind: SegKind;
  /** Literal text, or the conversion as written (`%-5lu`, `%pI4`). */
  text: string;
  spec: ConvSpec | undefined;
  arg: Arg | undefined;
  /** Argument consumed by `*`, if any. */
  lenArg: Arg | undefined;
  /** Length modifier count: -2 hh, -1 h, 0 none, 1 l/z, 2 ll/L. */
  ls: number;
  /**
   * Integer conversions of a plain field or `REC->field[constant]`: where to read the value
   * (record offset and size 1/2/4/8), so the renderer can skip the evaluator. -1: none.
   */
  fastOffset: number;
  fastSize: number;
  /**
   * Pointer conversions the renderer prints from `fast*` without the evaluator: 0 `%ps`/`%pf`
   * (symbol name), 1 `%pS`/`%pF` (name+0xoff), 2 plain `%p`; -1 others.
   */
  ptrStyle: number;
}

export interface SegmentList {
  segs: Segment[];
  /** Why libtraceevent would mark the event failed, if it would. */
  failed: string | undefined;
}

/** Number of pointer-extension chars after `%p` (libtraceevent parse_arg_format_pointer). */
function pointerExtLen(f: string, i: number): number {
  const c = f[i];
  const n1 = f[i + 1];
  switch (c) {
    case 'F':
    case 'S':
    case 'f':
    case 's':
      return 1;
    case 'M':
    case 'm':
      return n1 === 'R' || n1 === 'F' ? 2 : 1;
    case 'I':
    case 'i': {
      let ret = 0;
      let idx = i + 2;
      if (n1 === 'S') {
        while (f[idx] === 'p' || f[idx] === 'f' || f[idx] === 's') {
          ret++;
          idx++;
        }
      }
      if (n1 === 'S' || n1 === '4') {
        if ('hnlb'.includes(f[idx] ?? '#')) {
          ret++;
          idx++;
        }
      }
      if (n1 === '4') ret++;
      else if (n1 === 'S' || n1 === '6') {
        if (f[idx] === 'c') ret++;
        ret++;
      }
      return ret + 1;
    }
    case 'U':
      return 'LlBb'.includes(n1 ?? '#') ? 2 : 1;
    case 'h':
      return 'CDN'.includes(n1 ?? '#') ? 2 : 1;
    default:
      return 0;
  }
}

const isIntSize = (n: number): boolean => n === 1 || n === 2 || n === 4 || n === 8;

/** [offset, size] of an argument that is a plain integer field read (see Segment.fastOffset). */
function fastRead(a: Arg): [number, number] | undefined {
  if (a.kind === 'field' && a.field && isIntSize(a.field.size))
    return [a.field.offset, a.field.size];
  if (a.kind === 'op' && a.text === '[') {
    const base = a.left!;
    const idx = a.right!;
    const f = base.field;
    if (base.kind === 'field' && f && idx.kind === 'atom' && /^[0-9]+$/.test(idx.text)) {
      const i = Number(idx.text);
      if (isIntSize(f.elementSize) && i < 0x10000)
        return [f.offset + i * f.elementSize, f.elementSize];
    }
  }
  return undefined;
}

function textSeg(text: string): Segment {
  return {
    kind: 'text',
    text,
    spec: undefined,
    arg: undefined,
    lenArg: undefined,
    ls: 0,
    fastOffset: -1,
    fastSize: 0,
    ptrStyle: -1,
  };
}

/** Pointer style (see Segment.ptrStyle) of a `%p…` conversion text. */
function pointerStyle(text: string): number {
  const e = text[text.indexOf('p') + 1] ?? '';
  if (e === 's' || e === 'f') return 0;
  if (e === 'S' || e === 'F') return 1;
  return 'MmIiUh'.includes(e) && e !== '' ? -1 : 2;
}

/** fastRead through pointer casts, which leave the value as it is (castValue). */
function fastPointerRead(a: Arg): [number, number] | undefined {
  while (a.kind === 'type' && a.text.endsWith('*') && a.left) a = a.left;
  return a.kind === 'field' ? fastRead(a) : undefined;
}

/** Build the segment list for `format` with `args` (consumed in order). */
export function buildSegments(format: string, args: readonly Arg[]): SegmentList {
  const segs: Segment[] = [];
  let failed: string | undefined;
  let argi = 0;
  const n = format.length;
  let i = 0;
  while (i < n) {
    if (format[i] === '%' && format[i + 1] !== '%') {
      // One conversion.
      const start = i;
      i++;
      let ls = 0;
      let lenArg: Arg | undefined;
      let done = false;
      for (; i < n && !done; i++) {
        const c = format[i];
        if (c === '#' || c === '.' || c === '-' || (c >= '0' && c <= '9')) continue;
        if (c === 'h') ls--;
        else if (c === 'l') ls++;
        else if (c === 'L') ls = 2;
        else if (c === 'z' || c === 'Z') ls = 1;
        else if (c === '*') {
          if (argi >= args.length) {
            failed ??= 'no argument match';
            i = n;
            break;
          }
          if (lenArg) failed ??= 'argument already matched';
          lenArg = args[argi++];
        } else if (
          c === 'p' ||
          c === 'd' ||
          c === 'u' ||
          c === 'i' ||
          c === 'x' ||
          c === 'X' ||
          c === 'o' ||
          c === 's'
        ) {
          if (argi >= args.length) {
            failed ??= c === 's' ? 'no matching argument' : 'no argument match';
            i = n;
            break;
          }
          let end = i;
          if (c === 'p') end += pointerExtLen(format, i + 1);
          const text = format.slice(start, end + 1);
          const kind: SegKind = c === 'p' ? 'pointer' : c === 's' ? 'string' : 'digit';
          if (kind === 'digit' && (ls < -2 || ls > 2)) failed ??= `bad count (${ls})`;
          const arg = args[argi++];
          const ptrStyle = kind === 'pointer' && !lenArg ? pointerStyle(text) : -1;
          const fast =
            kind === 'digit' ? fastRead(arg) : ptrStyle >= 0 ? fastPointerRead(arg) : undefined;
          segs.push({
            kind,
            text,
            spec: parseConv(text),
            arg,
            lenArg,
            ls: kind === 'string' ? 0 : ls,
            fastOffset: fast ? fast[0] : -1,
            fastSize: fast ? fast[1] : 0,
            ptrStyle: fast ? ptrStyle : -1,
          });
          i = end;
          done = true;
        } else {
          segs.push(textSeg(`>${c}<`));
          done = true;
        }
      }
      continue;
    }
    // Literal text up to the next conversion.
    let s = '';
    while (i < n) {
      const c = format[i];
      if (c === '\\') {
        i++;
        const e = format[i];
        if (e === 'n') s += '\n';
        else if (e === 't') s += '\t';
        else if (e === 'r') s += '\r';
        else if (e !== undefined) s += e;
        i++;
        continue;
      }
      if (c === '%') {
        if (format[i + 1] === '%') {
          s += '%';
          i += 2;
          continue;
        }
        break;
      }
      s += c;
      i++;
    }
    segs.push(textSeg(s));
  }
  return {segs, failed};
}
