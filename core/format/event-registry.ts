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
  /** Bumped whenever formats or tables change; renderers use it to drop cached programs. */
  generation = 0;

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

  /** Address of a kernel symbol by name (atoms in print fmts that name a symbol). */
  symbolAddress(name: string): bigint | undefined {
    return this.symbols.addressOf(name);
  }

  printkFormat(addr: bigint | number): string | undefined {
    return this.printk.get(toAddr(addr));
  }
}

function toAddr(addr: bigint | number): bigint {
  if (typeof addr === 'bigint') return BigInt.asUintN(64, addr);
  if (!Number.isInteger(addr)) {
    throw new DecodeError('unsupported', `address ${addr} is not an integer`, 0, 'lookupSymbol');
  }
  return BigInt.asUintN(64, BigInt(addr));
}
