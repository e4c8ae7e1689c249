/**
 * The server keeps its own threads out of its own instance (tracefs/self-filter.ts), live: with
 * raw_syscalls enabled and nothing but the source's own wait/read loop running in this process,
 * no delivered event may carry one of this process's thread ids, a thread started after the
 * instance was created is added by the next state check, and `traceSelf` (serve
 * --no-self-filter) turns all of it off.
 */
import {spawn} from 'node:child_process';
import {readFileSync, readdirSync} from 'node:fs';
import {Worker} from 'node:worker_threads';
import {afterEach, expect, it} from 'vitest';
import {EventColumns, decodeSubbuf} from '../../../core/subbuffer.ts';
import {pageLayoutFromHeaderPage} from '../../../core/page-layout.ts';
import {describeKernel} from '../../testing/kernel-gate.ts';
import {MmapSource} from './mmap-source.ts';

const open: MmapSource[] = [];
let serial = 0;
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

function makeSource(traceSelf: boolean, readerThread = false): MmapSource {
  const s = new MmapSource(
    {source: 'mmap', events: ['raw_syscalls'], bufferKb: 2048, ...(traceSelf ? {traceSelf} : {})},
    {ownInstanceName: `ringside-test-self${serial++}-${process.pid}`, clock: 'mono', readerThread},
  );
  open.push(s);
  return s;
}

const ownTids = () => new Set(readdirSync('/proc/self/task').map(Number));

interface Seen {
  pid: number;
  tsNs: number;
}

/** Run the source's own wait/read loop for `ms`, decoding every event's common_pid. */
async function readFor(s: MmapSource, ms: number, out: Seen[]): Promise<void> {
  const md = await s.open();
  const layout = pageLayoutFromHeaderPage(md.headerPage, md.littleEndian, 'header_page');
  const cols = new EventColumns(4096);
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await s.wait(50);
    for (const sl of s.read(256).slices) {
      cols.clear();
      const r = decodeSubbuf(sl.bytes, 0, sl.bytes.length, layout, cols, {emitFrom: sl.from});
      const dv = new DataView(sl.bytes.buffer, sl.bytes.byteOffset, sl.bytes.byteLength);
      for (let i = 0; i < r.count; i++) {
        out.push({pid: dv.getInt32(cols.payloadOffset[i] + 4, true), tsNs: cols.tsNs[i]});
      }
    }
  }
}

/** Some syscalls from another process, so the test knows events do flow. */
function foreignActivity(): {pid: number; done: Promise<void>} {
  const child = spawn('sh', ['-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.05; done'], {
    stdio: 'ignore',
  });
  return {pid: child.pid!, done: new Promise((r) => child.on('close', () => r()))};
}

describeKernel('self filter on the live kernel (raw_syscalls in the own instance)', () => {
  it("writes this process's threads to set_event_notrace_pid of the own instance", async () => {
    const s = makeSource(false);
    await s.open();
    const listed = new Set(
      readFileSync(`${s.instanceDir}/set_event_notrace_pid`, 'utf8').split(/\s+/).map(Number),
    );
    for (const tid of ownTids()) expect(listed.has(tid)).toBe(true);
  });

  it.each([
    ['inline', false],
    ['with the reader thread', true],
  ])(
    "delivers no event of the server's own threads while it idles, and others' events (%s)",
    async (_, thread) => {
      // The reader thread polls and swaps: started before the instance, it is filtered from the
      // start (a thread started later would be traced until the next state check).
      const s = makeSource(false, thread);
      const seen: Seen[] = [];
      const other = foreignActivity();
      await readFor(s, 1200, seen);
      await other.done;
      const mine = ownTids();
      const own = seen.filter((e) => mine.has(e.pid)).length;
      const foreign = seen.filter((e) => e.pid === other.pid).length;
      console.log(`[self-filter] ${seen.length} events, own ${own}, from the shell ${foreign}`);
      expect(foreign).toBeGreaterThan(0);
      expect(own).toBe(0);
    },
  );

  it('a thread started after the instance was created is added by the next state check', async () => {
    const s = makeSource(false);
    await s.open();
    const before = ownTids();
    // A worker thread busy with syscalls, started after the instance was created.
    const worker = new Worker(
      "const fs = require('node:fs'); setInterval(() => { for (let i = 0; i < 20; i++) fs.statSync('/'); }, 2);",
      {eval: true},
    );
    try {
      await new Promise((r) => worker.once('online', r));
      const fresh = [...ownTids()].filter((t) => !before.has(t));
      expect(fresh.length).toBeGreaterThan(0);
      const seen: Seen[] = [];
      const reading = readFor(s, 1500, seen);
      // readFor's read() runs a state check at most every 250 ms: after 400 ms one has run.
      await new Promise((r) => setTimeout(r, 400));
      const checkedNs = Number(process.hrtime.bigint());
      await reading;
      const ofWorker = (e: Seen) => fresh.includes(e.pid);
      const early = seen.filter((e) => ofWorker(e) && e.tsNs < checkedNs).length;
      const late = seen.filter((e) => ofWorker(e) && e.tsNs >= checkedNs).length;
      console.log(`[self-filter] new thread's events: ${early} before the check, ${late} after`);
      expect(late).toBe(0);
      const listed = readFileSync(`${s.instanceDir}/set_event_notrace_pid`, 'utf8');
      for (const t of fresh) expect(listed.split(/\s+/).map(Number)).toContain(t);
    } finally {
      await worker.terminate();
    }
  });

  it('traceSelf (serve --no-self-filter): the own threads are traced and nothing is listed', async () => {
    const s = makeSource(true);
    const seen: Seen[] = [];
    await readFor(s, 800, seen);
    const mine = ownTids();
    const own = seen.filter((e) => mine.has(e.pid)).length;
    console.log(`[self-filter] traceSelf: ${seen.length} events, own ${own}`);
    expect(own).toBeGreaterThan(0);
    expect(readFileSync(`${s.instanceDir}/set_event_notrace_pid`, 'utf8').trim()).toBe('');
  });
});
