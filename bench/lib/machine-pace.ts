/**
 * How fast this machine's CPUs are right now, for the record beside each live run.
 *
 * On the project VM the same work sometimes takes 1.6–2.2× the CPU time in every process at
 * once (session 9 in docs/benchmarks.md), and the guest shows no steal time to tell those runs
 * apart. So the benches time two fixed pieces of work before and after their runs: an
 * arithmetic loop (the vCPU's speed) and a walk over 32 MiB that misses the caches (memory
 * latency). A run whose figures are well above the usual ones ran on a slower machine.
 */

/** Xorshift steps: ~50 ms on the project VM in a fast phase. */
const ALU_STEPS = 30_000_000;
/** Bytes walked, one read per 64-byte line, each read's address taken from the one before. */
const MEM_BYTES = 32 * 1024 * 1024;

export interface MachinePace {
  /** ms for the arithmetic loop (the fastest of three). */
  aluMs: number;
  /** ms for the memory walk (the fastest of three). */
  memMs: number;
}

let sink = 0;

/**
 * Wall time of the fastest of three: Node 20 has no per-thread CPU clock, and the process's CPU
 * time also counts its compiler and GC threads (a bench that has just started compiles its own
 * code meanwhile: 72–78 ms where a quiet process took 51). The fastest of three is what the
 * machine can do when nothing interrupts it.
 */
function fastestMs(run: () => number): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    sink += run();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

function alu(steps: number): number {
  let x = 1;
  let s = 0;
  for (let i = 0; i < steps; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    s += x & 7;
  }
  return s;
}

let memBuf: Int32Array | undefined;

/**
 * A buffer whose 64-byte lines form one cycle in a random order: line i's first int is the
 * index of the next line's first int. Following it is a chain of dependent cache misses (memory
 * latency, which independent reads would hide by overlapping).
 */
export function chaseBuffer(bytes: number): Int32Array {
  const a = new Int32Array(bytes / 4);
  const lines = a.length >>> 4; // 16 ints = 64 bytes
  const order = new Int32Array(lines);
  for (let i = 0; i < lines; i++) order[i] = i;
  let seed = 12345;
  for (let i = lines - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = seed % (i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (let i = 0; i < lines; i++) a[order[i] << 4] = order[(i + 1) % lines] << 4;
  return a;
}

function walk(a: Int32Array): number {
  const lines = a.length >>> 4;
  let at = 0;
  for (let i = 0; i < lines; i++) at = a[at];
  return at;
}

/** Time both pieces (after warm-up passes, so JIT and first-touch costs are excluded). */
export function machinePace(aluSteps = ALU_STEPS, memBytes = MEM_BYTES): MachinePace {
  if (!memBuf || memBuf.byteLength !== memBytes) memBuf = chaseBuffer(memBytes);
  // Warm-up: enough calls for V8 to have optimised code ready (a first call of the long loop
  // would otherwise run partly unoptimised: 55–65 ms where later calls took 51).
  for (let i = 0; i < 5; i++) sink += alu(aluSteps / 20);
  sink += walk(memBuf);
  const mem = memBuf;
  const aluMs = fastestMs(() => alu(aluSteps));
  const memMs = fastestMs(() => walk(mem));
  return {aluMs, memMs};
}

export function formatPace(p: MachinePace): string {
  return `machine pace: ${p.aluMs.toFixed(0)} ms for a fixed arithmetic loop, ${p.memMs.toFixed(0)} ms for a chain of cache misses over 32 MiB`;
}

/** The loops' results, kept so they cannot be optimised away (and for tests). */
export function paceSink(): number {
  return sink;
}
