/**
 * UTF-8 for the protocol's text fields without the DOM lib. `TextEncoder`/`TextDecoder` exist in
 * every runtime we run in (Node ≥ 11, browsers, workers); core's tsconfig only lacks their types.
 * Decoding is strict (`fatal`): a frame with invalid UTF-8 is a bad frame, not mojibake.
 */
declare class TextDecoder {
  constructor(label?: string, options?: {fatal?: boolean});
  decode(input?: Uint8Array): string;
}
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}

const STRICT = new TextDecoder('utf-8', {fatal: true});
const ENCODER = new TextEncoder();

/** Throws a TypeError on invalid UTF-8. */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  return STRICT.decode(bytes);
}

export function encodeUtf8(text: string): Uint8Array {
  return ENCODER.encode(text);
}
