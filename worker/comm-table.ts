/**
 * pid → comm, the way trace-cmd resolves names: `saved_cmdlines` first, then every comm the
 * trace itself carries (sched_switch prev/next_comm, sched_wakeup/waking comm), newest wins.
 * Comms are interned in a string table so columns and answers can carry an Int32 index.
 * pid 0 is the per-CPU idle task and prints as `<idle>`.
 */
import {StringTable} from './string-table.ts';

const IDLE = '<idle>';

export class CommTable {
  readonly strings = new StringTable();
  private readonly byPid = new Map<number, number>();

  clear(): void {
    this.strings.clear();
    this.byPid.clear();
  }

  /** `saved_cmdlines` text: "<pid> <comm>" lines (the comm may contain spaces). */
  loadSavedCmdlines(text: string): void {
    for (const line of text.split('\n')) {
      const m = /^\s*(-?\d+) (.*)$/.exec(line);
      if (m) this.set(Number(m[1]), m[2]);
    }
  }

  set(pid: number, comm: string): void {
    if (pid === 0) return;
    this.byPid.set(pid, this.strings.indexOf(comm));
  }

  /**
   * Set from a NUL-padded `char[16]` in `bytes` at `at`. Skips the string decode when the
   * stored comm already has the same bytes (the common case: the same tasks switch all day).
   */
  setFromBytes(pid: number, bytes: Uint8Array, at: number, max: number): void {
    if (pid === 0) return;
    let n = 0;
    while (n < max && at + n < bytes.length && bytes[at + n] !== 0) n++;
    const old = this.byPid.get(pid);
    if (old !== undefined) {
      const s = this.strings.get(old);
      if (s.length === n) {
        let same = true;
        for (let i = 0; i < n; i++) {
          if (s.charCodeAt(i) !== bytes[at + i]) {
            same = false;
            break;
          }
        }
        if (same) return;
      }
    }
    let s = '';
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = bytes[at + i];
      if (c >= 0x80) ascii = false;
      s += String.fromCharCode(c);
    }
    if (!ascii) s = new TextDecoder().decode(bytes.subarray(at, at + n));
    this.set(pid, s);
  }

  /** Comm index of `pid`, -1 when unknown. */
  indexOf(pid: number): number {
    return this.byPid.get(pid) ?? -1;
  }

  /** Comm of `pid`: `<idle>` for 0, undefined when unknown. */
  get(pid: number): string | undefined {
    if (pid === 0) return IDLE;
    const i = this.byPid.get(pid);
    return i === undefined ? undefined : this.strings.get(i);
  }

  /** pids whose comm contains `text` (case-insensitive); pid 0 matches "<idle>". */
  pidsMatching(text: string): Set<number> {
    const t = text.toLowerCase();
    const out = new Set<number>();
    if (IDLE.includes(t)) out.add(0);
    for (const [pid, i] of this.byPid)
      if (this.strings.get(i).toLowerCase().includes(t)) out.add(pid);
    return out;
  }

  entries(): IterableIterator<[number, number]> {
    return this.byPid.entries();
  }
}
