/**
 * The CONTROL actions a client may ask of a tracefs instance (only with `serve --allow-control`):
 *
 *   enable-event  {event}   trace-cmd syntax (sched, sched:sched_switch, sched/*, irq_*, all)
 *   disable-event {event}   same syntax; writes 0 to the matching enable files
 *   tracing-on / tracing-off      tracing_on = 1 / 0
 *   clear                   `echo > trace`: open `trace` with O_TRUNC (resets every CPU buffer;
 *                           mapped readers see the counters go down and re-sync)
 *   buffer-size   {kb}      buffer_size_kb, only when the buffer is not memory-mapped
 *
 * Why buffer-size refuses on mmap: the kernel answers EBUSY to resizing a buffer that has a user
 * mapping (ring_buffer_resize checks it). Unmapping, resizing and remapping would renumber every
 * sub-buffer, change nr_subbufs (HELLO) and drop what sits on the reader pages, i.e. a new stream
 * in all but name; the honest answer is a refusal with that reason (restart with --buffer-kb).
 *
 * Who may be changed: our own instance always; an attached named instance only when the server
 * was started with --allow-control-attached; the top level never. Every argument is validated
 * before anything is written (event specs are restricted to names and globs, so nothing can walk
 * out of `events/`).
 */
import {writeFileSync} from 'node:fs';
import type {TraceInstance} from '../tracefs/instance.ts';
import {isToggleable, resolveEventSpecs} from '../tracefs/event-spec.ts';
import type {SourceControlRequest, SourceControlResult} from './source.ts';

export const MAPPED_RESIZE_REFUSAL =
  'the buffer is memory-mapped and the kernel refuses to resize a mapped buffer (EBUSY); ' +
  'restart the server with --buffer-kb N';

/** Largest buffer_size_kb a client may ask for (per CPU): 1 GiB. */
export const MAX_CONTROL_BUFFER_KB = 1 << 20;

/** system, system:event, system/event, event, with * and ? globs; or 'all'. */
const EVENT_SPEC_RE = /^(all|[A-Za-z0-9_*?]{1,64}([:/][A-Za-z0-9_*?]{0,64})?)$/;

/** Actions this instance allows ([] for the top level, or an attached one without permission). */
export function instanceControlActions(
  inst: TraceInstance,
  attachedAllowed: boolean,
  mapped: boolean,
): string[] {
  if (inst.name === '') return [];
  if (!inst.owned && !attachedAllowed) return [];
  const all = ['enable-event', 'disable-event', 'tracing-on', 'tracing-off', 'clear'];
  return mapped ? all : [...all, 'buffer-size'];
}

function fail(message: string): SourceControlResult {
  return {ok: false, message};
}

function eventArg(args: Record<string, unknown>): string | SourceControlResult {
  const e = args.event;
  if (typeof e !== 'string') return fail(`args.event must be a string (e.g. "sched:sched_switch")`);
  const spec = e.trim();
  if (!EVENT_SPEC_RE.test(spec)) {
    return fail(
      `'${e.slice(0, 80)}' is not an event spec (system, system:event, event, globs, all)`,
    );
  }
  return spec;
}

function setEvents(inst: TraceInstance, spec: string, on: boolean): SourceControlResult {
  const eventsDir = inst.path('events');
  const value = on ? '1' : '0';
  let resolved;
  try {
    resolved = resolveEventSpecs(eventsDir, [spec]);
  } catch (e) {
    return fail((e as Error).message);
  }
  if (resolved.all) {
    inst.write('events/enable', value);
    return {ok: true, message: `${on ? 'enabled' : 'disabled'} all events`, metadataChanged: true};
  }
  const changed: string[] = [];
  for (const ev of resolved.events) {
    if (!isToggleable(eventsDir, ev)) continue; // ftrace events are always on
    inst.write(`events/${ev.system}/${ev.name}/enable`, value);
    changed.push(`${ev.system}:${ev.name}`);
  }
  if (!changed.length) {
    return fail(`'${spec}' matches only events that cannot be switched (ftrace system)`);
  }
  const list = changed.length > 5 ? `${changed.slice(0, 5).join(', ')}, …` : changed.join(', ');
  return {
    ok: true,
    message: `${on ? 'enabled' : 'disabled'} ${changed.length} event${changed.length > 1 ? 's' : ''} (${list})`,
    metadataChanged: true,
  };
}

/**
 * Run one action on `inst`. The caller has checked that the action is allowed here (see
 * instanceControlActions); this validates the arguments and performs it. Never throws: file
 * errors come back as `{ok: false}` with the errno text.
 */
export function runInstanceControl(
  inst: TraceInstance,
  req: SourceControlRequest,
  mapped: boolean,
): SourceControlResult {
  try {
    switch (req.action) {
      case 'enable-event':
      case 'disable-event': {
        const spec = eventArg(req.args);
        if (typeof spec !== 'string') return spec;
        return setEvents(inst, spec, req.action === 'enable-event');
      }
      case 'tracing-on':
      case 'tracing-off': {
        const on = req.action === 'tracing-on';
        inst.write('tracing_on', on ? '1' : '0');
        return {ok: true, message: `tracing_on is ${on ? 1 : 0}`};
      }
      case 'clear':
        // O_TRUNC is what resets the buffer (tracing_open); the empty write changes nothing else.
        writeFileSync(inst.path('trace'), '');
        return {ok: true, message: 'buffer cleared (echo > trace)'};
      case 'buffer-size': {
        const kb = req.args.kb;
        if (typeof kb !== 'number' || !Number.isInteger(kb) || kb < 1 || kb > MAX_CONTROL_BUFFER_KB)
          return fail(`args.kb must be an integer 1..${MAX_CONTROL_BUFFER_KB}`);
        if (mapped) return fail(MAPPED_RESIZE_REFUSAL);
        inst.write('buffer_size_kb', String(kb));
        // The kernel rounds up to whole sub-buffers: say what it made of it.
        const now = inst.read('buffer_size_kb').trim();
        return {
          ok: true,
          message: `buffer_size_kb is ${now}${now === String(kb) ? '' : ` (asked ${kb})`}`,
        };
      }
      default:
        return fail(`unknown action '${req.action}'`);
    }
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
}
