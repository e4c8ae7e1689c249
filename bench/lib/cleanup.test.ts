import {spawn} from 'node:child_process';
import {describe, expect, it} from 'vitest';
import {onEnded, trackChild} from './cleanup.ts';

describe('onEnded', () => {
  it('reports a child only after its whole output was read', async () => {
    // 'exit' can come before the last stdout chunk is read (markgen's summary line was lost
    // once, "markgen failed (0): "). Output written after the exit makes that order certain.
    const c = spawn('sh', ['-c', '(sleep 0.2; printf "markgen written=5") & exit 0'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => onEnded(c, (code) => r(code)));
    expect(code).toBe(0);
    expect(out).toBe('markgen written=5');
  });

  it('does not wait for a grandchild that keeps the pipe open', async () => {
    const c = trackChild(
      spawn('sh', ['-c', 'sleep 30 & echo started'], {
        stdio: ['ignore', 'pipe', 'ignore'],
        detached: true,
      }),
      true,
    );
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const t0 = performance.now();
    const code = await new Promise<number | null>((r) => onEnded(c, (code) => r(code), 300));
    expect(code).toBe(0);
    expect(out).toBe('started\n');
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
