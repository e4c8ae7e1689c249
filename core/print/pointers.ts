/**
 * `%p` and its kernel extensions, printed as libtraceevent 1.7 prints them (print_arg_pointer):
 *
 *   %ps %pf  symbol name          %pS %pF  symbol+0xoff     (unknown address: 0x<hex>)
 *   %pM %pMF %pMR %pm  MAC        %pI4 %pi4 %pI6 %pi6 %pI6c %pIS[p][c]  IP addresses
 *   %pU[bBlL] UUID                %ph[CDN]  hex bytes of a dynamic array
 *   %p (anything else)  glibc %p of the value: "(nil)" or 0x<hex>
 *
 * The MAC/IP/UUID forms need the argument to be a field (after casts); otherwise libtraceevent
 * prints "ARG TYPE NOT FIELD BUT <n>" with its enum value, and so do we.
 */
import {ARG_KIND_CODE, type Arg} from './parser.ts';
import type {EvalContext} from './eval-context.ts';
import {evalNum} from './evaluate.ts';
import {formatPlainPointer, hexBig} from './printf.ts';

const hex2 = (v: number): string => (v < 16 ? `0${v.toString(16)}` : v.toString(16));

/** Print a pointer conversion. `fmt` is the conversion text (e.g. `%pI4`); `plen` the `*` arg or 1. */
export function printPointer(fmt: string, plen: number, a: Arg, c: EvalContext): string {
  if (a.kind === 'bstring') return a.text;
  const p = fmt.indexOf('p');
  const ext = fmt.slice(p + 1);
  switch (ext[0]) {
    case 'F':
    case 'f':
    case 'S':
    case 's':
      return printFunction(ext[0], evalNum(a, c), c);
    case 'M':
    case 'm':
      return printMac(ext, a, c);
    case 'I':
    case 'i':
      return printIp(ext, a, c);
    case 'U':
      return printUuid(ext, a, c);
    case 'h':
      return printRawBuf(ext, a, c, plen);
    default:
      return formatPlainPointer(evalNum(a, c));
  }
}

export function printFunction(kind: string, addr: bigint, c: EvalContext): string {
  // libtraceevent prints "0x%lx" of (long)val for 4-byte longs, but `long` is the 64-bit host
  // long of trace-cmd on x86_64, so the value is never truncated.
  return c.registry.symbolText(addr, kind === 'F' || kind === 'S' ? 1 : 0) ?? `0x${hexBig(addr)}`;
}

function stripCasts(a: Arg): Arg {
  while (a.kind === 'type') a = a.left!;
  return a;
}

function notField(a: Arg): string {
  return `ARG TYPE NOT FIELD BUT ${ARG_KIND_CODE[a.kind]}`;
}

function printMac(ext: string, arg: Arg, c: EvalContext): string {
  const a = stripCasts(arg);
  if (a.kind !== 'field') return notField(a);
  const f = a.field;
  if (!f) return '';
  if (f.size !== 6) return 'INVALIDMAC';
  const sep = ext[0] === 'm' ? '' : ext[1] === 'F' ? '-' : ':';
  const b: string[] = [];
  for (let i = 0; i < 6; i++) b.push(hex2(c.byte(f.offset + i)));
  if (ext[1] === 'R') b.reverse();
  return b.join(sep);
}

function ip4(c: EvalContext, at: number, lead0: boolean, reverse: boolean): string {
  const d: string[] = [];
  for (let i = 0; i < 4; i++) {
    const v = String(c.byte(at + (reverse ? 3 - i : i)));
    d.push(lead0 ? v.padStart(3, '0') : v);
  }
  return d.join('.');
}

function ip6(c: EvalContext, at: number, colons: boolean): string {
  let out = '';
  for (let j = 0; j < 16; j += 2) {
    out += hex2(c.byte(at + j)) + hex2(c.byte(at + j + 1));
    if (colons && j < 14) out += ':';
  }
  return out;
}

function ip6c(c: EvalContext, at: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((c.byte(at + 2 * i) << 8) | c.byte(at + 2 * i + 1));
  const v4mapped =
    w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff;
  const isatap = (w[4] | 0x0200) === 0x0200 && w[5] === 0x5efe;
  const useV4 = v4mapped || isatap;
  const range = useV4 ? 6 : 8;
  let longest = 1;
  let colonPos = -1;
  for (let i = 0; i < range; i++) {
    let z = 0;
    for (let j = i; j < range && w[j] === 0; j++) z++;
    if (z > longest) {
      longest = z;
      colonPos = i;
    }
  }
  let out = '';
  let needColon = false;
  for (let i = 0; i < range; i++) {
    if (i === colonPos) {
      if (needColon || i === 0) out += ':';
      out += ':';
      needColon = false;
      i += longest - 1;
      continue;
    }
    if (needColon) out += ':';
    out += w[i].toString(16);
    needColon = true;
  }
  if (useV4) {
    if (needColon) out += ':';
    out += ip4(c, at + 12, false, false);
  }
  return out;
}

/** hnbl suffix of %pI4 / %pIS: returns [chars used, reverse]. */
function ip4Order(ch: string | undefined, c: EvalContext): [number, boolean] {
  if (ch === 'h') return [1, c.littleEndian];
  if (ch === 'l') return [1, true];
  if (ch === 'n' || ch === 'b') return [1, false];
  return [0, false];
}

function printIp(ext: string, arg: Arg, c: EvalContext): string {
  const i = ext[0];
  const version = ext[1];
  // libtraceevent prints nothing for an unknown %pI variant.
  if (version !== '4' && version !== '6' && version !== 'S') return '';
  if (version === 'S') return printIpSockaddr(ext, arg, c);
  const a = stripCasts(arg);
  if (a.kind !== 'field') return notField(a);
  const f = a.field;
  if (!f) return '';
  if (version === '4') {
    if (f.size !== 4) return 'INVALIDIPv4';
    const [, reverse] = ip4Order(ext[2], c);
    return ip4(c, f.offset, i === 'i', reverse);
  }
  if (f.size !== 16) return 'INVALIDIPv6';
  if (i === 'I' && ext[2] === 'c') return ip6c(c, f.offset);
  return ip6(c, f.offset, i === 'I');
}

const AF_INET = 2;
const AF_INET6 = 10;

function printIpSockaddr(ext: string, arg: Arg, c: EvalContext): string {
  const i = ext[0];
  let p = 2;
  let port = false;
  let compressed = false;
  if (i === 'I') {
    if (ext[p] === 'p') {
      port = true;
      p++;
    }
    if (ext[p] === 'c') {
      compressed = true;
      p++;
    }
  }
  const [, reverse] = ip4Order(ext[p], c);
  const a = stripCasts(arg);
  let at: number;
  let len: number;
  if (a.kind === 'field' && a.field) {
    at = a.field.offset;
    len = a.field.size;
  } else if (a.kind === 'dynarray') {
    c.dynLoc(a.field!);
    at = c.dynOffset;
    len = c.dynLen;
  } else {
    return `ARG NOT FIELD NOR DYNAMIC ARRAY BUT TYPE ${ARG_KIND_CODE[a.kind]}`;
  }
  // libtraceevent reads sa_family as a host (x86: little-endian) u16, whatever the file's byte
  // order; ports are network order.
  const family = c.byte(at) | (c.byte(at + 1) << 8);
  const portNum = (c.byte(at + 2) << 8) | c.byte(at + 3);
  if (family === AF_INET) {
    if (len < 16) return 'INVALIDIPv4';
    return ip4(c, at + 4, i === 'i', reverse) + (port ? `:${portNum}` : '');
  }
  if (family === AF_INET6) {
    if (len < 28) return 'INVALIDIPv6';
    const addr = compressed ? ip6c(c, at + 8) : ip6(c, at + 8, i === 'I');
    return port ? `[${addr}]:${portNum}` : addr;
  }
  return '';
}

const GUID_INDEX = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];

function printUuid(ext: string, arg: Arg, c: EvalContext): string {
  const v = ext[1];
  const upper = v === 'L' || v === 'B';
  const guid = v === 'L' || v === 'l';
  const a = stripCasts(arg);
  if (a.kind !== 'field') return notField(a);
  const f = a.field;
  if (!f) return '';
  if (f.size !== 16) return 'INVALIDUUID';
  let out = '';
  for (let i = 0; i < 16; i++) {
    const h = hex2(c.byte(f.offset + (guid ? GUID_INDEX[i] : i)));
    out += upper ? h.toUpperCase() : h;
    if (i === 3 || i === 5 || i === 7 || i === 9) out += '-';
  }
  return out;
}

function printRawBuf(ext: string, a: Arg, c: EvalContext, plen: number): string {
  const delim = ext[1] === 'C' ? ':' : ext[1] === 'D' ? '-' : ext[1] === 'N' ? '' : ' ';
  if (a.kind !== 'dynarray') return `ARG TYPE NOT FIELD BUT ${ARG_KIND_CODE[a.kind]}`;
  c.dynLoc(a.field!);
  const n = Math.min(plen, c.dynLen);
  if (n < 1) return '';
  let out = hex2(c.byte(c.dynOffset));
  for (let i = 1; i < n; i++) out += delim + hex2(c.byte(c.dynOffset + i));
  return out;
}
