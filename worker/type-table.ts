/**
 * Event type ids (common_type, u16) → dense indices into a name table, so answers can carry a
 * small `typeNames` list and an Int32 `type` column, as the app's timeline expects. Indices are
 * stable for the life of the session (new types are appended).
 */
import type {EventRegistry} from '../core/format/event-registry.ts';

export class TypeTable {
  private readonly dense = new Int32Array(65536).fill(-1);
  private readonly names: string[] = [];
  private readonly ids: number[] = [];

  constructor(private registry: EventRegistry | undefined = undefined) {}

  setRegistry(registry: EventRegistry | undefined): void {
    this.registry = registry;
  }

  /** Dense index of type id `id`, assigned on first sight. */
  indexOf(id: number): number {
    let i = this.dense[id];
    if (i < 0) {
      i = this.names.length;
      this.dense[id] = i;
      this.ids.push(id);
      const f = this.registry?.byId(id);
      this.names.push(f ? f.name : `type_${id}`);
    }
    return i;
  }

  /** Names by dense index (a copy). */
  allNames(): string[] {
    // Formats may have arrived after an id was first seen: refresh unknown names.
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i].startsWith('type_')) {
        const f = this.registry?.byId(this.ids[i]);
        if (f) this.names[i] = f.name;
      }
    }
    return this.names.slice();
  }

  /** Type ids whose event name (or `system:name`) matches one of `names`. */
  idsNamed(names: readonly string[]): Set<number> {
    const want = new Set(names);
    const out = new Set<number>();
    for (const f of this.registry?.all() ?? []) {
      if (want.has(f.name) || want.has(`${f.system}:${f.name}`)) out.add(f.id);
    }
    for (const n of names) {
      const m = /^type_(\d+)$/.exec(n);
      if (m) out.add(Number(m[1]));
    }
    return out;
  }
}
