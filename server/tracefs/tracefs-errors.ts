/**
 * Errors from tracefs set-up, typed so the CLI and `createSource` can say what went wrong and
 * pick a fallback (e.g. 'not-mounted' → sim, 'unknown-event' → tell the user, never fall back).
 */
export type TracefsErrorKind =
  | 'not-mounted' // no tracefs found (and mounting it was not possible)
  | 'no-permission' // not root / no write access to instances/
  | 'no-instance' // --instance NAME does not exist
  | 'unknown-event' // an event spec matched nothing
  | 'busy' // EBUSY, e.g. resizing a mapped buffer
  | 'io'; // any other file error

export class TracefsError extends Error {
  override readonly name = 'TracefsError';
  constructor(
    readonly kind: TracefsErrorKind,
    message: string,
    /** errno name from the underlying fs error, when there was one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Wrap a Node fs error with what we were doing. */
export function fsFailure(op: string, e: unknown): TracefsError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const kind =
    code === 'EACCES' || code === 'EPERM' ? 'no-permission' : code === 'EBUSY' ? 'busy' : 'io';
  return new TracefsError(kind, `${op}: ${e instanceof Error ? e.message : String(e)}`, code);
}
