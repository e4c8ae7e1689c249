/**
 * A tracefs instance Ringside reads from: by default its own `instances/ringside-<pid>` (created,
 * configured and removed by us, because concurrent consumers of one buffer steal each other's
 * data), or an existing instance / the top level attached to without changing anything.
 */
import {existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync} from 'node:fs';
import {DEFAULT_EVENTS, isToggleable, resolveEventSpecs} from './event-spec.ts';
import {onlineCpus} from './tracefs-root.ts';
import {TracefsError, fsFailure} from './tracefs-errors.ts';
import {removeStaleInstances} from './stale-instances.ts';
import {SelfFilter} from './self-filter.ts';

export interface InstanceOptions {
  /** tracefs root, e.g. /sys/kernel/tracing. */
  root: string;
  /** undefined: create our own instance; '' = top level (explicit); NAME = attach to it. */
  attach?: string;
  /** Name for our own instance (default `ringside-<pid>`, `-2`, `-3`… when taken by us). */
  ownName?: string;
  /** Own instance only. */
  bufferKb?: number;
  subbufKb?: number;
  /** Own instance only; default 0 so poll() wakes on any data (kernel-abi.md §2.4). */
  bufferPercent?: number;
  clock?: string;
  /** trace-cmd syntax; empty = DEFAULT_EVENTS. Own instance only. */
  events?: string[];
  /**
   * Keep this process's own threads out of the instance (set_event_notrace_pid, written before
   * any event is enabled; see self-filter.ts). Own instance only.
   */
  filterSelf?: boolean;
  log?: (line: string) => void;
}

let ownCounter = 0;

export class TraceInstance {
  private removed = false;
  /** Own instance with `filterSelf`: call refresh() when threads may have started. */
  selfFilter: SelfFilter | undefined;

  private constructor(
    /** Directory of the instance (the root itself for the top level). */
    readonly dir: string,
    /** '' for the top level. */
    readonly name: string,
    /** True when we created it and must remove it. */
    readonly owned: boolean,
    readonly root: string,
  ) {}

  /** Create (own) or attach to an instance. Own instances are removed again if set-up fails. */
  static open(o: InstanceOptions): TraceInstance {
    if (o.attach !== undefined) {
      const dir = o.attach === '' ? o.root : `${o.root}/instances/${o.attach}`;
      if (!existsSync(`${dir}/per_cpu`)) {
        throw new TracefsError('no-instance', `tracefs instance '${o.attach}' not found (${dir})`);
      }
      return new TraceInstance(dir, o.attach, false, o.root);
    }
    removeStaleInstances(o.root, o.log);
    const name = o.ownName ?? TraceInstance.freeOwnName(o.root);
    const dir = `${o.root}/instances/${name}`;
    try {
      mkdirSync(dir);
    } catch (e) {
      throw fsFailure(`create tracefs instance ${dir}`, e);
    }
    const inst = new TraceInstance(dir, name, true, o.root);
    try {
      inst.configure(o);
    } catch (e) {
      inst.remove();
      throw e;
    }
    return inst;
  }

  private static freeOwnName(root: string): string {
    const base = `ringside-${process.pid}`;
    if (!existsSync(`${root}/instances/${base}`)) return base;
    for (;;) {
      const n = `${base}-${++ownCounter + 1}`;
      if (!existsSync(`${root}/instances/${n}`)) return n;
    }
  }

  private configure(o: InstanceOptions): void {
    if (o.subbufKb !== undefined) this.setSubbufKb(o.subbufKb);
    if (o.bufferKb !== undefined) this.write('buffer_size_kb', String(o.bufferKb));
    if (existsSync(this.path('buffer_percent'))) {
      this.write('buffer_percent', String(o.bufferPercent ?? 0));
    }
    if (o.clock) this.write('trace_clock', o.clock);
    if (o.filterSelf) {
      this.selfFilter = new SelfFilter(this, o.log);
      this.selfFilter.refresh();
    }
    const specs = o.events && o.events.length ? o.events : DEFAULT_EVENTS;
    const resolved = resolveEventSpecs(`${this.dir}/events`, specs);
    if (resolved.all) this.write('events/enable', '1');
    for (const e of resolved.events) {
      if (isToggleable(`${this.dir}/events`, e))
        this.write(`events/${e.system}/${e.name}/enable`, '1');
    }
  }

  /**
   * Sub-buffer size. Some kernels refuse any write to `buffer_subbuf_size_kb` (EPERM, like the
   * locked function tracer of the project VM since 2026-12), even of the value it has, so the
   * file is written only when the size would change, and a refusal says how to go on.
   */
  private setSubbufKb(kb: number): void {
    const file = 'buffer_subbuf_size_kb';
    if (!existsSync(this.path(file))) {
      if (kb === 4) return;
      throw new TracefsError(
        'io',
        `${this.path(file)} does not exist: this kernel (before 6.8) has one-page sub-buffers`,
      );
    }
    if (Number(this.read(file).trim()) === kb) return;
    try {
      this.write(file, String(kb));
    } catch (e) {
      if (!(e instanceof TracefsError) || e.kind !== 'no-permission') throw e;
      const now = this.read(file).trim();
      throw new TracefsError(
        'no-permission',
        `${e.message}: this kernel does not let the sub-buffer size be changed; ` +
          `leave out --subbuf-kb to use its ${now} KiB sub-buffers`,
        e.code,
      );
    }
  }

  /**
   * Add threads to `set_event_notrace_pid` (appended: the ones already there stay). Own instance
   * only: an attached instance or the top level is never changed.
   */
  addNotracePids(pids: number[]): void {
    if (!this.owned) throw new Error(`${this.dir} is not our own instance: not changing its pids`);
    if (pids.length === 0) return;
    const value = pids.join(' ');
    try {
      writeFileSync(this.path('set_event_notrace_pid'), value, {flag: 'a'});
    } catch (e) {
      throw fsFailure(`add '${value}' to ${this.path('set_event_notrace_pid')}`, e);
    }
  }

  /** CPUs with a per_cpu directory that are online. */
  cpus(): number[] {
    return onlineCpus(this.dir);
  }

  path(rel: string): string {
    return `${this.dir}/${rel}`;
  }

  read(rel: string): string {
    try {
      return readFileSync(this.path(rel), 'utf8');
    } catch (e) {
      throw fsFailure(`read ${this.path(rel)}`, e);
    }
  }

  write(rel: string, value: string): void {
    try {
      writeFileSync(this.path(rel), value);
    } catch (e) {
      throw fsFailure(`write '${value}' to ${this.path(rel)}`, e);
    }
  }

  exists(): boolean {
    return existsSync(`${this.dir}/tracing_on`);
  }

  /** tracing_on as a boolean; undefined when it cannot be read (instance gone). */
  tracingOn(): boolean | undefined {
    try {
      return readFileSync(this.path('tracing_on'), 'utf8').trim() !== '0';
    } catch {
      return undefined;
    }
  }

  bufferPercent(): number {
    try {
      return Number(this.read('buffer_percent').trim());
    } catch {
      return 50;
    }
  }

  /** The selected clock from `trace_clock` ("[local] global …" → "local"). */
  traceClock(): string {
    const m = /\[([^\]]+)\]/.exec(this.read('trace_clock'));
    return m?.[1] ?? 'local';
  }

  /**
   * Remove our own instance (no-op when attached or already removed). rmdir answers EBUSY while
   * any file of the instance is still open (a trace_pipe_raw fd, or a poll still holding it), so
   * retry briefly. Returns the error when it finally failed.
   */
  remove(): TracefsError | undefined {
    if (!this.owned || this.removed) return undefined;
    let last: unknown;
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        rmdirSync(this.dir);
        this.removed = true;
        return undefined;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          this.removed = true;
          return undefined;
        }
        last = e;
        if (code !== 'EBUSY') break;
        sleepSync(20);
      }
    }
    return fsFailure(`remove tracefs instance ${this.dir}`, last);
  }
}

/** Block this thread for `ms` (used only while tearing down, where there is no event loop left). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
