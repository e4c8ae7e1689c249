/**
 * Process-wide registry of synchronous undo actions (unmap, close fds, remove own instance), run
 * on SIGINT/SIGTERM, on normal exit and on uncaught errors, so a dying server leaves no tracefs
 * instance behind. Sources register on open and unregister on close.
 *
 * Sources call `installCleanupHandlers()` when they open (idempotent); the server may call it at
 * start-up too, and may call `runCleanups()` from its own shutdown path.
 */

export type CleanupAction = () => void;

const actions = new Map<number, {label: string; run: CleanupAction}>();
let nextId = 1;
let installed = false;

/** Register `run`; returns the handle to pass to `unregisterCleanup`. */
export function registerCleanup(label: string, run: CleanupAction): number {
  const id = nextId++;
  actions.set(id, {label, run});
  return id;
}

export function unregisterCleanup(id: number): void {
  actions.delete(id);
}

export function pendingCleanups(): string[] {
  return [...actions.values()].map((a) => a.label);
}

/** Run every registered action once (newest first); errors are reported, never thrown. */
export function runCleanups(log: (line: string) => void = (l) => console.error(l)): void {
  const list = [...actions.entries()].reverse();
  actions.clear();
  for (const [, a] of list) {
    try {
      a.run();
    } catch (e) {
      log(`cleanup '${a.label}' failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

const SIGNAL_EXIT: Record<string, number> = {SIGINT: 130, SIGTERM: 143, SIGHUP: 129};

/**
 * Hook SIGINT/SIGTERM/SIGHUP and process exit (idempotent). On a signal every action runs; then,
 * if nobody else listens for that signal, the process exits with 128+signo. A server with its own
 * graceful shutdown keeps control: its listener still runs and decides when to exit (closing a
 * source after its cleanup already ran is a harmless no-op).
 */
export function installCleanupHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => runCleanups());
  for (const sig of Object.keys(SIGNAL_EXIT) as NodeJS.Signals[]) {
    const onSignal = () => {
      runCleanups();
      if (process.listenerCount(sig) === 1) process.exit(SIGNAL_EXIT[sig]);
    };
    process.on(sig, onSignal);
  }
}
