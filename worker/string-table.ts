/** Deduplicated strings addressed by a dense Int32 index (Firefox Profiler's `UniqueStringArray`). */
export class StringTable {
  private readonly strings: string[] = [];
  private readonly index = new Map<string, number>();

  /** Index of `s`, added on first sight. */
  indexOf(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.index.set(s, i);
    }
    return i;
  }

  /** Index of `s`, or -1 when it was never added (never adds). */
  find(s: string): number {
    return this.index.get(s) ?? -1;
  }

  get(i: number): string {
    return this.strings[i] ?? '';
  }

  get size(): number {
    return this.strings.length;
  }

  /** A copy of all strings in index order. */
  all(): string[] {
    return this.strings.slice();
  }

  clear(): void {
    this.strings.length = 0;
    this.index.clear();
  }
}
