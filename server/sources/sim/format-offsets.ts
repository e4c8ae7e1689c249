/**
 * Just enough of a tracefs `format` file reader for the sim workload to lay out payloads: event
 * id, field offsets/sizes and the fixed record size. The real format parser lives in core/format/;
 * this one stays tiny on purpose so the sim does not depend on it. Also loads the bundled copies
 * of the kernel's format files (server/sources/sim/formats/, verbatim from Linux 6.18).
 */
import {readFileSync} from 'node:fs';
import type {EventFormatText} from '../source.ts';

export interface FieldSlot {
  offset: number;
  size: number;
}

export interface EventLayout {
  system: string;
  name: string;
  id: number;
  fields: Map<string, FieldSlot>;
  /** sizeof(struct trace_event_raw_*): fixed part, aligned like the C struct. */
  fixedSize: number;
}

const FIELD_RE = /field:([^;]*?)\s+(\w+)(\[(\d*)\])?;\s*offset:(\d+);\s*size:(\d+);/g;

export function parseEventLayout(system: string, text: string): EventLayout {
  const name = /^name: (\S+)/m.exec(text)?.[1];
  const id = /^ID: (\d+)/m.exec(text)?.[1];
  if (!name || !id) throw new Error(`format text for ${system} has no name/ID line`);
  const fields = new Map<string, FieldSlot>();
  let end = 0;
  let align = 1;
  for (const m of text.matchAll(FIELD_RE)) {
    const offset = Number(m[5]);
    const size = Number(m[6]);
    fields.set(m[2], {offset, size});
    end = Math.max(end, offset + size);
    // Element size of arrays; scalars align to their own size (at most 8).
    const count = m[4] ? Number(m[4]) : m[3] ? 0 : 1;
    const elem = count > 0 ? size / count : size === 0 ? 1 : size;
    if (!/__data_loc|__rel_loc/.test(m[1])) align = Math.max(align, Math.min(8, elem || 1));
    else align = Math.max(align, 4);
  }
  const fixedSize = Math.ceil(end / align) * align;
  return {system, name, id: Number(id), fields, fixedSize};
}

/** Field offset, or throws naming the event (a bundled file that lacks a field is a bug). */
export function fieldOffset(layout: EventLayout, field: string): number {
  const f = layout.fields.get(field);
  if (!f) throw new Error(`${layout.system}/${layout.name} has no field ${field}`);
  return f.offset;
}

/** Events bundled with the sim source, as `system/name`. */
export const BUNDLED_EVENTS = [
  'sched/sched_switch',
  'sched/sched_wakeup',
  'sched/sched_waking',
  'sched/sched_wakeup_new',
  'irq/irq_handler_entry',
  'irq/irq_handler_exit',
  'irq/softirq_entry',
  'irq/softirq_exit',
  'irq/softirq_raise',
  'timer/hrtimer_start',
  'timer/hrtimer_expire_entry',
  'timer/hrtimer_expire_exit',
  'timer/timer_expire_entry',
  'timer/timer_expire_exit',
  'raw_syscalls/sys_enter',
  'raw_syscalls/sys_exit',
  'ftrace/print',
  'ftrace/raw_data',
] as const;

export interface BundledFormats {
  headerPage: string;
  headerEvent: string;
  formats: EventFormatText[];
  layouts: Map<string, EventLayout>;
}

let cache: BundledFormats | undefined;

/** The bundled format files (read once). */
export function bundledFormats(): BundledFormats {
  if (cache) return cache;
  const read = (rel: string) => readFileSync(new URL(`./formats/${rel}`, import.meta.url), 'utf8');
  const formats: EventFormatText[] = [];
  const layouts = new Map<string, EventLayout>();
  for (const key of BUNDLED_EVENTS) {
    const [system, name] = key.split('/');
    const text = read(`${key}/format`);
    formats.push({system, name, text});
    layouts.set(key, parseEventLayout(system, text));
  }
  cache = {headerPage: read('header_page'), headerEvent: read('header_event'), formats, layouts};
  return cache;
}
