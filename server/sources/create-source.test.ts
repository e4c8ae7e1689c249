import {existsSync, readdirSync} from 'node:fs';
import {describe, expect, it} from 'vitest';
import {TRACEFS, describeKernel} from '../testing/kernel-gate.ts';
import {createSource, probeMmap} from './create-source.ts';
import {MmapSource} from './mmap/mmap-source.ts';
import {ReadSource} from './read-source.ts';

const simPresent = existsSync(new URL('./sim/sim-source.ts', import.meta.url));

describe('createSource', () => {
  it('honours an explicit kind', async () => {
    const m = await createSource({source: 'mmap', events: []});
    expect(m.source).toBeInstanceOf(MmapSource);
    expect(m.reason).toBe('mmap: requested');
    expect(m.code).toBe('explicit');
    const r = await createSource({source: 'read', events: []});
    expect(r.source).toBeInstanceOf(ReadSource);
  });

  it('rejects an unknown kind', async () => {
    await expect(createSource({source: 'bogus' as 'auto', events: []})).rejects.toThrow(
      /unknown source 'bogus'/,
    );
  });

  it.runIf(simPresent)('loads the sim source on request', async () => {
    const s = await createSource({source: 'sim', events: [], seed: 1});
    expect(s.source.kind).toBe('sim');
    expect(s.reason).toBe('sim: requested');
  });

  it('falls back to sim when tracefs is absent, saying why', async () => {
    const saved = process.env.RINGSIDE_TRACEFS;
    process.env.RINGSIDE_TRACEFS = '/nonexistent/tracefs';
    try {
      const lines: string[] = [];
      const p = createSource({source: 'auto', events: [], log: (l) => lines.push(l)});
      if (simPresent) {
        const s = await p;
        expect(s.source.kind).toBe('sim');
        expect(s.reason).toMatch(/^sim: tracefs not found at \/nonexistent\/tracefs/);
        expect(s.code).toBe('no-tracefs');
        expect(lines[0]).toMatch(/^source sim:/);
      } else {
        // Without the sim module only the failing import can be checked.
        await expect(p).rejects.toThrow(/sim-source/);
      }
    } finally {
      if (saved === undefined) delete process.env.RINGSIDE_TRACEFS;
      else process.env.RINGSIDE_TRACEFS = saved;
    }
  });
});

describeKernel('createSource on the live kernel', () => {
  it('auto picks mmap here and says where and which kernel', async () => {
    const s = await createSource({source: 'auto', events: []});
    expect(s.source).toBeInstanceOf(MmapSource);
    expect(s.reason).toMatch(/^mmap: tracefs at \/\S+, kernel \d+\.\d+$/);
    expect(s.code).toBe('ok');
    // The probe instance is gone again and the source has not opened anything yet.
    const mine = readdirSync(`${TRACEFS}/instances`).filter((n) =>
      n.startsWith(`ringside-${process.pid}`),
    );
    expect(mine).toEqual([]);
    await s.source.close();
  });

  it('probes mmap with a throw-away instance', () => {
    expect(probeMmap(TRACEFS)).toEqual({ok: true, why: ''});
    expect(existsSync(`${TRACEFS}/instances/ringside-${process.pid}-0`)).toBe(false);
  });

  it('refuses to attach to a missing instance', async () => {
    await expect(
      createSource({source: 'auto', events: [], instance: 'ringside-test-missing'}),
    ).rejects.toThrow(/not found/);
  });
});
