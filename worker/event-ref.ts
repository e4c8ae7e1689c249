/**
 * A stable name for one event while it is in the window: absolute per-CPU index and CPU packed
 * into one float64 (exact below 2^53: 2^37 events per CPU, 65536 CPUs). Used by the timeline's
 * event marks and the event list so the app can select an event and ask for its details.
 */
export type EventRef = number;

const CPU_SLOTS = 65536;

export function eventRef(cpu: number, abs: number): EventRef {
  return abs * CPU_SLOTS + cpu;
}

export function refCpu(ref: EventRef): number {
  return ref % CPU_SLOTS;
}

export function refIndex(ref: EventRef): number {
  return Math.floor(ref / CPU_SLOTS);
}
