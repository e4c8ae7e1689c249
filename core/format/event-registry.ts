/**
 * All event formats of one trace (one kernel), by id and by name, plus the tables needed to
 * print them: kernel symbols, trace_printk formats and pid → comm. One registry per trace:
 * the kernel long size and byte order are fixed for all of its records.
 */
import {DecodeError} from '../errors.ts';
import {parseEventFormat, type EventFormat} from './event-format.ts';
import {SymbolTable, parsePrintkFormats, parseSavedCmdlines} from './symbols.ts';

export interface RegistryOptions {
  longSize: 4 | 8;
  littleEndian: boolean;
}

export class EventRegistry {
  readonly longSize: 4 | 8;
  readonly littleEndian: boolean;
  private readonly ids = new Map<number, EventFormat>();
  private readonly names = new Map<string, EventFormat>();
  private readonly symbols = new SymbolTable();
  private readonly printk = new Map<bigint, string>();
  private readonly cmdlines = new Map<number, string>();
  /** symbolTextHalves results by style, then low half (the entry keeps the high half). */
  private readonly halfTexts: Array<Map<number, {hi: number; text: string | null}>> = [
    new Map(),
    new Map(),
  ];
  /** Bumped whenever formats or tables change; renderers use it to drop cached programs. */
  generation = 0;
  /** symbolText results by style, then address (null: no symbol); dropped with the symbols. */
  private readonly symbolTexts: Array<Map<bigint, string | null>> = [
    new Map(),
    new Map(),
    new Map(),
  ];

  constructor(opts: RegistryOptions) {
    this.longSize = opts.longSize;
    this.littleEndian = opts.littleEndian;
  }

  /** Add (or replace, by id) one parsed format. */
  add(format: EventFormat): void {
    const old = this.ids.get(format.id);
    if (old) this.names.delete(`${old.system}:${old.name}`);
    this.ids.set(format.id, format);
    this.names.set(`${format.system}:${format.name}`, format);
    this.generation++;
  }

  /** Parse and add a format file. Throws `DecodeError('bad-format')` (line number as offset). */
  addFormatText(text: string, system: string, where?: string): EventFormat {
    const f = parseEventFormat(text, system, where ?? `${system}/format`, this.longSize);
    this.add(f);
    return f;
  }

  byId(id: number): EventFormat | undefined {
    return this.ids.get(id);
  }

  byName(system: string, name: string): EventFormat | undefined {
    return this.names.get(`${system}:${name}`);
  }

  all(): EventFormat[] {
    return [...this.ids.values()];
  }

  /** Load `/proc/kallsyms` text (replaces earlier symbols). Returns malformed lines skipped. */
  setKallsyms(text: string): number {
    this.generation++;
    for (const m of this.symbolTexts) m.clear();
    for (const m of this.halfTexts) m.clear();
    return this.symbols.load(text);
  }

  /** Load `printk_formats` text (adds to earlier entries). */
  setPrintkFormats(text: string): void {
    parsePrintkFormats(text, this.printk);
    this.generation++;
  }

  /** Load `saved_cmdlines` text (adds to / overrides earlier entries). */
  setCmdlines(text: string): void {
    parseSavedCmdlines(text, this.cmdlines);
  }

  comm(pid: number): string | undefined {
    return this.cmdlines.get(pid);
  }

  /** Symbol containing `addr` and the offset into it, as libtraceevent resolves %pS. */
  lookupSymbol(addr: bigint | number): {name: string; offset: number} | undefined {
    const a = toAddr(addr);
    const i = this.symbols.find(a);
    if (i < 0) return undefined;
    return {name: this.symbols.name(i), offset: Number(a - this.symbols.address(i))};
  }

  /** Same as lookupSymbol without allocating: name or undefined; offset via symbolStart. */
  symbolIndex(addr: bigint): number {
    return this.symbols.find(addr);
  }

  symbolName(index: number): string {
    return this.symbols.name(index);
  }

  symbolStart(index: number): bigint {
    return this.symbols.address(index);
  }

  /**
   * A symbol as printed, cached by address (events repeat the same call sites): style 0 the
   * name (%ps), 1 `name+0x<offset>` (%pS), 2 plugin_kmem's `(name+0x<32-bit offset>) ` prefix.
   * undefined when no symbol contains `addr`.
   */
  symbolText(addr: bigint, style: 0 | 1 | 2): string | undefined {
    const cache = this.symbolTexts[style];
    let t = cache.get(addr);
    if (t === undefined) {
      const i = this.symbols.find(addr);
      if (i < 0) t = null;
      else {
        const name = this.symbols.name(i);
        const off = addr - this.symbols.address(i);
        if (style === 0) t = name;
        else if (style === 1) t = `${name}+0x${off.toString(16)}`;
        else t = `(${name}+0x${BigInt.asUintN(32, off).toString(16)}) `;
      }
      if (cache.size >= SYMBOL_TEXT_CACHE_MAX) cache.clear();
      cache.set(addr, t);
    }
    return t ?? undefined;
  }

  /** symbolText of the address hi·2^32 + lo (u32 halves), cached without bigints. */
  symbolTextHalves(hi: number, lo: number, style: 0 | 1): string | undefined {
    const cache = this.halfTexts[style];
    const hit = cache.get(lo);
    if (hit !== undefined && hit.hi === hi) return hit.text ?? undefined;
    const text = this.symbolText((BigInt(hi) << 32n) | BigInt(lo), style);
    if (cache.size >= SYMBOL_TEXT_CACHE_MAX) cache.clear();
    cache.set(lo, {hi, text: text ?? null});
    return text;
  }

  /** Address of a kernel symbol by name (atoms in print fmts that name a symbol). */
  symbolAddress(name: string): bigint | undefined {
    return this.symbols.addressOf(name);
  }

  printkFormat(addr: bigint | number): string | undefined {
    return this.printk.get(toAddr(addr));
  }
}

const SYMBOL_TEXT_CACHE_MAX = 1 << 16;

function toAddr(addr: bigint | number): bigint {
  if (typeof addr === 'bigint') return BigInt.asUintN(64, addr);
  if (!Number.isInteger(addr)) {
    throw new DecodeError('unsupported', `address ${addr} is not an integer`, 0, 'lookupSymbol');
  }
  return BigInt.asUintN(64, BigInt(addr));
}
