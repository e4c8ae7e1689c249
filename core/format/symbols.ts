/**
 * Address → name tables used when printing events: kernel symbols (`/proc/kallsyms`), the
 * trace_printk string table (`printk_formats`) and the pid → comm table (`saved_cmdlines`).
 * Parsing rules follow libtraceevent (tep_parse_kallsyms, tep_parse_printk_formats,
 * tep_parse_saved_cmdlines) so symbol lookups give the same answer as trace-cmd report.
 */

/** Sorted symbol table. Lookup matches libtraceevent's bsearch: an address resolves to the
 *  symbol at or below it, except past the last symbol, which resolves only by exact match. */
export class SymbolTable {
  private addrs = new BigUint64Array(0);
  private names: string[] = [];
  private byName: Map<string, bigint> | undefined;

  get size(): number {
    return this.names.length;
  }

  /** Parse kallsyms text: `<hex addr> <type> <name>[\t[module]]`. Skips 'A'/'a' and `$` names.
   *  Returns the number of malformed lines skipped. */
  load(text: string): number {
    const entries: Array<[bigint, string]> = [];
    let bad = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const m = /^([0-9a-fA-F]{1,16})\s+(\S)\s+(\S+)/.exec(line);
      if (!m) {
        bad++;
        continue;
      }
      const type = m[2];
      const name = m[3];
      if (name.startsWith('$') || type === 'A' || type === 'a') continue;
      entries.push([BigInt(`0x${m[1]}`), name]);
    }
    // libtraceevent prepends each symbol to a list (so the list is in reverse file order) and
    // then sorts by address with glibc's qsort, a stable merge sort here: among symbols at the
    // same address, the one later in the file comes first.
    entries.reverse();
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.byName = undefined;
    this.addrs = new BigUint64Array(entries.length);
    this.names = new Array<string>(entries.length);
    entries.forEach(([a, n], i) => {
      this.addrs[i] = a;
      this.names[i] = n;
    });
    return bad;
  }

  /**
   * Index of the symbol containing `addr`, or -1: glibc bsearch with libtraceevent's compare
   * (equal to an entry's address, or between it and the next entry's; the last entry matches
   * only exactly). Probing in the same order picks the same name among equal addresses.
   */
  find(addr: bigint): number {
    const a = this.addrs;
    const n = a.length;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const idx = (lo + hi) >>> 1;
      const at = a[idx];
      let cmp: number;
      if (addr === at || (addr > at && idx + 1 < n && addr < a[idx + 1])) cmp = 0;
      else cmp = addr < at ? -1 : 1;
      if (cmp < 0) hi = idx;
      else if (cmp > 0) lo = idx + 1;
      else return idx;
    }
    return -1;
  }

  /** Lowest address of a symbol with this name (libtraceevent's test_for_symbol). */
  addressOf(name: string): bigint | undefined {
    if (!this.byName) {
      this.byName = new Map();
      for (let i = this.names.length - 1; i >= 0; i--)
        this.byName.set(this.names[i], this.addrs[i]);
    }
    return this.byName.get(name);
  }

  name(i: number): string {
    return this.names[i];
  }

  address(i: number): bigint {
    return this.addrs[i];
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
