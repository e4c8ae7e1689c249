/**
 * Colours for canvases. One restrained dark theme; CSS uses the same values (styles.css).
 * Task colours are a stable hash of the pid so a task keeps its colour across CPUs and reloads.
 */

export const THEME = {
  bg: '#15171c',
  lane: '#1c1f26',
  grid: '#2a2e37',
  text: '#c9ced6',
  muted: '#7d8590',
  accent: '#58a6d6',
  loss: '#e5534b',
  warn: '#d29922',
  swap: '#b48ead',
  selection: '#ffffff',
  idle: '#23262d',
} as const;

const TASK_CACHE = new Map<number, string>();

/** pid 0 (idle, "<idle>") is drawn as background; everything else gets a hashed hue. */
export function taskColor(pid: number): string {
  if (pid === 0) return THEME.idle;
  let c = TASK_CACHE.get(pid);
  if (c) return c;
  // Knuth multiplicative hash spreads consecutive pids over the hue circle.
  const h = (Math.imul(pid, 2654435761) >>> 0) % 360;
  const l = 42 + ((pid >>> 3) % 3) * 6;
  c = `hsl(${h} 45% ${l}%)`;
  TASK_CACHE.set(pid, c);
  return c;
}

/**
 * Well-known events get fixed colours; the rest cycle through a small palette. A Map, not an
 * object indexed by the name: V8 specialises `obj[name]` on the names it has seen, and a draw
 * loop that alternated between tracks with different event names deoptimised and recompiled
 * drawEvents over and over (16–51 Maglev compiles per 6 s heavy `bench painted` run, seen with
 * `--js-flags=--trace-opt,--trace-deopt`).
 */
const TYPE_FIXED = new Map<string, string>([
  ['sched_switch', '#6cb6ff'],
  ['sched_wakeup', '#8ddb8c'],
  ['sched_waking', '#6bc46d'],
  ['sched_wakeup_new', '#b4f1b4'],
  ['irq_handler_entry', '#f69d50'],
  ['irq_handler_exit', '#c6793a'],
  ['softirq_entry', '#dcbdfb'],
  ['softirq_exit', '#b083f0'],
  ['softirq_raise', '#e2c5ff'],
  ['print', '#f0c000'],
  ['sys_enter', '#96d0ff'],
  ['sys_exit', '#539bf5'],
]);
const TYPE_PALETTE = ['#e0823d', '#57ab5a', '#986ee2', '#c69026', '#39c5cf', '#e275ad', '#768390'];

export function eventTypeColor(name: string, typeIndex: number): string {
  return TYPE_FIXED.get(name) ?? TYPE_PALETTE[typeIndex % TYPE_PALETTE.length];
}

/** Colour of every type index of a track, looked up once per draw instead of once per bar. */
export function eventTypeColors(typeNames: readonly string[]): string[] {
  return typeNames.map((n, i) => eventTypeColor(n, i));
}
