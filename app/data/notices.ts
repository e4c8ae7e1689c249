/**
 * Pure rules for what the page shows about server notices, controls and the source: the text
 * of a NOTICE, the tracing state it implies, which control buttons are listed, and which
 * "why this source" explanation applies. Kept apart from components so they test without a DOM.
 */
import type {ProblemKind, SourceInfo} from '../store/connection-slice.ts';

const LABEL: Record<string, string> = {
  reset: 'Ring buffer reset',
  'tracing-off': 'Tracing is off',
  'tracing-on': 'Tracing is on',
  'instance-gone': 'The tracefs instance is gone',
  'metadata-changed': 'Events changed',
  error: 'Source error',
  end: 'End of trace',
  'server-shutdown': 'The server is shutting down',
  'control-ok': 'Done',
  'control-denied': 'Denied',
  'control-failed': 'Failed',
};

/** `#id action: reason` (control answers) → {action, reason}; undefined when not that shape. */
export function parseControlAnswer(message: string): {action: string; reason: string} | undefined {
  const m = /^(?:#\S+ )?([a-z-]+)(?::\s*(.*))?$/s.exec(message);
  return m ? {action: m[1], reason: m[2] ?? ''} : undefined;
}

/** The line the notice area shows for a NOTICE. */
export function noticeText(kind: string, cpu: number, message: string): string {
  const label = LABEL[kind] ?? kind;
  if (kind.startsWith('control-')) {
    const a = parseControlAnswer(message);
    if (a) return `${label}: ${a.action}${a.reason ? ` — ${a.reason}` : ''}`;
  }
  const where = cpu >= 0 ? ` (CPU ${cpu})` : '';
  return message ? `${label}${where}: ${message}` : `${label}${where}`;
}

/** Tracing state after a NOTICE: tracing-on/-off notices, or an accepted tracing-on/-off. */
export function tracingAfter(
  kind: string,
  message: string,
  current: boolean | null,
): boolean | null {
  if (kind === 'tracing-on') return true;
  if (kind === 'tracing-off') return false;
  if (kind === 'control-ok') {
    const a = parseControlAnswer(message)?.action;
    if (a === 'tracing-on') return true;
    if (a === 'tracing-off') return false;
  }
  return current;
}

/** Header buttons in order; each listed only when the server accepts its action. */
export const CONTROL_BUTTONS = [
  {action: 'tracing-on', label: 'Start', title: 'Turn tracing on (tracing_on = 1)'},
  {action: 'tracing-off', label: 'Stop', title: 'Turn tracing off (tracing_on = 0)'},
  {action: 'clear', label: 'Clear', title: 'Clear the ring buffer'},
] as const;

/** What the header offers: nothing unless the backend can send and the server allows control. */
export function visibleControls(
  source: SourceInfo | null,
  canSend: boolean,
): {buttons: (typeof CONTROL_BUTTONS)[number][]; events: boolean} {
  if (!source?.controlAllowed || !canSend) return {buttons: [], events: false};
  // A v0 server sends no list: it accepts the three buttons' actions.
  const actions = source.controlActions ?? ['tracing-on', 'tracing-off', 'clear'];
  return {
    buttons: CONTROL_BUTTONS.filter((b) => actions.includes(b.action)),
    events: actions.includes('enable-event') || actions.includes('disable-event'),
  };
}

const FALLBACK_CODES: readonly string[] = ['no-tracefs', 'no-permission', 'no-mmap', 'old-kernel'];

/**
 * The explanation to show for why the server is not reading the real ring buffer (the
 * simulator, or read() without mmap), from HELLO's sourceReasonCode; null when it is fine.
 */
export function sourceAdviceKind(source: SourceInfo | null): ProblemKind | null {
  const code = source?.reasonCode;
  if (!source || !code || !FALLBACK_CODES.includes(code)) return null;
  // read() on a kernel without mmap already has its own banner (the 'no-mmap' problem).
  if (source.kind === 'read' && code === 'no-mmap') return null;
  return code as ProblemKind;
}
