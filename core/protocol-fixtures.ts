/**
 * Helpers for protocol tests and fuzzing, shared by core/, server/ and worker/ tests: a seeded
 * RNG (xorshift32) so every replay and fuzz case is the same on each run.
 */

/** Seeded xorshift32 in [0, 1). */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** `n` pseudo-random bytes. */
export function randomBytes(n: number, seed = 1): Uint8Array {
  const r = seededRandom(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}
