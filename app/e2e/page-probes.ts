/**
 * Reading the dashboard from a Playwright page: numbers from stat cells, painted pixels from a
 * canvas, the visible span the timeline panel publishes in data attributes.
 */
import type {Page} from 'playwright-core';

/** Background of the timeline canvases (render/colors.ts THEME.bg / THEME.lane). */
const BACKGROUNDS = [
  [0x15, 0x17, 0x1c],
  [0x1c, 0x1f, 0x26],
];

export async function statValue(page: Page, cpu: number, stat: string): Promise<number> {
  const text = await page
    .locator(`[data-testid=cpu-stats-${cpu}] [data-testid=${stat}]`)
    .innerText();
  const n = Number(text.replace(/[^0-9.-]/g, ''));
  return Number.isFinite(n) ? n : NaN;
}

/** Pixels of a canvas that are neither background colour (painted ink), and ink columns in a row band. */
export async function canvasInk(
  page: Page,
  testId: string,
  band?: {y0: number; y1: number},
): Promise<{ink: number; total: number; inkColumns: number[]}> {
  return page.evaluate(
    ({testId, band, bgs}) => {
      const c = document.querySelector(`[data-testid="${testId}"]`) as HTMLCanvasElement | null;
      if (!c) throw new Error(`no canvas ${testId}`);
      const ctx = c.getContext('2d')!;
      const {data, width, height} = ctx.getImageData(0, 0, c.width, c.height);
      const dpr = c.width / Math.max(1, c.getBoundingClientRect().width);
      let ink = 0;
      const cols = new Set<number>();
      const y0 = band ? Math.floor(band.y0 * dpr) : 0;
      const y1 = band ? Math.ceil(band.y1 * dpr) : height;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = (y * width + x) * 4;
          const r = data[i];
          const g = data[i + 1];
          const b = data[i + 2];
          if (data[i + 3] === 0) continue;
          if (bgs.some((bg) => Math.abs(bg[0] - r) + Math.abs(bg[1] - g) + Math.abs(bg[2] - b) < 6))
            continue;
          ink++;
          if (y >= y0 && y < y1) cols.add(Math.floor(x / dpr));
        }
      }
      return {ink, total: width * height, inkColumns: [...cols].sort((a, b) => a - b)};
    },
    {testId, band, bgs: BACKGROUNDS},
  );
}

export async function visibleRange(page: Page): Promise<{startNs: number; endNs: number}> {
  const el = page.locator('[data-testid=timelines]');
  const startNs = Number(await el.getAttribute('data-start-ns'));
  const endNs = Number(await el.getAttribute('data-end-ns'));
  return {startNs, endNs};
}

export function nextFrame(page: Page): Promise<void> {
  return page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => r())));
}
