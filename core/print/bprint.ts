/**
 * ftrace `bprint` events (trace_printk with a constant format): the record holds the address of
 * the format (look it up in printk_formats) and the arguments packed as binary in `u32 buf[]`.
 * libtraceevent (make_bprint_args) walks the format to unpack them:
 *
 *   - integers: 4 bytes, `l`/`z`/`p` long size, `ll`/`L` 8 bytes; each read 4-byte aligned
 *     (relative to the record, which the ring buffer keeps 4-byte aligned)
 *   - `*` takes a 4-byte argument first
 *   - `%s` (and `%p<x>` extensions other than s/S/f/F/x when the data looks printable) are
 *     NUL-terminated strings inline in the buffer
 *   - anything else (`h`, `c`, …) takes no argument
 *
 * The result is rendered like any other event, with format `"%ps: " + <format>` and the
 * instruction pointer as first argument. Unknown format addresses print
 * `(NO FORMAT FOUND at <hex>)` followed by a newline.
 */
import type {EventFormat} from '../format/event-format.ts';
import type {EvalContext} from './eval-context.ts';
import {Arg} from './parser.ts';

const isPrintable = (b: number): boolean => b >= 0x20 && b <= 0x7e;
const isAlnum = (ch: string | undefined): boolean => ch !== undefined && /[A-Za-z0-9]/.test(ch);

function atom(v: bigint): Arg {
  const a = new Arg();
  a.kind = 'atom';
  a.text = BigInt.asIntN(64, v).toString();
  return a;
}

export interface BprintArgs {
  format: string;
  args: Arg[];
}

/** Format and arguments of one bprint record, or undefined if the event lacks its fields. */
export function bprintArgs(ev: EventFormat, c: EvalContext): BprintArgs | undefined {
  const fmtField = ev.fieldByName.get('fmt');
  const bufField = ev.fields.find((f) => f.name === 'buf');
  const ipField = ev.fields.find((f) => f.name === 'ip');
  if (!fmtField || !bufField || !ipField) return undefined;
  const fmtAddr = c.readNumber(fmtField.offset, fmtField.size);
  const printk = c.registry.printkFormat(fmtAddr);
  const format =
    printk === undefined ? `%ps: (NO FORMAT FOUND at ${fmtAddr.toString(16)})\n` : `%ps: ${printk}`;
  const args: Arg[] = [atom(c.readNumber(ipField.offset, ipField.size))];
  let b = bufField.offset;
  const size = c.size;
  const longSize = c.longSize;
  for (let p = 5; b < size && p < format.length; p++) {
    if (format[p] !== '%') continue;
    let ls = 0;
    let vsize = 0;
    for (;;) {
      p++;
      const ch = format[p];
      if (ch === 'l') {
        ls++;
        continue;
      }
      if (ch === 'L') {
        ls = 2;
        continue;
      }
      if (ch === 'z' || ch === 'Z') {
        ls = 1;
        continue;
      }
      if (ch === '.' || ch === '#' || (ch !== undefined && ch >= '0' && ch <= '9')) continue;
      let isString = ch === 's';
      let isNumber =
        ch === 'd' || ch === 'u' || ch === 'i' || ch === 'x' || ch === 'X' || ch === 'o';
      if (ch === 'p') {
        ls = 1;
        isNumber = true;
        if (isAlnum(format[p + 1])) {
          p++;
          const x = format[p];
          const symbolic =
            x === 's' ||
            x === 'S' ||
            x === 'x' ||
            ((x === 'f' || x === 'F') && format[p + 1] !== 'w');
          if (!symbolic && isPrintable(c.byte(b))) {
            isString = true;
            isNumber = false;
          }
        }
      }
      if (ch === '*') {
        b = (b + 3) & ~3;
        args.push(atom(c.readNumber(b, 4)));
        b += 4;
        continue;
      }
      if (isNumber) {
        vsize = ls === 0 ? 4 : ls === 1 ? longSize : ls === 2 ? 8 : ls;
        b = (b + 3) & ~3;
        args.push(atom(c.readNumber(b, vsize)));
        b += vsize;
      } else if (isString) {
        const s = new Arg();
        s.kind = 'bstring';
        s.text = c.cString(b);
        args.push(s);
        let end = b;
        while (end < size && c.byte(end) !== 0) end++;
        b = end + 1;
      }
      break;
    }
  }
  return {format, args};
}
