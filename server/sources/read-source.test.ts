import {readFileSync, readdirSync} from 'node:fs';
import {afterEach, expect, it, vi} from 'vitest';
import type {InstanceSession} from './mmap/instance-session.ts';
import {describeKernel} from '../testing/kernel-gate.ts';
import {ReadSource} from './read-source.ts';
import {MarkerCollector, firstOutOfOrder, writeMarkers} from './mmap/testing/markers.ts';

const sources: ReadSource[] = [];
afterEach(async () => {
  for (const s of sources.splice(0)) await s.close();
});

function make(name: string, bufferKb = 4096): ReadSource {
  const s = new ReadSource(
    {source: 'read', events: ['ftrace:raw_data'], bufferKb},
    {ownInstanceName: `ringside-test-read-${name}-${process.pid}`},
  );
  sources.push(s);
  return s;
}

describeKernel('ReadSource on the live kernel', () => {
  it('delivers the same markers exactly once and in order (subbufId -1, from 0, no metas)', async () => {
    const s = make('once');
    const md = await s.open();
    expect(md.kind).toBe('read');
    expect(md.subbufSize).toBe(4096);
    const c = new MarkerCollector(md);
    const cpus = md.cpus.slice(0, 2);
    const per = 20_000;
    let done = false;
    const writers = Promise.all(
      cpus.map((cpu, w) => writeMarkers(s.instanceDir!, {cpu, count: per, first: w << 24})),
    ).finally(() => (done = true));
    let quiet = 0;
    const end = Date.now() + 20_000;
    let metas = 0;
    let badSlice = 0;
    while (Date.now() < end) {
      await s.wait(50);
      const b = s.read(256);
      metas += b.metas.length;
      badSlice += b.slices.filter((x) => x.subbufId !== -1 || x.from !== 0).length;
      c.add(b);
      if (b.slices.length === 0 && done) {
        if (++quiet >= 2) break;
      } else quiet = 0;
    }
    await writers;
    expect(metas).toBe(0);
    expect(c.notices.filter((n) => n.kind === 'error')).toEqual([]);
    expect(badSlice).toBe(0);
    expect(c.decodeErrors).toBe(0);
    cpus.forEach((cpu, w) => {
      const t = c.tally(cpu);
      expect(t.ids.length).toBe(per);
      expect(firstOutOfOrder(t.ids, w << 24)).toBe(-1);
      expect(t.badPayload).toBe(0);
    });
    console.log(`[read] ${per * cpus.length} markers in ${c.slices} slices`);
  });

  it('reports kernel loss through the MISSED flags of the pages it reads', async () => {
    const s = make('loss', 16);
    const md = await s.open();
    const c = new MarkerCollector(md);
    const cpu = md.cpus[0]!;
    const n = 5000;
    await writeMarkers(s.instanceDir!, {cpu, count: n});
    for (let i = 0; i < 20; i++) c.add(s.read(256));
    const t = c.tally(cpu);
    const stats = readFileSync(`${s.instanceDir}/per_cpu/cpu${cpu}/stats`, 'utf8');
    const overrun = Number(/^overrun: (\d+)/m.exec(stats)?.[1]);
    console.log(
      `[read] loss: written ${n}, received ${t.ids.length}, stats overrun ${overrun}, ` +
        `stored ${t.storedLost}, unknown ${t.missedUnknown}`,
    );
    expect(t.ids.length + overrun).toBe(n);
    expect(t.storedLost + t.missedUnknown).toBeGreaterThan(0);
    expect(firstOutOfOrder(t.ids, n - t.ids.length)).toBe(-1);
  });

  it("tells the pacer the busiest CPU's bytes, not only the total (as the mmap source does)", async () => {
    const s = make('busiest');
    const md = await s.open();
    const cpus = md.cpus.slice(0, 2);
    if (cpus.length < 2) return; // one CPU: busiest = total, nothing to tell apart
    await writeMarkers(s.instanceDir!, {cpu: cpus[0]!, count: 600});
    await writeMarkers(s.instanceDir!, {cpu: cpus[1]!, count: 150});
    const session = (s as unknown as {session: InstanceSession}).session;
    const noteRead = vi.spyOn(session, 'noteRead');
    const c = new MarkerCollector(md);
    const b = s.read(256);
    c.add(b);
    expect(c.tally(cpus[0]!).ids.length).toBe(600);
    expect(c.tally(cpus[1]!).ids.length).toBe(150);
    const bytesOf = (cpu: number) =>
      b.slices.filter((x) => x.cpu === cpu).reduce((n, x) => n + x.bytes.length - 16, 0);
    expect(noteRead).toHaveBeenCalledTimes(1);
    const [total, busiest] = noteRead.mock.calls[0]!;
    expect(total).toBe(bytesOf(cpus[0]!) + bytesOf(cpus[1]!));
    expect(busiest).toBe(bytesOf(cpus[0]!));
    expect(busiest).toBeLessThan(total);
  });

  it('closes cleanly: no fd left, idempotent', async () => {
    const fds0 = readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 20; i++) {
      const s = new ReadSource(
        {source: 'read', events: ['ftrace'], bufferKb: 8},
        {ownInstanceName: `ringside-test-read-cycle-${process.pid}`},
      );
      await s.open();
      s.read(4);
      await s.close();
      await s.close();
    }
    expect(readdirSync('/proc/self/fd').length).toBe(fds0);
  });
});
