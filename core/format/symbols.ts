/**
 * Address → name tables used when printing events: kernel symbols (`/proc/kallsyms`), the
 * trace_printk string table (`printk_formats`) and the pid → comm table (`saved_cmdlines`).
 * Parsing rules follow libtraceevent (tep_parse_kallsyms, tep_parse_printk_formats,
 * tep_parse_saved_cmdlines) so symbol lookups give the same answer as trace-cmd report.
 */

/** Code units that JavaScript's `\s` matches (the kallsyms grammar below is written with it). */
function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  return c > 127 && /\s/.test(String.fromCharCode(c));
}

/** Value of a hex digit code unit, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

function grown(a: Uint32Array): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Sorted symbol table. Lookup matches libtraceevent's bsearch: an address resolves to the
 *  symbol at or below it, except past the last symbol, which resolves only by exact match.
 *  Addresses are kept as two 32-bit halves and names as places in the text, made into strings
 *  when looked up (a BigInt and a string per symbol made loading slow: 100k+ symbols). */
export class SymbolTable {
  private text = '';
  private hi = new Uint32Array(0);
  private lo = new Uint32Array(0);
  private nameAt = new Uint32Array(0);
  private nameEnd = new Uint32Array(0);
  private names: Array<string | undefined> = [];
  private byName: Map<string, bigint> | undefined;

  get size(): number {
    return this.hi.length;
  }

  /** Parse kallsyms text: lines matching `^([0-9a-fA-F]{1,16})\s+(\S)\s+(\S+)` (address, type,
   *  name; a `\t[module]` may follow). Skips 'A'/'a' and `$` names. Returns the number of
   *  malformed lines skipped. */
  load(text: string): number {
    let hi = new Uint32Array(1024);
    let lo = new Uint32Array(1024);
    let nameAt = new Uint32Array(1024);
    let nameEnd = new Uint32Array(1024);
    let n = 0;
    let bad = 0;
    let sorted = true;
    const len = text.length;
    for (let at = 0; at < len;) {
      let eol = text.indexOf('\n', at);
      if (eol < 0) eol = len;
      const line = at;
      at = eol + 1;
      if (eol === line) continue;
      // Address: 1-16 hex digits, then at least one space.
      let h = 0;
      let l = 0;
      let i = line;
      for (let v; i < eol && i - line < 17 && (v = hexValue(text.charCodeAt(i))) >= 0; i++) {
        h = ((h << 4) | (l >>> 28)) >>> 0;
        l = ((l << 4) | v) >>> 0;
      }
      const digits = i - line;
      if (digits === 0 || digits > 16 || i === eol || !isSpace(text.charCodeAt(i))) {
        bad++;
        continue;
      }
      while (i < eol && isSpace(text.charCodeAt(i))) i++;
      // Type: one non-space character, then at least one space.
      const type = text.charCodeAt(i);
      if (i + 1 >= eol || !isSpace(text.charCodeAt(i + 1))) {
        bad++;
        continue;
      }
      i += 2;
      while (i < eol && isSpace(text.charCodeAt(i))) i++;
      // Name: one or more non-space characters.
      const start = i;
      for (let c; i < eol; i++) {
        c = text.charCodeAt(i);
        if ((c <= 32 || c > 127) && isSpace(c)) break;
      }
      if (i === start) {
        bad++;
        continue;
      }
      if (type === 65 || type === 97 || text.charCodeAt(start) === 36) continue; // A a $
      if (n === hi.length) {
        hi = grown(hi);
        lo = grown(lo);
        nameAt = grown(nameAt);
        nameEnd = grown(nameEnd);
      }
      if (n > 0 && (h < hi[n - 1] || (h === hi[n - 1] && l < lo[n - 1]))) sorted = false;
      hi[n] = h;
      lo[n] = l;
      nameAt[n] = start;
      nameEnd[n] = i;
      n++;
    }
    // libtraceevent prepends each symbol to a list (so the list is in reverse file order) and
    // then sorts by address with glibc's qsort, a stable merge sort here: among symbols at the
    // same address, the one later in the file comes first.
    const order = new Uint32Array(n);
    if (sorted) {
      // Already in address order (as /proc/kallsyms is): reverse each run of equal addresses.
      for (let a = 0; a < n;) {
        let b = a + 1;
        while (b < n && hi[b] === hi[a] && lo[b] === lo[a]) b++;
        for (let k = a; k < b; k++) order[k] = b - 1 - (k - a);
        a = b;
      }
    } else {
      for (let k = 0; k < n; k++) order[k] = k;
      order.sort((x, y) => hi[x] - hi[y] || lo[x] - lo[y] || y - x);
    }
    this.text = text;
    this.hi = new Uint32Array(n);
    this.lo = new Uint32Array(n);
    this.nameAt = new Uint32Array(n);
    this.nameEnd = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      const o = order[k];
      this.hi[k] = hi[o];
      this.lo[k] = lo[o];
      this.nameAt[k] = nameAt[o];
      this.nameEnd[k] = nameEnd[o];
    }
    this.names = new Array<string | undefined>(n);
    this.byName = undefined;
    return bad;
  }

  /**
   * Index of the symbol containing `addr`, or -1: glibc bsearch with libtraceevent's compare
   * (equal to an entry's address, or between it and the next entry's; the last entry matches
   * only exactly). Probing in the same order picks the same name among equal addresses.
   */
  find(addr: bigint): number {
    const hi = this.hi;
    const lo = this.lo;
    const n = hi.length;
    if (addr < 0n || addr > 0xffffffffffffffffn) return -1;
    const ah = Number(addr >> 32n);
    const al = Number(addr & 0xffffffffn);
    let low = 0;
    let high = n;
    while (low < high) {
      const idx = (low + high) >>> 1;
      const h = hi[idx];
      const l = lo[idx];
      // Sign of addr - entry.
      const c = ah !== h ? (ah < h ? -1 : 1) : al !== l ? (al < l ? -1 : 1) : 0;
      let cmp: number;
      if (c === 0) cmp = 0;
      else if (
        c > 0 &&
        idx + 1 < n &&
        (ah < hi[idx + 1] || (ah === hi[idx + 1] && al < lo[idx + 1]))
      )
        cmp = 0;
      else cmp = c;
      if (cmp < 0) high = idx;
      else if (cmp > 0) low = idx + 1;
      else return idx;
    }
    return -1;
  }

  /** Lowest address of a symbol with this name (libtraceevent's test_for_symbol). */
  addressOf(name: string): bigint | undefined {
    if (!this.byName) {
      this.byName = new Map();
      for (let i = this.size - 1; i >= 0; i--) this.byName.set(this.name(i), this.address(i));
    }
    return this.byName.get(name);
  }

  name(i: number): string {
    let name = this.names[i];
    if (name === undefined) {
      name = this.text.slice(this.nameAt[i], this.nameEnd[i]);
      this.names[i] = name;
    }
    return name;
  }

  address(i: number): bigint {
    return (BigInt(this.hi[i]) << 32n) | BigInt(this.lo[i]);
  }
}

/** `printk_formats`: `0x<addr> : "<fmt>"` lines. Quotes and one trailing `\n` are stripped;
 *  other escapes stay as written (the print code interprets them). */
export function parsePrintkFormats(text: string, into: Map<bigint, string>): void {
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const addrText = line.slice(0, colon).trim().replace(/^0x/i, '');
    if (!/^[0-9a-fA-F]{1,16}$/.test(addrText)) continue;
    let fmt = line.slice(colon + 1);
    if (fmt.startsWith(' ')) fmt = fmt.slice(1);
    if (fmt.startsWith('"')) fmt = fmt.slice(1);
    if (fmt.endsWith('"')) fmt = fmt.slice(0, -1);
    if (fmt.endsWith('\\n')) fmt = fmt.slice(0, -2);
    into.set(BigInt(`0x${addrText}`), fmt);
  }
}

/** `saved_cmdlines`: `<pid> <comm>` lines (the comm may contain spaces). */
export function parseSavedCmdlines(text: string, into: Map<number, string>): void {
  for (const line of text.split('\n')) {
    const m = /^\s*(-?\d+) (.*)$/.exec(line);
    if (m) into.set(Number(m[1]), m[2]);
  }
}
