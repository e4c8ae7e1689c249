/**
 * Skipped sub-buffer ids against the ground truth: the sim's ring model itself, which records
 * the id of every head page the writer pushes past (the overwritten sub-buffers).
 */
import {describe, expect, it} from 'vitest';
import {decodeServerFrame} from '../core/protocol-decode.ts';
import type {CpuRingBuffer} from '../server/sources/sim/ring-buffer-model.ts';
import {ReaderLoop} from './reader-loop.ts';
import {RingIds, SkippedSubbufTracker, type SkippedIds} from './skipped-subbufs.ts';
import {simFrames} from './testing/sim-frames.ts';

/** Ids of head pages the writer pushes past, as the model's moveTail decides it. */
function recordPushes(rb: CpuRingBuffer): number[] {
  const pushed: number[] = [];
  const m = rb as unknown as {
    moveTail(tail: number, length: number, tailPage: number): boolean;
    next: number[];
    ids: number[];
    head: number;
    commit: number;
    reader: number;
    overwrite: boolean;
  };
  const orig = m.moveTail.bind(rb);
  m.moveTail = (tail, length, tailPage) => {
    const next = m.next[tailPage];
    if (
      next !== m.commit &&
      next === m.head &&
      tailPage !== m.reader &&
      m.commit !== m.reader &&
      m.overwrite
    )
      pushed.push(m.ids[next]);
    return orig(tail, length, tailPage);
  };
  return pushed;
}

async function setup(bufferKb: number) {
  const {sim, hello, opening, drain: frames} = await simFrames({cpus: 1, bufferKb, seed: 3});
  const loop = new ReaderLoop({events: () => {}});
  const tracker = new SkippedSubbufTracker(
    (cpu) => loop.loss(cpu),
    () => hello.nrSubbufs,
  );
  const found: SkippedIds[] = [];
  const feed = (bytes: Uint8Array) => {
    const f = decodeServerFrame(bytes);
    tracker.before(f);
    loop.handle(f);
    const s = tracker.after(f);
    if (s) found.push(s);
  };
  opening.forEach(feed);
  const drain = (batch: number) => frames(batch).forEach(feed);
  return {sim, loop, found, drain, nrSubbufs: hello.nrSubbufs};
}

describe('RingIds', () => {
  it('names the slots between the expected head and the new reader', () => {
    const r = new RingIds(6); // reader 0, ring [1 2 3 4 5]
    expect(r.swap(1)).toEqual([]); // ring [0 2 3 4 5], expect slot 1
    expect(r.swap(4)).toEqual([2, 3]); // ring [0 2 3 1 5], expect slot 4
    expect(r.swap(5)).toEqual([]); // ring [0 2 3 1 4], expect slot 0
    expect(r.swap(3)).toEqual([0, 2]); // lapped past 0 and 2
    expect(r.swap(9)).toBeUndefined();
    r.forgetPosition();
    expect(r.swap(0)).toEqual([]); // position unknown: nothing claimed
  });
});

describe('SkippedSubbufTracker on the sim ring, beside the reader loop', () => {
  it('gives the exact ids of the overwritten sub-buffers, as many as the loop counts', async () => {
    const {sim, loop, found, drain, nrSubbufs} = await setup(64);
    const pushed = recordPushes(sim.buffers[0]);
    const dataPages = nrSubbufs - 1;
    const perPage = Math.floor(4080 / 32);
    let written = 0;
    let total = 0;
    let rounds = 0;
    for (let round = 0; round < 12; round++) {
      pushed.length = 0;
      found.length = 0;
      // Up to half a lap past a full ring: the model sees every skip (no whole extra laps).
      const n = perPage * (dataPages + 1 + (round % 4) * 2);
      for (let i = 0; i < n; i++) sim.writeMarker(0, `m-${String(written++).padStart(6, '0')}`);
      drain(3 + (round % 3));
      const ids = found.flatMap((x) => x.ids);
      expect(found.every((x) => x.missing === 0)).toBe(true);
      expect([...ids].sort((a, b) => a - b)).toEqual([...pushed].sort((a, b) => a - b));
      if (pushed.length > 0) rounds++;
      total += ids.length;
    }
    expect(rounds).toBeGreaterThan(6);
    expect(total).toBe(loop.loss(0).skippedSubbufsDerived);
    expect(loop.loss(0).ringModelValid).toBe(true);
  });

  it("across a buffer reset: ids or counted as missing, always the loop's total", async () => {
    const {sim, loop, found, drain, nrSubbufs} = await setup(64);
    const perPage = Math.floor(4080 / 32);
    let w = 0;
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < perPage * (nrSubbufs + 3); i++) sim.writeMarker(0, `m-${w++}`);
      if (round === 2) sim.resetBuffers();
      drain(4);
    }
    const l = loop.loss(0);
    expect(l.resets).toBe(1);
    const ids = found.reduce((k, x) => k + x.ids.length, 0);
    const missing = found.reduce((k, x) => k + x.missing, 0);
    expect(ids + missing).toBe(l.skippedSubbufsDerived);
    expect(ids).toBeGreaterThan(0);
  });
});
