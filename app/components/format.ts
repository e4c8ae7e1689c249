/** Number formatting for panels: grouped digits, compact rates, byte sizes. */

const GROUPED = new Intl.NumberFormat('en-US');

export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '—' : GROUPED.format(Math.round(n));
}

export function fmtRate(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Sub-buffer size, short: "4K", "64K", "1M" (page multiples up to 1 MiB). */
export function fmtSubbuf(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes >> 20}M`;
  if (bytes % 1024 === 0) return `${bytes >> 10}K`;
  return `${bytes} B`;
}
