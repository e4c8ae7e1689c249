/**
 * The libtraceevent 1.7 plugins that `trace-cmd report` loads by default and that replace or
 * prefix the print-fmt text of an event (plugin_sched_switch, plugin_function's raw_data and
 * kernel_stack handlers, plugin_hrtimer, plugin_tlb, plugin_kmem). Only stateless handlers are
 * here; the function plugin's call-depth indentation and func_repeats' timestamps are not.
 *
 * Field reads follow tep_get_field_val: event fields only (not common ones), sizes 1/2/4/8,
 * zero-extended.
 */
import type {EventFormat, FieldDef} from '../format/event-format.ts';
import type {EvalContext} from './eval-context.ts';

/** Replaces the whole text of an event. */
export type ReplaceHandler = (ev: EventFormat, c: EvalContext) => string;

/**
 * Set by a handler that bailed out with "!" (libtraceevent then also runs the normal print
 * fmt, because trace_seq_putc's return value 1 means "continue"). Read right after the call.
 */
export const handlerState = {continuePretty: false};

function bail(text: string): string {
  handlerState.continuePretty = true;
  return `${text}!`;
}

function eventField(ev: EventFormat, name: string): FieldDef | undefined {
  for (const f of ev.fields) if (f.name === name) return f;
  return undefined;
}

/** tep_get_field_val: value, or undefined (with libtraceevent's error text in `err`). */
function fieldVal(ev: EventFormat, c: EvalContext, name: string): bigint | undefined {
  const f = eventField(ev, name);
  if (!f || (f.size !== 1 && f.size !== 2 && f.size !== 4 && f.size !== 8)) return undefined;
  return c.readNumber(f.offset, f.size);
}

function missing(ev: EventFormat, name: string): string {
  const f = eventField(ev, name);
  return f ? ` ${name}=INVALID` : `<CANT FIND FIELD ${name}>`;
}

const s64 = (v: bigint): string => BigInt.asIntN(64, v).toString();
const s32 = (v: bigint): string => BigInt.asIntN(32, v).toString();

/** comm printed with "%.*s" of the field size (any field, common ones included). */
function comm(ev: EventFormat, c: EvalContext, name: string): string | undefined {
  const f = ev.fieldByName.get(name);
  if (!f) return undefined;
  return c.cString(f.offset, f.size);
}

function taskState(val: bigint): string {
  const states = 'SDTtZXxW';
  const v = Number(BigInt.asUintN(32, val));
  let out = '';
  for (let i = 0; i < states.length; i++) {
    if (!(v & (1 << i))) continue;
    if (out) out += '|';
    out += states[i];
  }
  return out || 'R';
}

function schedWakeup(ev: EventFormat, c: EvalContext): string {
  const pid = fieldVal(ev, c, 'pid');
  if (pid === undefined) return bail(missing(ev, 'pid'));
  let out = '';
  const name = comm(ev, c, 'comm');
  if (name !== undefined) out += `${name}:`;
  out += s64(pid);
  const prio = fieldVal(ev, c, 'prio');
  if (prio !== undefined) out += ` [${s64(prio)}]`;
  const success = fieldVal(ev, c, 'success');
  if (success !== undefined) out += ` success=${s64(success)}`;
  const cpu = fieldVal(ev, c, 'target_cpu');
  if (cpu !== undefined) out += ` CPU:${cpu.toString().padStart(3, '0')}`;
  return out;
}

function schedSwitch(ev: EventFormat, c: EvalContext): string {
  const prevPid = fieldVal(ev, c, 'prev_pid');
  if (prevPid === undefined) return bail(missing(ev, 'prev_pid'));
  let out = '';
  const prev = comm(ev, c, 'prev_comm');
  if (prev !== undefined) out += `${prev}:`;
  out += `${s64(prevPid)} `;
  const prevPrio = fieldVal(ev, c, 'prev_prio');
  if (prevPrio !== undefined) out += `[${s32(prevPrio)}] `;
  const state = fieldVal(ev, c, 'prev_state');
  if (state !== undefined) out += taskState(state);
  out += ' ==> ';
  const nextPid = fieldVal(ev, c, 'next_pid');
  if (nextPid === undefined) return bail(out + missing(ev, 'next_pid'));
  const next = comm(ev, c, 'next_comm');
  if (next !== undefined) out += `${next}:`;
  out += s64(nextPid);
  const nextPrio = fieldVal(ev, c, 'next_prio');
  if (nextPrio !== undefined) out += ` [${s32(nextPrio)}]`;
  return out;
}

/** " 00".." ff": raw_data prints a byte per entry. */
const SPACE_HEX2 = Array.from({length: 256}, (_, v) => ` ${v.toString(16).padStart(2, '0')}`);

function rawData(ev: EventFormat, c: EvalContext): string {
  const id = fieldVal(ev, c, 'id');
  if (id === undefined) return bail(missing(ev, 'id'));
  let out = `# ${id.toString(16)}`;
  const buf = ev.fieldByName.get('buf');
  if (!buf) return `${out}<CANT FIND FIELD buf>`;
  // Steps by the kernel long but prints up to 8 bytes (the host's sizeof(long)) per step, as
  // plugin_function does: with 4-byte longs bytes repeat.
  for (let p = buf.offset; p < c.size; p += c.longSize) {
    const n = Math.min(8, c.size - p);
    let i = 0;
    // Four bytes joined first make one flat 12-character piece: fewer rope nodes in the line.
    for (; i + 4 <= n; i += 4) {
      out +=
        SPACE_HEX2[c.byte(p + i)] +
        SPACE_HEX2[c.byte(p + i + 1)] +
        SPACE_HEX2[c.byte(p + i + 2)] +
        SPACE_HEX2[c.byte(p + i + 3)];
    }
    for (; i < n; i++) out += SPACE_HEX2[c.byte(p + i)];
  }
  return out;
}

function kernelStack(ev: EventFormat, c: EvalContext): string {
  const caller = ev.fieldByName.get('caller');
  if (!caller) return '<CANT FIND FIELD caller>';
  let out = '<stack trace >\n';
  const ls = c.longSize;
  for (let p = caller.offset; p < c.size; p += ls) {
    const addr = c.readNumberUnbounded(p, ls);
    if ((ls === 8 && addr === 0xffffffffffffffffn) || BigInt.asIntN(32, addr) === -1n) break;
    const i = c.registry.symbolIndex(addr);
    if (i >= 0) out += `=> ${c.registry.symbolName(i)} (${addr.toString(16)})\n`;
    else out += `=> ${addr.toString(16)}\n`;
  }
  return out;
}

function numField(
  ev: EventFormat,
  c: EvalContext,
  name: string,
  fmt: (v: bigint) => string,
): string | undefined {
  const v = fieldVal(ev, c, name);
  return v === undefined ? undefined : fmt(v);
}

function funcField(ev: EventFormat, c: EvalContext, name: string): string | undefined {
  const v = fieldVal(ev, c, name);
  if (v === undefined) return undefined;
  const i = c.registry.symbolIndex(v);
  if (i >= 0)
    return `${c.registry.symbolName(i)}/0x${BigInt.asUintN(64, c.registry.symbolStart(i) - v).toString(16)}`;
  return `0x${v.toString(16).padStart(8, '0')}`;
}

const hexU = (v: bigint): string => `0x${v.toString(16)}`;
const decU = (v: bigint): string => v.toString();

function hrtimerName(ev: EventFormat, c: EvalContext): string {
  return (
    numField(ev, c, 'timer', hexU) ??
    numField(ev, c, 'hrtimer', hexU) ??
    `CAN'T FIND FIELD "hrtimer"`
  );
}

function hrtimerExpire(ev: EventFormat, c: EvalContext): string {
  let out = `hrtimer=${hrtimerName(ev, c)}`;
  out += ` now=${numField(ev, c, 'now', decU) ?? `CAN'T FIND FIELD "now"`}`;
  const fn = funcField(ev, c, 'function');
  if (fn !== undefined) out += ` function=${fn}`;
  return out;
}

function hrtimerStart(ev: EventFormat, c: EvalContext): string {
  let out = `hrtimer=${hrtimerName(ev, c)}`;
  const fn = funcField(ev, c, 'function');
  if (fn !== undefined) out += ` function=${fn}`;
  out += ` expires=${numField(ev, c, 'expires', decU) ?? `CAN'T FIND FIELD "expires"`}`;
  out += ` softexpires=${numField(ev, c, 'softexpires', decU) ?? `CAN'T FIND FIELD "softexpires"`}`;
  return out;
}

const TLB_REASONS = [
  'flush on task switch',
  'remote shootdown',
  'local shootdown',
  'local mm shootdown',
];

function tlbFlush(ev: EventFormat, c: EvalContext): string {
  let out = `pages=${numField(ev, c, 'pages', s64) ?? `CAN'T FIND FIELD "pages"`}`;
  const reason = fieldVal(ev, c, 'reason');
  if (reason === undefined) return out + missing(ev, 'reason');
  out += ' reason=';
  if (reason < 4n) out += TLB_REASONS[Number(reason)];
  return `${out} (${s64(reason)})`;
}

export const REPLACE_HANDLERS: ReadonlyMap<string, ReplaceHandler> = new Map([
  ['sched:sched_switch', schedSwitch],
  ['sched:sched_wakeup', schedWakeup],
  ['sched:sched_wakeup_new', schedWakeup],
  ['ftrace:raw_data', rawData],
  ['ftrace:kernel_stack', kernelStack],
  ['timer:hrtimer_expire_entry', hrtimerExpire],
  ['timer:hrtimer_start', hrtimerStart],
  ['tlb:tlb_flush', tlbFlush],
]);

const KMEM_CALL_SITE = new Set([
  'kfree',
  'kmalloc',
  'kmalloc_node',
  'kmem_cache_alloc',
  'kmem_cache_alloc_node',
  'kmem_cache_free',
]);

/** plugin_kmem: "(func+0xoff) " before the normal text when call_site resolves to a symbol. */
export function prefixText(ev: EventFormat, c: EvalContext): string {
  if (ev.system !== 'kmem' || !KMEM_CALL_SITE.has(ev.name)) return '';
  const f = eventField(ev, 'call_site');
  if (!f || (f.size !== 1 && f.size !== 2 && f.size !== 4 && f.size !== 8)) return '';
  return c.registry.symbolText(c.readNumber(f.offset, f.size), 2) ?? '';
}

export function hasPrefixHandler(ev: EventFormat): boolean {
  return ev.system === 'kmem' && KMEM_CALL_SITE.has(ev.name);
}
