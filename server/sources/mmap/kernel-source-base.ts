/**
 * What the two tracefs-backed sources (mmap and read) share: one `InstanceSession` (the
 * instance, its state checks, control and the poll()-based wait), the open/roll-back sequence,
 * and closing. Subclasses only say how they open their per-CPU files and how they read them.
 */
import type {
  SourceControlRequest,
  SourceControlResult,
  SourceKind,
  SourceMetadata,
  SourceNotice,
  SourceOpenOptions,
  SourceOptions,
} from '../source.ts';
import {InstanceSession, type KernelSourceExtras} from './instance-session.ts';

export abstract class KernelSourceBase {
  abstract readonly kind: SourceKind;
  protected session: InstanceSession | undefined;
  protected closed = false;
  /** The last read() stopped at its slice budget: the next wait() returns at once. */
  protected moreQueued = false;
  /** Round-robin start so one busy CPU cannot starve the others under a small budget. */
  protected nextCpu = 0;

  constructor(
    protected readonly options: SourceOptions,
    protected readonly extras: KernelSourceExtras = {},
  ) {}

  /** Work before the instance exists (a thread that must be in the self filter from the start). */
  protected async prepare(): Promise<void> {}
  /** Open the per-CPU files of `session` and start its wait (throw to roll back). */
  protected abstract openFiles(session: InstanceSession): void | Promise<void>;
  /** Forget the per-CPU files (the session closes their fds). */
  protected abstract dropFiles(): void;
  /** Whether the buffers are memory-mapped (resizing is then refused: EBUSY). */
  protected abstract readonly mapped: boolean;
  abstract metadata(o?: SourceOpenOptions): Promise<SourceMetadata>;

  async open(o?: SourceOpenOptions): Promise<SourceMetadata> {
    if (this.closed) throw new Error(`${this.kind} source: open() after close()`);
    if (this.session) return this.metadata(o);
    // open() awaits before the session exists: a second caller waits for the first.
    this.opening ??= this.openSession().finally(() => (this.opening = undefined));
    await this.opening;
    return this.metadata(o);
  }

  private opening: Promise<void> | undefined;

  private async openSession(): Promise<void> {
    let session: InstanceSession | undefined;
    // close() while open() awaited: undo what exists instead of creating (or keeping) more.
    const closedMeanwhile = () => {
      if (this.closed) throw new Error(`${this.kind} source: closed while opening`);
    };
    try {
      await this.prepare();
      closedMeanwhile();
      session = new InstanceSession(this.options, this.extras, `${this.kind} source`);
      this.session = session;
      await this.openFiles(session);
      closedMeanwhile();
    } catch (e) {
      session?.closeNow();
      this.dropFiles();
      this.session = undefined;
      throw e;
    }
  }

  /** Tracefs instance directory in use (for tests and logs). */
  get instanceDir(): string | undefined {
    return this.session?.instance.dir;
  }

  controlActions(attachedAllowed: boolean): string[] {
    return this.session?.controlActions(attachedAllowed, this.mapped) ?? [];
  }

  async control(req: SourceControlRequest): Promise<SourceControlResult> {
    const s = this.session;
    if (!s || this.closed) return {ok: false, message: 'source is closed'};
    return s.control(req, this.mapped);
  }

  pollNotices(): SourceNotice[] {
    const out: SourceNotice[] = [];
    if (this.session && !this.closed) this.session.checkState(out);
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const s = this.session;
    this.session = undefined;
    this.dropFiles();
    await s?.close();
  }
}
