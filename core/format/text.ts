/**
 * UTF-8 decoding for core/ without the DOM lib: `TextDecoder` exists in every runtime we run in
 * (browsers, workers, Node ≥ 11) but is not in `lib: ES2022`, so declare the part we use.
 * Invalid sequences become U+FFFD (non-fatal), as Node does when it reads a tool's stdout.
 */
declare class TextDecoder {
  constructor(label?: string, options?: {fatal?: boolean});
  decode(input?: Uint8Array): string;
}

const DECODER = new TextDecoder('utf-8');

export function utf8(bytes: Uint8Array): string {
  // ASCII fast path for short strings (comm names, flags): avoids the decoder call overhead.
  const n = bytes.length;
  if (n <= 32) {
    let s = '';
    for (let i = 0; i < n; i++) {
      const c = bytes[i];
      if (c >= 0x80) return DECODER.decode(bytes);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return DECODER.decode(bytes);
}
