/**
 * trace-cmd style event selection against a tracefs `events/` directory:
 *   `sched` (a system), `sched:sched_switch`, `sched/sched_switch`, `sched:*`, `sched_switch`
 *   (an event in any system), globs with `*` and `?`, and `all`.
 * Events of the `ftrace` system (print, raw_data, bprint…) have no enable file: they are always
 * recorded, so asking for them is accepted and enables nothing.
 */
import {existsSync, readdirSync, statSync} from 'node:fs';
import {TracefsError} from './tracefs-errors.ts';

export interface EventId {
  system: string;
  name: string;
}

export interface ResolvedEvents {
  /** True when `all` was asked: write events/enable. */
  all: boolean;
  /** Events to enable one by one (deduplicated, stable order). */
  events: EventId[];
}

/** Scheduling and interrupts: what the timeline needs when the user asks for nothing. */
export const DEFAULT_EVENTS = [
  'sched:sched_switch',
  'sched:sched_wakeup',
  'sched:sched_waking',
  'sched:sched_wakeup_new',
  'sched:sched_process_fork',
  'sched:sched_process_exit',
  'sched:sched_migrate_task',
  'irq:*',
];

function globRe(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => {
      try {
        return statSync(`${dir}/${n}`).isDirectory();
      } catch {
        return false;
      }
    });
  } catch {
    return [];
  }
}

/** Lazily listed `events/` tree: systems on first use, each system's events on demand. */
class EventTree {
  private systemList: string[] | undefined;
  private events = new Map<string, string[]>();
  constructor(private readonly dir: string) {}

  systems(): string[] {
    this.systemList ??= listDirs(this.dir);
    return this.systemList;
  }

  eventsOf(system: string): string[] {
    let list = this.events.get(system);
    if (!list) {
      // Event directories hold a `format` file; `enable`/`filter` are plain files.
      list = listDirs(`${this.dir}/${system}`);
      this.events.set(system, list);
    }
    return list;
  }
}

const GLOB_CHARS = /[*?]/;

/** Resolve specs; throws TracefsError('unknown-event') naming every spec that matched nothing. */
export function resolveEventSpecs(eventsDir: string, specs: string[]): ResolvedEvents {
  const tree = new EventTree(eventsDir);
  const seen = new Set<string>();
  const events: EventId[] = [];
  const unknown: string[] = [];
  let wantAll = false;
  const systemsMatching = (glob: string): string[] =>
    GLOB_CHARS.test(glob)
      ? tree.systems().filter((s) => globRe(glob).test(s))
      : existsSync(`${eventsDir}/${glob}`) && statSync(`${eventsDir}/${glob}`).isDirectory()
        ? [glob]
        : [];
  for (const raw of specs) {
    const spec = raw.trim();
    if (!spec) continue;
    if (spec === 'all') {
      wantAll = true;
      continue;
    }
    let matched = 0;
    const add = (system: string, name: string) => {
      matched++;
      const key = `${system}:${name}`;
      if (seen.has(key)) return;
      seen.add(key);
      events.push({system, name});
    };
    const sep = spec.search(/[:/]/);
    if (sep >= 0) {
      const ere = globRe(spec.slice(sep + 1) || '*');
      for (const sys of systemsMatching(spec.slice(0, sep))) {
        for (const e of tree.eventsOf(sys)) if (ere.test(e)) add(sys, e);
      }
    } else {
      // A bare word is a system if one has that name (trace-cmd does the same), else an event
      // name looked up in every system.
      const systems = systemsMatching(spec);
      if (systems.length) for (const s of systems) for (const e of tree.eventsOf(s)) add(s, e);
      else {
        const re = globRe(spec);
        for (const sys of tree.systems())
          for (const e of tree.eventsOf(sys)) if (re.test(e)) add(sys, e);
      }
    }
    if (!matched) unknown.push(spec);
  }
  if (unknown.length) {
    throw new TracefsError(
      'unknown-event',
      `unknown event${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} ` +
        `(use system, system:event, system/event, system:*, event or all; see ${eventsDir})`,
    );
  }
  return {all: wantAll, events};
}

/** Whether an event has an enable file (ftrace-system events do not). */
export function isToggleable(eventsDir: string, e: EventId): boolean {
  return existsSync(`${eventsDir}/${e.system}/${e.name}/enable`);
}
