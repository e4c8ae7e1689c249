/**
 * Test helper: pages of hand-made scheduler records from a few lines of text, in the spirit of
 * Firefox's `getProfileFromTextSamples`. Field offsets come from the fixture format files.
 *
 *   0 100 switch 0 R 10      cpu 0, ts 100: prev_pid 0 (state R) → next_pid 10
 *   0 200 waking 20          cpu 0, ts 200: sched_waking pid 20
 *   1 520 wakeup 30          sched_wakeup pid 30
 *   1 800 other              any non-sched record (ftrace print)
 */
import {EventRegistry} from '../../core/format/event-registry.ts';
import {X86_64_4K} from '../../core/page-layout.ts';
import {buildSubbuf, type BuiltRecord} from '../../core/testing/page-builder.ts';
import type {DecodedPage} from '../page-sink.ts';
import {captureMetadata, decodePage} from './capture-pages.ts';

export const STATE_BITS: Record<string, number> = {R: 0, S: 1, D: 2, T: 4, 'R+': 0x100};

export function fixtureRegistry(): EventRegistry {
  const meta = captureMetadata();
  const reg = new EventRegistry({longSize: 8, littleEndian: true});
  for (const f of meta.formats) reg.addFormatText(f.text, f.system);
  return reg;
}

function record(reg: EventRegistry, words: string[], comms: Map<number, string>): Uint8Array {
  const kind = words[2];
  const name =
    kind === 'switch'
      ? 'sched_switch'
      : kind === 'waking'
        ? 'sched_waking'
        : kind === 'wakeup'
          ? 'sched_wakeup'
          : 'print';
  const system = name === 'print' ? 'ftrace' : 'sched';
  const f = reg.byName(system, name)!;
  const size = Math.max(...f.fields.map((x) => x.offset + x.size), 16);
  const b = new Uint8Array((size + 3) & ~3);
  const v = new DataView(b.buffer);
  v.setUint16(0, f.id, true);
  const put = (field: string, value: number) => {
    const d = f.fieldByName.get(field)!;
    if (d.size === 8) v.setBigInt64(d.offset, BigInt(value), true);
    else v.setInt32(d.offset, value, true);
  };
  const putComm = (field: string, pid: number) => {
    const d = f.fieldByName.get(field)!;
    const s = comms.get(pid) ?? `task${pid}`;
    for (let i = 0; i < s.length && i < 15; i++) b[d.offset + i] = s.charCodeAt(i);
  };
  if (kind === 'switch') {
    const prev = Number(words[3]);
    const next = Number(words[5]);
    put('prev_pid', prev);
    put('prev_state', STATE_BITS[words[4]]);
    put('next_pid', next);
    putComm('prev_comm', prev);
    putComm('next_comm', next);
    v.setInt32(4, prev, true);
  } else if (kind === 'waking' || kind === 'wakeup') {
    put('pid', Number(words[3]));
    putComm('comm', Number(words[3]));
  }
  return b;
}

/**
 * Pages per CPU from script lines, `perPage` records per page (timestamps via deltas from the
 * page's first record). Returns the pages of each CPU in order.
 */
export function schedPages(
  script: string,
  perPage: number,
  reg = fixtureRegistry(),
  comms = new Map<number, string>(),
): Map<number, DecodedPage[]> {
  const byCpu = new Map<number, {ts: number; payload: Uint8Array}[]>();
  for (const line of script.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words.length < 3 || words[0].startsWith('#')) continue;
    const cpu = Number(words[0]);
    if (!byCpu.has(cpu)) byCpu.set(cpu, []);
    byCpu.get(cpu)!.push({ts: Number(words[1]), payload: record(reg, words, comms)});
  }
  const out = new Map<number, DecodedPage[]>();
  for (const [cpu, recs] of byCpu) {
    const pages: DecodedPage[] = [];
    for (let i = 0, seq = 0; i < recs.length; i += perPage, seq++) {
      const chunk = recs.slice(i, i + perPage);
      let prev = chunk[0].ts;
      const records: BuiltRecord[] = chunk.map((r) => {
        const delta = r.ts - prev;
        prev = r.ts;
        return {kind: 'data', delta, payload: r.payload};
      });
      const bytes = buildSubbuf(X86_64_4K, records, {timestamp: chunk[0].ts});
      pages.push(decodePage(bytes, cpu, seq, seq + 1));
    }
    out.set(cpu, pages);
  }
  return out;
}
