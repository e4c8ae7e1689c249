/**
 * libtraceevent's sched plugin (plugin_sched_switch.c, loaded by trace-cmd report by default)
 * registers the comm it prints for a pid that has no comm yet (tep_register_comm, no override).
 * That changes the comm column of *later* lines, e.g. a task missing from saved_cmdlines shows
 * as `<...>` until its first sched_switch/sched_wakeup. This wrapper around the event renderer
 * (core/print, which prints the plugin text itself) learns those comms as records are rendered.
 */
import type {EventFormat, FieldDef} from '../format/event-format.ts';
import type {EventRegistry} from '../format/event-registry.ts';
import type {InfoRenderer} from './report-line.ts';

/** [comm field, pid field] pairs each sched event saves, in the plugin's order. */
const SAVED: Record<string, [string, string][]> = {
  'sched:sched_switch': [
    ['prev_comm', 'prev_pid'],
    ['next_comm', 'next_pid'],
  ],
  'sched:sched_wakeup': [['comm', 'pid']],
  'sched:sched_wakeup_new': [['comm', 'pid']],
};

export class CommLearningRenderer implements InfoRenderer {
  /** Comms learned from sched events for pids that had none. */
  readonly learned = new Map<number, string>();
  private readonly plans = new WeakMap<EventFormat, [FieldDef, FieldDef][] | null>();

  readonly trimsNewline: boolean;
  /** Comms are only added (for pids without one), so a comm once found stays. */
  readonly commsStable = true;

  constructor(
    private readonly registry: EventRegistry,
    private readonly base: InfoRenderer,
  ) {
    this.trimsNewline = base.trimsNewline === true;
  }

  comm(pid: number): string | undefined {
    return this.registry.comm(pid) ?? this.learned.get(pid);
  }

  render(
    format: EventFormat,
    bytes: Uint8Array,
    payloadOffset: number,
    payloadLen: number,
  ): string {
    const text = this.base.render(format, bytes, payloadOffset, payloadLen);
    this.learn(format, bytes, payloadOffset, payloadLen);
    return text;
  }

  /** Whether records of this event can teach comms (learn() does nothing for the others). */
  teaches(format: EventFormat): boolean {
    return this.plan(format) !== null;
  }

  /**
   * Learn the comms a record teaches without printing it (what render does after printing):
   * lets a reader that prints only some records keep the comm column of the others right.
   */
  learn(format: EventFormat, bytes: Uint8Array, payloadOffset: number, payloadLen: number): void {
    const plan = this.plan(format);
    if (plan) {
      for (const [commField, pidField] of plan) {
        const pid = this.readPid(pidField, bytes, payloadOffset, payloadLen);
        if (pid === undefined) break; // the plugin bails out at a missing pid
        if (pid === 0 || this.comm(pid) !== undefined) continue;
        let s = '';
        const end = Math.min(
          payloadOffset + payloadLen,
          payloadOffset + commField.offset + commField.size,
        );
        for (let i = payloadOffset + commField.offset; i < end && bytes[i] !== 0; i++)
          s += String.fromCharCode(bytes[i]);
        this.learned.set(pid, s);
      }
    }
  }

  /** The last format seen per event id and its plan: records of alternating events (sys_enter,
   *  sys_exit, …) find theirs on two array reads. */
  private readonly formatById = new Array<EventFormat | undefined>(0x10000).fill(undefined);
  private readonly planById = new Array<[FieldDef, FieldDef][] | null>(0x10000).fill(null);

  private plan(format: EventFormat): [FieldDef, FieldDef][] | null {
    const id = format.id & 0xffff;
    if (this.formatById[id] === format) return this.planById[id];
    let p = this.plans.get(format);
    if (p === undefined) {
      const pairs = SAVED[`${format.system}:${format.name}`];
      p = null;
      if (pairs) {
        p = [];
        for (const [c, d] of pairs) {
          const cf = format.fields.find((f) => f.name === c);
          const pf = format.fields.find((f) => f.name === d);
          if (!pf) break;
          if (cf) p.push([cf, pf]);
        }
      }
      this.plans.set(format, p);
    }
    this.formatById[id] = format;
    this.planById[id] = p;
    return p;
  }

  /** tep_get_field_val of a pid field, as the kernel's int (the plugin stores it in an int). */
  private readPid(f: FieldDef, b: Uint8Array, off: number, len: number): number | undefined {
    if (f.size !== 4 && f.size !== 8 && f.size !== 2 && f.size !== 1) return undefined;
    if (f.offset + f.size > len) return undefined;
    const v = new DataView(b.buffer, b.byteOffset + off + f.offset, f.size);
    const le = this.registry.littleEndian;
    switch (f.size) {
      case 1:
        return v.getUint8(0);
      case 2:
        return v.getUint16(0, le);
      case 4:
        return v.getInt32(0, le);
      default:
        return Number(BigInt.asIntN(32, v.getBigUint64(0, le)));
    }
  }
}
