/** Full-page states that say what happened and what to do next. */
import type {Problem, ProblemKind} from '../store/connection-slice.ts';

const ADVICE: Record<Problem['kind'], {title: string; what: string}> = {
  'no-token': {
    title: 'No access token',
    what: 'Open the exact URL that `ringside serve` printed; it ends in ?token=…',
  },
  unauthorized: {
    title: 'Wrong or expired token',
    what: 'The server refused this token (HTTP 401). Restarting the server makes a new token: copy the URL it printed again.',
  },
  'server-gone': {
    title: 'The server went away',
    what: 'The connection closed. Start `ringside serve` again and reload this page with the URL it prints.',
  },
  'no-tracefs': {
    title: 'tracefs is not available',
    what: 'Mount it (`mount -t tracefs nodev /sys/kernel/tracing`) or run `ringside serve --source sim` to try the simulator.',
  },
  'no-permission': {
    title: 'No permission to trace',
    what: 'The server needs root (or CAP_SYS_ADMIN / CAP_PERFMON with access to tracefs). Run it with sudo.',
  },
  'no-mmap': {
    title: 'This kernel cannot map the ring buffer',
    what: 'Linux 6.10 or later is needed for the mmap interface; Ringside is reading trace_pipe_raw instead, without the meta page.',
  },
  'old-kernel': {
    title: 'This kernel is too old for the live ring buffer',
    what: 'Ringside maps the ring buffer (Linux 6.10 or later); with an older kernel start `ringside serve --source read` for the read() fallback, or use the simulator.',
  },
  worker: {
    title: 'The decoder failed to start',
    what: 'Reload the page. If it keeps failing, check the browser console and report it.',
  },
  other: {title: 'Something went wrong', what: 'Reload the page; the details are below.'},
};

export function EmptyState({problem}: {problem: Problem}) {
  const a = ADVICE[problem.kind];
  return (
    <div className="empty-state" data-testid="empty-state" data-problem={problem.kind}>
      <h2>{a.title}</h2>
      <p>{a.what}</p>
      {problem.message && <pre className="detail">{problem.message}</pre>}
    </div>
  );
}

/**
 * Why the server is not on the real ring buffer (HELLO sourceReasonCode), what to do, and a
 * button to put it away: the dashboard stays (the simulator or read() still streams).
 */
export function SourceAdvice({
  kind,
  sourceKind,
  reason,
  onDismiss,
}: {
  kind: ProblemKind;
  sourceKind: string;
  reason?: string;
  onDismiss: () => void;
}) {
  const a = ADVICE[kind];
  const using =
    sourceKind === 'sim'
      ? 'Showing the simulator instead of the kernel.'
      : sourceKind === 'read'
        ? 'Reading trace_pipe_raw with read() instead (no meta page).'
        : '';
  return (
    <div className="banner info source-advice" data-testid="source-advice" data-problem={kind}>
      <strong>{a.title}.</strong> {using} {a.what}
      {reason && <span className="muted"> ({reason})</span>}
      <button aria-label="dismiss" onClick={onDismiss}>
        ✕
      </button>
    </div>
  );
}

/** Problems that replace the dashboard. Losing the server after data arrived does not: the
 * window stays browsable while the worker reconnects, with a banner saying so. */
export function isBlocking(p: Problem | null, hasSource: boolean): p is Problem {
  if (p === null || p.kind === 'no-mmap') return false;
  return !(p.kind === 'server-gone' && hasSource);
}
