/**
 * Typed decode errors. Every parser in core/ reports bad input as a `DecodeError` that says what
 * was wrong (`kind`), in which input (`where`: a file, section or sub-buffer name) and at which
 * byte `offset`, so callers can count it, show it and go on with the rest.
 */
export type DecodeErrorKind =
  | 'short-input' // fewer bytes than a header or field needs
  | 'bad-commit' // sub-buffer commit word out of range
  | 'bad-record' // a record header or length that cannot be right
  | 'bad-meta' // meta page of an unknown or inconsistent layout
  | 'bad-format' // malformed format / header_page / header_event file
  | 'bad-print-fmt' // print fmt that cannot be parsed
  | 'bad-tracedat' // trace.dat structure
  | 'bad-compression' // a compressed block that does not decompress
  | 'bad-frame' // wire protocol frame
  | 'unsupported'; // valid input that this version does not handle

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly kind: DecodeErrorKind,
    readonly detail: string,
    /** Byte offset (or line number for text inputs, see `where`) at which the problem was found. */
    readonly offset: number,
    /** What was being decoded, e.g. `cpu1 sub-buffer 17`, `trace.dat section 18 (event formats)`. */
    readonly where: string,
  ) {
    super(`${where}: ${detail} (at offset ${offset})`);
  }
}

export function isDecodeError(e: unknown): e is DecodeError {
  return e instanceof DecodeError;
}
