/**
 * The part of glibc printf that libtraceevent feeds: one conversion at a time, with the value
 * already cast to the C type the format's length modifier implies.
 *
 *   %[flags][width|*][.precision|*][hh|h|l|ll|L|z]conv    flags: - 0 # + space
 *
 * Integers are bigints holding the value's bits; `bits` (8/16/32/64) says how wide the C
 * argument was, so `%d` of 0xfffffffe prints -2 and `%u` prints 4294967294.
 */

export interface ConvSpec {
  left: boolean;
  zero: boolean;
  alt: boolean;
  plus: boolean;
  space: boolean;
  /** -1 none, -2 taken from the argument list (`*`). */
  width: number;
  precision: number;
  conv: string;
}

/** Parse a single conversion such as `%-08.3lx` (from `%` to the conversion char). */
export function parseConv(text: string): ConvSpec {
  const spec: ConvSpec = {
    left: false,
    zero: false,
    alt: false,
    plus: false,
    space: false,
    width: -1,
    precision: -1,
    conv: text[text.length - 1] ?? 's',
  };
  let i = 1;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '-') spec.left = true;
    else if (c === '0') spec.zero = true;
    else if (c === '#') spec.alt = true;
    else if (c === '+') spec.plus = true;
    else if (c === ' ') spec.space = true;
    else break;
  }
  if (text[i] === '*') {
    spec.width = -2;
    i++;
  } else {
    let w = '';
    while (i < text.length && text[i] >= '0' && text[i] <= '9') w += text[i++];
    if (w) spec.width = Number(w);
  }
  if (text[i] === '.') {
    i++;
    if (text[i] === '*') {
      spec.precision = -2;
      i++;
    } else {
      let p = '';
      while (i < text.length && text[i] >= '0' && text[i] <= '9') p += text[i++];
      spec.precision = p ? Number(p) : 0;
    }
  }
  return spec;
}

/** Apply a `*` argument: width (negative means left-justify) or precision (negative = none). */
export function withStar(
  spec: ConvSpec,
  star: number,
): {width: number; precision: number; left: boolean} {
  let width = spec.width;
  let precision = spec.precision;
  let left = spec.left;
  if (width === -2) {
    width = star < 0 ? -star : star;
    if (star < 0) left = true;
  } else if (precision === -2) {
    precision = star < 0 ? -1 : star;
  }
  return {width, precision, left};
}

function pad(body: string, width: number, left: boolean): string {
  if (body.length >= width) return body;
  const fill = ' '.repeat(width - body.length);
  return left ? body + fill : fill + body;
}

/** `%s` (and the string-like conversions libtraceevent prints through `%s`). */
export function formatString(spec: ConvSpec, s: string, star = 0): string {
  if (spec.width === -1 && spec.precision === -1) return s;
  const {width, precision, left} = withStar(spec, star);
  const body = precision >= 0 && s.length > precision ? s.slice(0, precision) : s;
  return width > 0 ? pad(body, width, left) : body;
}

/** Integer conversions d i u x X o c. `bits` is the C argument width. */
export function formatInt(spec: ConvSpec, value: bigint, bits: number, star = 0): string {
  const conv = spec.conv;
  if (conv === 'c') return formatChar(spec, Number(value & 0xffn), star);
  const signed = conv === 'd' || conv === 'i';
  let v = signed ? BigInt.asIntN(bits, value) : BigInt.asUintN(bits, value);
  const negative = v < 0n;
  if (negative) v = -v;
  const digits = conv === 'x' || conv === 'X' ? hexBig(v) : v.toString(radix(conv));
  return finishInt(spec, star, negative, v === 0n, digits);
}

/**
 * Same as formatInt for values that fit 32 bits (`value` is the zero-extended field, 0..2^32-1):
 * the hot path for int-sized fields, without bigints.
 */
export function formatIntSmall(spec: ConvSpec, value: number, bits: number, star = 0): string {
  const conv = spec.conv;
  if (conv === 'c') return formatChar(spec, value & 0xff, star);
  const signed = conv === 'd' || conv === 'i';
  let v: number;
  if (bits >= 64) v = value;
  else if (bits === 32) v = signed ? value | 0 : value >>> 0;
  else if (bits === 16) v = signed ? (value << 16) >> 16 : value & 0xffff;
  else v = signed ? (value << 24) >> 24 : value & 0xff;
  const negative = v < 0;
  if (negative) v = -v;
  return finishInt(spec, star, negative, v === 0, digitsOf(v, conv));
}

/**
 * formatInt for a 64-bit value given as two u32 halves, without bigints where possible: values
 * below 2^53, and any value in hex. Returns undefined when the bigint path is needed.
 */
export function formatInt64Halves(
  spec: ConvSpec,
  hi: number,
  lo: number,
  star = 0,
): string | undefined {
  const conv = spec.conv;
  if (conv === 'c') return formatChar(spec, lo & 0xff, star);
  const signed = conv === 'd' || conv === 'i';
  if (signed && hi >= 0x80000000) return undefined;
  if (conv === 'x' || conv === 'X') {
    return finishInt(spec, star, false, hi === 0 && lo === 0, hex64(hi, lo));
  }
  if (hi < 0x200000) {
    const v = hi * 4294967296 + lo;
    return finishInt(spec, star, false, v === 0, digitsOf(v, conv));
  }
  return undefined;
}

function radix(conv: string): number {
  return conv === 'x' || conv === 'X' ? 16 : conv === 'o' ? 8 : 10;
}

/** Digits of a non-negative integer below 2^53 in the conversion's radix. */
function digitsOf(v: number, conv: string): string {
  if (conv === 'x' || conv === 'X') {
    return v <= 0xffffffff ? hex32(v) : hex64(Math.floor(v / 4294967296), v >>> 0);
  }
  return conv === 'o' ? v.toString(8) : String(v);
}

// Number.prototype.toString(16) is slow in V8 (a runtime call per number); hex is printed for
// every pointer, so it goes through byte tables instead.
const HEX_BYTE: string[] = [];
const HEX_SHORT: string[] = [];
for (let i = 0; i < 256; i++) {
  HEX_SHORT.push(i.toString(16));
  HEX_BYTE.push(i.toString(16).padStart(2, '0'));
}

/** Lower-case hex of a u32 without leading zeros ("0" for 0). */
export function hex32(v: number): string {
  if (v < 0x100) return HEX_SHORT[v];
  if (v < 0x10000) return HEX_SHORT[v >>> 8] + HEX_BYTE[v & 255];
  if (v < 0x1000000) return HEX_SHORT[v >>> 16] + HEX_BYTE[(v >>> 8) & 255] + HEX_BYTE[v & 255];
  return (
    HEX_SHORT[v >>> 24] + HEX_BYTE[(v >>> 16) & 255] + HEX_BYTE[(v >>> 8) & 255] + HEX_BYTE[v & 255]
  );
}

/** Lower-case hex of a u64 given as u32 halves, without leading zeros. */
export function hex64(hi: number, lo: number): string {
  if (hi === 0) return hex32(lo);
  return (
    hex32(hi) +
    HEX_BYTE[lo >>> 24] +
    HEX_BYTE[(lo >>> 16) & 255] +
    HEX_BYTE[(lo >>> 8) & 255] +
    HEX_BYTE[lo & 255]
  );
}

/** Lower-case hex of a bigint holding an unsigned 64-bit value (larger values: toString). */
export function hexBig(v: bigint): string {
  if (v >= 0n && v <= 0xffffffffffffffffn) {
    return hex64(Number(v >> 32n), Number(v & 0xffffffffn));
  }
  return v.toString(16);
}

function formatChar(spec: ConvSpec, byte: number, star: number): string {
  const {width, left} = withStar(spec, star);
  const ch = String.fromCharCode(byte);
  return width > 0 ? pad(ch, width, left) : ch;
}

function finishInt(
  spec: ConvSpec,
  star: number,
  negative: boolean,
  isZero: boolean,
  magnitude: string,
): string {
  const conv = spec.conv;
  // Hot path: a bare %d/%u/%x/%lu/… (no flags, width or precision).
  if (
    spec.width === -1 &&
    spec.precision === -1 &&
    !spec.alt &&
    !spec.plus &&
    !spec.space &&
    conv !== 'X' &&
    conv !== 'o'
  ) {
    return negative ? `-${magnitude}` : magnitude;
  }
  const {width, precision, left} = withStar(spec, star);
  const signed = conv === 'd' || conv === 'i';
  let sign = '';
  if (negative) sign = '-';
  else if (signed && spec.plus) sign = '+';
  else if (signed && spec.space) sign = ' ';
  let digits = conv === 'X' ? magnitude.toUpperCase() : magnitude;
  let prefix = '';
  if (spec.alt && !isZero) {
    if (conv === 'x') prefix = '0x';
    else if (conv === 'X') prefix = '0X';
  }
  if (precision >= 0) {
    if (precision === 0 && isZero) digits = '';
    if (digits.length < precision) digits = '0'.repeat(precision - digits.length) + digits;
  }
  if (conv === 'o' && spec.alt && digits[0] !== '0') digits = `0${digits}`;
  const head = sign + prefix;
  if (spec.zero && !left && precision < 0 && width > head.length + digits.length) {
    digits = '0'.repeat(width - head.length - digits.length) + digits;
  }
  return width > 0 ? pad(head + digits, width, left) : head + digits;
}

/** glibc `%p`: "(nil)" for 0, else 0x + hex. */
export function formatPlainPointer(value: bigint): string {
  return value === 0n ? '(nil)' : `0x${hexBig(BigInt.asUintN(64, value))}`;
}
