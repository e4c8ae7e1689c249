import {readFileSync, readdirSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {gunzipSync} from 'fflate';
import {describe, expect, it} from 'vitest';
import {BytesSource} from '../tracedat/byte-source.ts';
import {readTraceDat} from '../tracedat/tracedat-file.ts';
import {TraceReport} from './trace-report.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../testing/fixtures/tracedat');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.dat'));

function report(name: string): TraceReport {
  return new TraceReport(
    readTraceDat(new BytesSource(new Uint8Array(readFileSync(join(DIR, name))))),
  );
}

function expected(name: string): string {
  return new TextDecoder().decode(
    gunzipSync(new Uint8Array(readFileSync(join(DIR, `${name}.report.txt.gz`)))),
  );
}

describe('TraceReport.blocks', () => {
  for (const name of FILES) {
    it(`${name}: blocks printed by two readers add up to trace-cmd's text`, () => {
      const whole = expected(name);
      const body = whole.slice(whole.indexOf('\n') + 1);
      // Small blocks so that sched events that teach comms fall into skipped blocks.
      const size = 7;
      const even = new Map<number, string>();
      const odd = new Map<number, string>();
      const a = report(name);
      for (const [b, text] of a.blocks(size, (b) => b % 2 === 0))
        even.set(b, (even.get(b) ?? '') + text);
      const c = report(name);
      for (const [b, text] of c.blocks(size, (b) => b % 2 === 1))
        odd.set(b, (odd.get(b) ?? '') + text);
      expect(a.events).toBe(c.events);
      const blocks = Math.ceil(a.events / size);
      expect(blocks).toBeGreaterThan(2);
      let joined = '';
      for (let b = 0; b < blocks; b++) joined += (b % 2 === 0 ? even : odd).get(b) ?? '<missing>';
      expect(joined).toBe(body);
      // and chunks() prints the same
      expect([...report(name).chunks()].join('')).toBe(body);
    });
  }
});
