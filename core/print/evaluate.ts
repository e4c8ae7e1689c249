/**
 * Evaluates parsed print arguments against one record, as libtraceevent's eval_num_arg
 * (numbers: unsigned 64-bit, fields zero-extended, casts only mask) and print_str_arg (strings,
 * flags, symbols, hex dumps, bitmasks …) do.
 *
 * Deliberate differences from the C code, all for records the C code would read out of bounds
 * or crash on: reads past the record give 0 / stop at the record end; division or modulo by
 * zero gives 0; shift counts are taken mod 64 (what x86 does).
 */
import type {ConvSpec} from './printf.ts';
import {formatString, hex32, hexBig} from './printf.ts';
import {castValue, strtoll, type Arg, type FlagSym} from './parser.ts';
import type {EvalContext} from './eval-context.ts';
import {binaryOp} from './binary-ops.ts';

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** libtraceevent's table for flag/symbol names that the kernel left unexpanded. */
const KNOWN_FLAGS: Record<string, bigint> = {
  HI_SOFTIRQ: 0n,
  TIMER_SOFTIRQ: 1n,
  NET_TX_SOFTIRQ: 2n,
  NET_RX_SOFTIRQ: 3n,
  BLOCK_SOFTIRQ: 4n,
  IRQ_POLL_SOFTIRQ: 5n,
  TASKLET_SOFTIRQ: 6n,
  SCHED_SOFTIRQ: 7n,
  HRTIMER_SOFTIRQ: 8n,
  RCU_SOFTIRQ: 9n,
  HRTIMER_NORESTART: 0n,
  HRTIMER_RESTART: 1n,
};

/** eval_flag: signed value of a flag/symbol entry (-1 when unknown). */
export function flagValue(sym: FlagSym): bigint {
  let n = sym.num;
  if (n === undefined) n = sym.num = flagValueOf(sym.value);
  return n;
}

function flagValueOf(v: string): bigint {
  if (v.length > 0 && v[0] >= '0' && v[0] <= '9') return BigInt.asIntN(64, strtoull(v));
  return KNOWN_FLAGS[v] ?? -1n;
}

/** strtoull(text, NULL, 0): leading number in base 0 notation, unsigned 64-bit wrap. */
export function strtoull(text: string): bigint {
  return BigInt.asUintN(64, strtoll(text));
}

/** Value of an atom in number context: its number, else the address of a kernel symbol. */
function atomValue(a: Arg, c: EvalContext): bigint {
  const gen = c.registry.generation;
  if (a.cachedGen === gen) return a.cachedNum;
  const v = atomValueOf(a, c);
  a.cachedNum = v;
  a.cachedGen = gen;
  return v;
}

function atomValueOf(a: Arg, c: EvalContext): bigint {
  const v = strtoull(a.text);
  if (v !== 0n) return v;
  const t = a.text;
  if (t.length > 0 && t[0] >= '0' && t[0] <= '9') return 0n;
  return c.registry.symbolAddress(t) ?? 0n;
}

export function evalNum(a: Arg, c: EvalContext): bigint {
  switch (a.kind) {
    case 'atom':
      return atomValue(a, c);
    case 'field': {
      const f = a.field;
      if (!f || f.offset + f.size > c.size) return 0n;
      return c.readNumber(f.offset, f.size);
    }
    case 'type':
      return castValue(evalNum(a.left!, c), a.text, false);
    case 'op':
      return evalOp(a, c);
    case 'dynarraylen':
      c.dynLoc(a.field!);
      return BigInt(c.dynLen);
    default:
      // flags, symbols, strings, hex, arrays, dynamic arrays (a host pointer in C): 0
      return 0n;
  }
}

function evalOp(a: Arg, c: EvalContext): bigint {
  const op = a.text;
  if (op === '[') return evalIndex(a, c);
  if (op === '?') {
    const colon = a.right!;
    return evalNum(a.left!, c) !== 0n ? evalNum(colon.left!, c) : evalNum(colon.right!, c);
  }
  const l = a.left!.kind === 'null' ? 0n : evalNum(a.left!, c);
  const r = evalNum(a.right!, c);
  const v = binaryOp(op, l, r, U64);
  if (v !== undefined) return v;
  switch (op) {
    case '!':
      return r === 0n ? 1n : 0n;
    case '~':
      return U64(~r);
    case '/':
      return r === 0n ? 0n : l / r;
    case '%':
      return r === 0n ? 0n : l % r;
    case '*':
      return U64(l * r);
    case '^':
      // libtraceevent 1.7 has no case for '^' in eval_num_arg: "unknown op", value 0.
      return 0n;
    default:
      return 0n;
  }
}

function evalIndex(a: Arg, c: EvalContext): bigint {
  const idx = evalNum(a.right!, c);
  let base = a.left!;
  let cast: Arg | undefined;
  while (base.kind === 'type') {
    cast ??= base;
    base = base.left!;
  }
  let size = c.longSize;
  let offset: number;
  if (base.kind === 'dynarray') {
    c.dynLoc(base.field!);
    offset = c.dynOffset + Number(BigInt.asUintN(32, idx));
    if (base.field!.elementSize) size = base.field!.elementSize;
  } else if (base.kind === 'field') {
    const f = base.field;
    if (!f) return 0n;
    size = f.elementSize;
    offset = f.offset + Number(BigInt.asIntN(32, idx)) * f.elementSize;
  } else {
    // libtraceevent falls back to treating '[' as an unknown binary op: 0.
    return 0n;
  }
  if (offset + size > c.size) return 0n;
  const v = c.readNumber(offset, size);
  return cast ? castValue(v, cast.text, true) : v;
}

/** print_str_arg: the text an argument prints through a `%s`-style conversion. */
export function printStr(a: Arg, c: EvalContext, spec: ConvSpec, star: number): string {
  switch (a.kind) {
    case 'atom':
      return formatString(spec, a.text, star);
    case 'field':
      return fieldAsString(a, c, spec, star);
    case 'flags':
      return printFlags(a, c, spec, star);
    case 'symbol': {
      const val = evalNum(a.left!, c);
      const sval = BigInt.asIntN(64, val);
      for (const sym of a.syms) {
        if (sval === flagValue(sym)) return formatString(spec, sym.str, star);
      }
      return `0x${hexBig(val)}`;
    }
    case 'hex':
    case 'hexstr':
      return printHex(a, c);
    case 'intarray':
      return printIntArray(a, c);
    case 'string': {
      const f = a.field;
      if (!f) return '';
      c.dynLoc(f);
      if (c.dynLen === 0) return '';
      return formatString(spec, c.cStringUnbounded(c.dynOffset), star);
    }
    case 'bstring':
      return formatString(spec, a.text, star);
    case 'bitmask':
    case 'cpumask': {
      const f = a.field;
      if (!f) return '';
      c.dynLoc(f);
      const text =
        a.kind === 'bitmask'
          ? bitmaskText(c, c.dynOffset, c.dynLen)
          : cpumaskText(c, c.dynOffset, c.dynLen);
      return formatString(spec, text, star);
    }
    case 'op':
      if (a.text !== '?') return '';
      return evalNum(a.left!, c) !== 0n
        ? printStr(a.right!.left!, c, spec, star)
        : printStr(a.right!.right!, c, spec, star);
    default:
      // type casts, dynamic arrays and lengths print nothing through %s
      return '';
  }
}

function fieldAsString(a: Arg, c: EvalContext, spec: ConvSpec, star: number): string {
  const f = a.field;
  if (!f) return '';
  if (f.arrayLen < 0 && f.dynamic === 'none' && f.size === c.longSize) {
    // A long-sized scalar printed with %s: a pointer, maybe to a trace_printk string.
    // libtraceevent reads it in host byte order (x86: little-endian) whatever the file's.
    const addr = c.readHostNumber(f.offset, f.size);
    const printk = c.registry.printkFormat(addr);
    return printk ?? addr.toString(16);
  }
  const len = f.size || c.size - f.offset;
  return formatString(spec, c.cString(f.offset, len), star);
}

function printFlags(a: Arg, c: EvalContext, spec: ConvSpec, star: number): string {
  const v64 = evalNum(a.left!, c);
  if (v64 >= 0n && v64 <= 0xffffffffn) return printFlags32(a, Number(v64), spec, star);
  let val = BigInt.asIntN(64, v64);
  let out = '';
  let printed = false;
  const delim = a.hasDelim ? a.text : undefined;
  for (const sym of a.syms) {
    const fval = flagValue(sym);
    if (val === 0n && fval < 0n) {
      out += formatString(spec, sym.str, star);
      break;
    }
    if (fval > 0n && (val & fval) === fval) {
      if (printed && delim !== undefined) out += delim;
      out += formatString(spec, sym.str, star);
      printed = true;
      val &= ~fval;
    }
  }
  if (val !== 0n) {
    if (printed && delim !== undefined) out += delim;
    out += `0x${hexBig(BigInt.asUintN(64, val))}`;
  }
  return out;
}

/**
 * Flag values as numbers for printFlags32: -1 for negative ones (they only match a zero value),
 * Infinity for ones above 32 bits (they never match a 32-bit value).
 */
const flagNumbers = new WeakMap<FlagSym[], Float64Array>();

function flagNumbersOf(syms: FlagSym[]): Float64Array {
  let nums = flagNumbers.get(syms);
  if (nums === undefined) {
    nums = new Float64Array(syms.length);
    for (let i = 0; i < syms.length; i++) {
      const f = flagValue(syms[i]);
      nums[i] = f < 0n ? -1 : f > 0xffffffffn ? Infinity : Number(f);
    }
    flagNumbers.set(syms, nums);
  }
  return nums;
}

/** printFlags for a value that fits 32 bits, the same steps on numbers. */
function printFlags32(a: Arg, value: number, spec: ConvSpec, star: number): string {
  const syms = a.syms;
  const nums = flagNumbersOf(syms);
  let val = value;
  let out = '';
  let printed = false;
  const delim = a.hasDelim ? a.text : undefined;
  for (let i = 0; i < syms.length; i++) {
    const fval = nums[i];
    if (val === 0 && fval < 0) {
      out += formatString(spec, syms[i].str, star);
      break;
    }
    if (fval > 0 && fval !== Infinity && (val & fval) >>> 0 === fval) {
      if (printed && delim !== undefined) out += delim;
      out += formatString(spec, syms[i].str, star);
      printed = true;
      val = (val & ~fval) >>> 0;
    }
  }
  if (val !== 0) {
    if (printed && delim !== undefined) out += delim;
    out += `0x${hex32(val)}`;
  }
  return out;
}

/** Start of the data a hex/array helper dumps: a dynamic array or a field; -1 if neither. */
function dataStart(d: Arg, c: EvalContext): number {
  if (d.kind === 'dynarray') {
    c.dynLoc(d.field!);
    return c.dynOffset;
  }
  if (d.kind === 'field' && d.field) return d.field.offset;
  return -1;
}

function hex2(v: number): string {
  return v < 16 ? `0${v.toString(16)}` : v.toString(16);
}

function printHex(a: Arg, c: EvalContext): string {
  const start = dataStart(a.left!, c);
  if (start < 0) return '';
  const len = Number(BigInt.asUintN(32, evalNum(a.right!, c)));
  // Like libtraceevent, no bound but the buffer: a length past the record dumps what follows.
  const end = Math.min(start + len, c.bytes.length - c.start);
  let out = '';
  for (let i = start; i < end; i++) {
    if (i > start && a.kind === 'hex') out += ' ';
    out += hex2(c.byteUnbounded(i));
  }
  return out;
}

function printIntArray(a: Arg, c: EvalContext): string {
  let p = dataStart(a.left!, c);
  if (p < 0) return '';
  const count = Number(BigInt.asUintN(32, evalNum(a.right!, c)));
  let el = Number(BigInt.asIntN(32, evalNum(a.third!, c)));
  let out = '';
  for (let i = 0; i < count; i++) {
    if (p >= c.size) break;
    if (i) out += ' ';
    if (el === 1 || el === 2 || el === 4 || el === 8) {
      // host byte order (x86: little-endian), as libtraceevent reads these elements
      out += c.readHostNumber(p, el).toString(10);
    } else {
      out += `BAD SIZE:${el} 0x${c.byte(p).toString(16)}`;
      el = 1;
    }
    p += el;
  }
  return out;
}

/** Kernel bitmask as hex words, most significant first, a comma every 32 bits. */
function bitmaskText(c: EvalContext, at: number, size: number): string {
  const nrBits = size * 8;
  const strSize = Math.trunc((nrBits + 3) / 4) + Math.trunc((nrBits - 1) / 32);
  if (strSize <= 0) return '';
  const chars = new Array<string>(strSize).fill('\0');
  let len = 0;
  for (let i = strSize - 2; i >= 0; i -= 2) {
    const index = c.littleEndian ? len : size - (len + 1);
    const h = hex2(c.byte(at + index));
    chars[i] = h[0];
    chars[i + 1] = h[1];
    len++;
    if (!(len & 3) && i > 0) {
      i--;
      chars[i] = ',';
    }
  }
  const s = chars.join('');
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

/** CPU list such as "0-3,8". */
function cpumaskText(c: EvalContext, at: number, size: number): string {
  const nrBits = size * 8;
  let out = '';
  let runStart = -1;
  for (let bit = 0; bit <= nrBits; bit++) {
    let set = false;
    if (bit < nrBits) {
      const i = bit >> 3;
      const index = c.littleEndian ? i : size - (i + 1);
      set = ((c.byte(at + index) >> (bit & 7)) & 1) === 1;
    }
    if (set && runStart < 0) runStart = bit;
    else if (!set && runStart >= 0) {
      if (out) out += ',';
      out += runStart === bit - 1 ? `${runStart}` : `${runStart}-${bit - 1}`;
      runStart = -1;
    }
  }
  return out;
}
