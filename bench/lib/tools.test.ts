/**
 * The benchmarks' own measuring instruments: the two independent id readers (core/tracedat on a
 * trace.dat, regex on trace-cmd's text) must agree on a real recording, markgen's summary line
 * must parse, and on a live kernel a small zero-loss step must deliver every id through Ringside
 * and trace-cmd record (which also exercises instance cleanup).
 */
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {gunzipSync} from 'node:zlib';
import {describe, expect, it} from 'vitest';
import {
  ccRequirement,
  describeWith,
  traceCmdRequirement,
  tracefsRequirement,
} from '../../server/testing/kernel-gate.ts';
import {parseBufferKb, runRingside, runTraceCmdTool} from '../zero-loss.bench.ts';
import {TRACEFS} from './cleanup.ts';
import {
  buildTools,
  idsInText,
  idsInTraceDat,
  parseMarkgen,
  rawDataTypeId,
  type Tools,
} from './tools.ts';
import {parseRates, percentiles} from './util.ts';

const FIX = fileURLToPath(new URL('../../core/testing/fixtures/tracedat/', import.meta.url));

/** `trace-cmd record` of one markgen writer on cpu0 into a temporary directory, removed after. */
async function recordInTempDir(t: Tools, rate: number, secs: number, bufferKb?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'ringside-bench-test-'));
  try {
    return await runTraceCmdTool(
      t,
      'record',
      [{cpu: 0, rate}],
      secs,
      dir,
      rawDataTypeId(),
      'ringside-test-bench-tc',
      bufferKb,
    );
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
}

describe('bench id readers', () => {
  it('trace.dat and trace-cmd report text give the same per-CPU ids', () => {
    const dat = `${FIX}markers-v7-mono.dat`;
    const dir = mkdtempSync(join(tmpdir(), 'ringside-bench-test-'));
    try {
      const txt = join(dir, 'report.txt');
      const text = gunzipSync(readFileSync(`${dat}.report.txt.gz`));
      writeFileSync(txt, text);
      const formats = text.toString('latin1');
      const lines = formats.split('\n').filter((l) => l.includes('raw_data:')).length;
      // raw_data's id in that file: from its own format section, found by the text reader's count.
      const fromText = idsInText(txt);
      let total = 0;
      for (const c of fromText.values()) total += c.received;
      expect(total).toBe(lines);
      expect(total).toBeGreaterThan(0);
      const fromDat = idsInTraceDat(dat, rawDataTypeIdIn(dat));
      expect([...fromDat.entries()].filter(([, c]) => c.received > 0).sort()).toEqual(
        [...fromText.entries()].sort(),
      );
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
  });

  it('reads buffer_size_kb before and after the buffer is expanded', () => {
    expect(parseBufferKb('64\n')).toBe(64);
    expect(parseBufferKb('7 (expanded: 1408)\n')).toBe(7);
    expect(parseBufferKb('X\n')).toBeUndefined();
  });

  it('parses markgen summaries, rates and percentiles', () => {
    const m = parseMarkgen(
      'markgen written=199856 errors=0 elapsed=2.001 rate=99876/s cpu=0.152s (7%) len=12 mode=trace_marker_raw\n',
      [1],
    );
    expect(m).toEqual([
      {cpu: 1, written: 199856, errors: 0, elapsedS: 2.001, rate: 99876, cpuS: 0.152},
    ]);
    expect(parseRates('100k,1.5M,42')).toEqual([100_000, 1_500_000, 42]);
    expect(() => parseRates('fast')).toThrow();
    expect(percentiles([5, 1, 4, 2, 3], [0, 50, 100])).toEqual([1, 3, 5]);
  });
});

/** raw_data's type id as recorded in a trace.dat (not this machine's, which may differ). */
function rawDataTypeIdIn(file: string): number {
  const bytes = readFileSync(file).toString('latin1');
  const m = /name: raw_data\nID: (\d+)/.exec(bytes);
  if (!m) throw new Error(`no raw_data format in ${file}`);
  return Number(m[1]);
}

describeWith(
  'bench zero-loss step on the live kernel',
  [tracefsRequirement(), traceCmdRequirement(), ccRequirement()],
  () => {
    it('ringside and trace-cmd record deliver every id of a 50k/s run, and leave no instance', async () => {
      const t = buildTools();
      const name = `ringside-test-bench-${process.pid}`;
      const rs = await runRingside(t, [{cpu: 0, rate: 50_000}], 0.5, 'ringside', name);
      expect(rs.written).toBeGreaterThan(20_000);
      expect(rs.lost).toBe(0);
      expect(rs.backwards).toBe(0);
      expect(rs.ringsideLoss?.kernelLost).toBe(0);
      const rec = await recordInTempDir(t, 50_000, 0.5);
      expect(rec.written).toBeGreaterThan(20_000);
      expect(rec.received).toBe(rec.written);
      expect(existsSync(`${TRACEFS}/instances/${name}`)).toBe(false);
      expect(rs.bufferKb).not.toBe(64);
    }, 40_000);

    it('--buffer-kb gives Ringside and trace-cmd record the same buffer size', async () => {
      const t = buildTools();
      const rs = await runRingside(t, [{cpu: 0, rate: 20_000}], 0.3, 'ringside', undefined, 64);
      // The kernel rounds up to whole sub-buffers: 64 KiB shows as 67 with 4 KiB sub-buffers.
      expect(rs.bufferKb).toBeGreaterThanOrEqual(64);
      expect(rs.bufferKb).toBeLessThan(80);
      expect(rs.received).toBeGreaterThan(0);
      const rec = await recordInTempDir(t, 20_000, 0.3, 64);
      expect(rec.bufferKb).toBe(rs.bufferKb);
      expect(rec.received).toBeGreaterThan(0);
    }, 40_000);
  },
);
