/**
 * `-F` event selection for `ringside report`, in the event part of trace-cmd's filter syntax:
 * `system:event`, `system/event`, `event` or `system` alone, comma lists, and `*` wildcards
 * (`sched:*`, `sched:sched_wak*`). Names match case-sensitively over the whole name.
 * (trace-cmd also accepts `event:field filters`; those are not supported and are rejected.)
 */
import type {EventFormat} from '../format/event-format.ts';

function globRe(glob: string): RegExp {
  const body = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${body}$`);
}

export interface EventSelector {
  system?: RegExp;
  event: RegExp;
}

/** Parse `-F` arguments. Throws Error with a usage message for what it cannot handle. */
export function parseEventSelectors(specs: string[]): EventSelector[] {
  const out: EventSelector[] = [];
  for (const spec of specs) {
    for (const part of spec.split(',')) {
      const p = part.trim();
      if (!p) continue;
      const m = /^([^:/\s]+)(?:[:/]([^:/\s]*))?$/.exec(p);
      if (!m)
        throw new Error(`cannot parse event filter '${p}' (use system:event, system or event)`);
      if (m[2] === undefined) {
        // A bare name matches a system or an event of that name, as in trace-cmd.
        out.push({system: globRe(m[1]), event: /^/});
        out.push({event: globRe(m[1])});
      } else out.push({system: globRe(m[1]), event: globRe(m[2] || '*')});
    }
  }
  return out;
}

/** True when `format` is selected by any selector (or there are none). */
export function selects(selectors: EventSelector[], format: EventFormat): boolean {
  if (selectors.length === 0) return true;
  for (const s of selectors) {
    if (s.system && !s.system.test(format.system)) continue;
    if (s.event.test(format.name)) return true;
  }
  return false;
}
