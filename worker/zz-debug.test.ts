import {it} from 'vitest';
import {CommTable} from './comm-table.ts';
import {schedSchema} from './sched-schema.ts';
import {SchedView} from './sched-view.ts';
import {Session} from './session.ts';
import {fakeWall, runSimFeed} from './testing/sim-feed.ts';

it('debug', async () => {
  const wall = fakeWall();
  const session = new Session({now: wall.now});
  for (const m of ['wakeup', 'switchIn', 'switchOut']) {
    const ts: any = (session.sched as any).tasks;
    const orig = ts[m].bind(ts);
    ts[m] = (t: number, pid: number, ...rest: any[]) => { if (pid === 3051 && t < 12345001300000) console.log('live', m, t, pid, rest, ts.tasks.get(pid) && {...ts.tasks.get(pid)}); return orig(t, pid, ...rest); };
  }
  const pages = await runSimFeed({seed: 1, simMs: 45_000, pauseChance: 0.08}, {
    metadata: (m) => session.setMetadata({cpus: m.cpus, littleEndian: true, headerPage: m.headerPage, formats: m.formats, savedCmdlines: m.savedCmdlines}),
    page: (p) => session.handlePage(p),
    meta: (cpu, t, m) => session.handleMeta(cpu, t, m),
  }, wall);
  session.flush();
  (globalThis as any).LOG = [];
  const d = session.schedData();
  const spy = (ts: any, name: string) => {
    for (const m of ['wakeup', 'switchIn', 'switchOut']) {
      const orig = ts[m].bind(ts);
      ts[m] = (t: number, pid: number, ...rest: any[]) => { if (pid === 3051 && t < 12345001300000) console.log(name, m, t, pid, rest, ts.tasks.get(pid) && {...ts.tasks.get(pid)}); return orig(t, pid, ...rest); };
    }
  };
  const v = new SchedView(new CommTable(), Infinity);
  spy((v as any).tasks, 'oracle');
  v.setSchema(schedSchema(session.registry!), true);
  for (const p of pages) v.handlePage(p);
  v.flush();
  const w = v.data();
  console.log('evicted', session.store.evicted, 'late', d.lateRecords, 'rejected', session.rejectedPages);
  for (const c of d.cpus) {
    const o = w.cpus.find((x) => x.cpu === c.cpu)!;
    const a = c.slices, b = o.slices;
    console.log('cpu', c.cpu, a.length, b.length, a.startNs[0], b.startNs[0]);
    const off = b.length - a.length;
    for (let i = 0; i < a.length; i++) {
      if (a.startNs[i] !== b.startNs[i + off] || a.waitNs[i] !== b.waitNs[i + off] || a.pid[i] !== b.pid[i+off]) {
        console.log('diff', c.cpu, i, [a.startNs[i], a.pid[i], a.waitNs[i], a.waitKind[i]], [b.startNs[i+off], b.pid[i+off], b.waitNs[i+off], b.waitKind[i+off]]);
        break;
      }
    }
  }
}, 60000);
