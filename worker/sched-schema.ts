/**
 * Where the scheduler fields sit, taken from the format files (never hard-coded: ids and
 * offsets differ between kernels). Read straight from record bytes on the hot path.
 */
import type {EventRegistry} from '../core/format/event-registry.ts';
import type {EventFormat} from '../core/format/event-format.ts';

export const SchedKind = {NONE: 0, SWITCH: 1, WAKEUP: 2} as const;

export interface SchedSchema {
  /** SchedKind by event id (ids without a sched meaning are NONE). */
  kindById: Uint8Array;
  switchId: number;
  prevComm: number;
  prevPid: number;
  prevState: number;
  /** 4 or 8 (long); read as the low 32 bits, which carry every state bit. */
  prevStateSize: number;
  nextComm: number;
  nextPid: number;
  /** Wakeup-like events (sched_waking, sched_wakeup, sched_wakeup_new): comm and pid offsets. */
  wakeComm: number;
  wakePid: number;
}

function off(f: EventFormat | undefined, name: string): number {
  return f?.fieldByName.get(name)?.offset ?? -1;
}

/** The schema for `registry`, or undefined when it has no usable sched_switch. */
export function schedSchema(registry: EventRegistry): SchedSchema | undefined {
  const sw = registry.byName('sched', 'sched_switch');
  if (!sw) return undefined;
  const s: SchedSchema = {
    kindById: new Uint8Array(65536),
    switchId: sw.id,
    prevComm: off(sw, 'prev_comm'),
    prevPid: off(sw, 'prev_pid'),
    prevState: off(sw, 'prev_state'),
    prevStateSize: sw.fieldByName.get('prev_state')?.size ?? 0,
    nextComm: off(sw, 'next_comm'),
    nextPid: off(sw, 'next_pid'),
    wakeComm: -1,
    wakePid: -1,
  };
  if (s.prevPid < 0 || s.nextPid < 0 || s.prevState < 0) return undefined;
  s.kindById[sw.id] = SchedKind.SWITCH;
  for (const name of ['sched_waking', 'sched_wakeup', 'sched_wakeup_new']) {
    const f = registry.byName('sched', name);
    if (!f || off(f, 'pid') < 0) continue;
    // All three share one layout (comm, pid, prio, target_cpu); insist on it.
    if (s.wakePid >= 0 && off(f, 'pid') !== s.wakePid) continue;
    s.wakePid = off(f, 'pid');
    s.wakeComm = off(f, 'comm');
    s.kindById[f.id] = SchedKind.WAKEUP;
  }
  return s;
}
