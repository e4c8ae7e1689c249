import {it} from 'vitest';
import {layoutFor} from '../core/page-layout.ts';
import {decodeSubbuf, EventColumns} from '../core/subbuffer.ts';
import {SimSource} from '../server/sources/sim/sim-source.ts';
import {Session} from './session.ts';

async function runSim(seed: number, batch: number, stepMs: number, totalMs: number, lag = 1e9) {
  let now = 1000;
  const sim = new SimSource({source: 'sim', events: [], cpus: 4, seed, clock: () => now});
  const m = await sim.open();
  const s = new Session();
  s.sched.quietLagNs = lag;
  s.setMetadata({cpus: m.cpus, littleEndian: true, headerPage: m.headerPage, formats: m.formats, savedCmdlines: m.savedCmdlines});
  const layout = layoutFor(m.subbufSize);
  const cols = new EventColumns();
  let backwards = 0;
  const lastTs = new Map<number, number>();
  for (let t = 0; t < totalMs; t += stepMs) {
    now += stepMs;
    for (;;) {
      const b = sim.read(batch);
      for (const sl of b.slices) {
        cols.clear();
        const r = decodeSubbuf(sl.bytes, 0, sl.bytes.length, layout, cols, {emitFrom: sl.from});
        for (let i = 0; i < r.count; i++) {
          if (cols.tsNs[i] < (lastTs.get(sl.cpu) ?? 0)) backwards++;
          lastTs.set(sl.cpu, cols.tsNs[i]);
        }
        s.handlePage({cpu: sl.cpu, bytes: sl.bytes, columns: {length: r.count, tsNs: cols.tsNs.slice(0, r.count), payloadOffset: cols.payloadOffset.slice(0, r.count), payloadLen: cols.payloadLen.slice(0, r.count)}, subbufId: sl.subbufId, seq: sl.seq, lostBefore: 0});
      }
      if (b.slices.length === 0) break;
    }
  }
  s.flush();
  const d = s.schedData();
  const tt = d.tasks;
  let negRun = 0, minRun = 0, negLat = 0;
  for (let i = 0; i < tt.length; i++) {
    if (tt.runnableNs[i] < 0) negRun++;
    minRun = Math.min(minRun, tt.runnableNs[i]);
    if (tt.latencySumNs[i] < 0) negLat++;
  }
  let negWait = 0, minWait = 0;
  for (const c of d.cpus) for (let i = 0; i < c.slices.length; i++) if (c.slices.waitNs[i] < -1) { negWait++; minWait = Math.min(minWait, c.slices.waitNs[i]); }
  console.log(JSON.stringify({lag, seed, batch, stepMs, backwards, negRun, minRun, negLat, negWait, minWait, late: d.lateRecords, mism: s.sched.mismatchedSwitches, pend: d.pendingRecords}));
}

it('repro', async () => {
  for (const seed of [1, 2, 3]) {
    await runSim(seed, 256, 10, 5000);
    await runSim(seed, 7, 10, 5000);
    await runSim(seed, 256, 3000, 9000);
    await runSim(seed, 256, 3000, 30000, Infinity);
    await runSim(seed, 256, 10, 30000, Infinity);
  }
}, 120000);
