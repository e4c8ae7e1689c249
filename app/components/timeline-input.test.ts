import {describe, expect, it} from 'vitest';
import {createAppStore} from '../store.ts';
import {applyKey, applyWheel, KEY_PAN} from './timeline-input.ts';

function fresh() {
  const store = createAppStore();
  store.getState().setDataRange({startNs: 0, endNs: 1e9});
  store.getState().setViewport({startNs: 1000_000, endNs: 2000_000});
  return store.getState;
}

describe('timeline input', () => {
  it('wheel down zooms out around the pointer, wheel up zooms in', () => {
    const s = fresh();
    applyWheel(s(), {deltaX: 0, deltaY: 200, deltaMode: 0, shiftKey: false}, 0.25);
    const out = s().viewport;
    expect(out.endNs - out.startNs).toBeGreaterThan(1000_000);
    // The anchor (25 % in) stays at 25 %.
    expect((1250_000 - out.startNs) / (out.endNs - out.startNs)).toBeCloseTo(0.25);
    applyWheel(s(), {deltaX: 0, deltaY: -400, deltaMode: 0, shiftKey: false}, 0.25);
    expect(s().viewport.endNs - s().viewport.startNs).toBeLessThan(1000_000);
  });

  it('horizontal wheel and shift+wheel pan', () => {
    const s = fresh();
    applyWheel(s(), {deltaX: 100, deltaY: 0, deltaMode: 0, shiftKey: false}, 0.5);
    expect(s().viewport).toEqual({startNs: 1100_000, endNs: 2100_000});
    applyWheel(s(), {deltaX: 0, deltaY: -100, deltaMode: 0, shiftKey: true}, 0.5);
    expect(s().viewport).toEqual({startNs: 1000_000, endNs: 2000_000});
  });

  it('W/A/S/D zoom and pan; End resumes follow; other keys are not ours', () => {
    const s = fresh();
    expect(applyKey(s(), 'd')).toBe(true);
    expect(s().viewport.startNs).toBe(1000_000 + KEY_PAN * 1000_000);
    applyKey(s(), 'a');
    expect(s().viewport.startNs).toBe(1000_000);
    applyKey(s(), 'W');
    expect(s().viewport.endNs - s().viewport.startNs).toBeCloseTo(800_000);
    applyKey(s(), 's');
    expect(s().viewport.endNs - s().viewport.startNs).toBeCloseTo(1000_000);
    expect(s().followLive).toBe(false);
    applyKey(s(), 'End');
    expect(s().followLive).toBe(true);
    expect(s().viewport.endNs).toBe(1e9);
    expect(applyKey(s(), 'q')).toBe(false);
  });
});
