/**
 * Who may run which CONTROL action, and why not: the fan-out's half of CONTROL (the kernel half
 * is server/sources/instance-control.ts). Nothing reaches a source unless the server was started
 * with --allow-control *and* the source lists the action for its instance (own instance; an
 * attached one only with --allow-control-attached; never the top level).
 */
import {CONTROL_ACTIONS, type ControlRequest} from '../../core/protocol.ts';
import {MAPPED_RESIZE_REFUSAL} from '../sources/instance-control.ts';
import type {SourceMetadata, TraceSource} from '../sources/source.ts';

export interface ControlPolicy {
  /** `--allow-control`. */
  allowControl: boolean;
  /** `--allow-control-attached`. */
  allowControlAttached: boolean;
}

const KNOWN = CONTROL_ACTIONS as readonly string[];

/** The actions CONTROL accepts with this source and policy ([] = none: HELLO allowControl false). */
export function allowedControlActions(source: TraceSource, p: ControlPolicy): string[] {
  if (!p.allowControl) return [];
  return (source.controlActions?.(p.allowControlAttached) ?? []).filter((a) => KNOWN.includes(a));
}

/** `#id action` (both cut to 64 characters): the start of every answer's message. */
export function controlTag(req: ControlRequest): string {
  return `${req.id !== undefined ? `#${req.id.slice(0, 64)} ` : ''}${req.action.slice(0, 64)}`;
}

/** Why this request must be denied, or undefined when the source may run it. */
export function controlDenial(
  req: ControlRequest,
  source: TraceSource,
  m: SourceMetadata,
  p: ControlPolicy,
): string | undefined {
  if (!KNOWN.includes(req.action)) return `unknown action (known: ${KNOWN.join(', ')})`;
  if (!p.allowControl) return 'control is not allowed (start the server with --allow-control)';
  const actions = allowedControlActions(source, p);
  if (actions.includes(req.action) && source.control) return undefined;
  if (m.instance === '') return 'the server is attached to the top level, which is never changed';
  const attachedWouldAllow =
    !p.allowControlAttached &&
    actions.length === 0 &&
    (source.controlActions?.(true).length ?? 0) > 0;
  if (attachedWouldAllow) {
    return `instance '${m.instance ?? '?'}' is not the server's own (allow it with --allow-control-attached)`;
  }
  if (req.action === 'buffer-size' && m.kind === 'mmap') return MAPPED_RESIZE_REFUSAL;
  return `not available with the ${m.kind} source`;
}
