import {describe, expect, it} from 'vitest';
import {createAppStore} from './store.ts';
import {MIN_SPAN_NS} from './store/viewport-slice.ts';
import {hasNewLoss} from './store/stats-slice.ts';
import {quietCpuStats} from './testing/synthetic-backend.ts';

const statsFor = quietCpuStats;

describe('viewport slice', () => {
  it('follows live data keeping its span, until the user pans', () => {
    const store = createAppStore();
    const s = store.getState;
    s().setViewport({startNs: 0, endNs: 1000_000});
    s().setFollowLive(true);
    s().setDataRange({startNs: 0, endNs: 5_000_000});
    expect(s().viewport).toEqual({startNs: 4_000_000, endNs: 5_000_000});
    s().panByFraction(-0.5);
    expect(s().followLive).toBe(false);
    expect(s().viewport).toEqual({startNs: 3_500_000, endNs: 4_500_000});
    s().setDataRange({startNs: 0, endNs: 9_000_000});
    expect(s().viewport).toEqual({startNs: 3_500_000, endNs: 4_500_000});
    s().setFollowLive(true);
    expect(s().viewport).toEqual({startNs: 8_000_000, endNs: 9_000_000});
  });

  it('widens the followed view again as data accumulates after a short first range', () => {
    const store = createAppStore();
    const s = store.getState;
    s().setDataRange({startNs: 1e9, endNs: 1e9 + 8e6}); // the first 8 ms of data
    expect(s().viewport.endNs - s().viewport.startNs).toBe(12e6); // 1.5 × the data
    s().setDataRange({startNs: 1e9, endNs: 4e9});
    expect(s().viewport).toEqual({startNs: 2e9, endNs: 4e9}); // back to the 2 s default
    s().zoomAt(4e9, 0.5);
    s().setFollowLive(true);
    s().setDataRange({startNs: 1e9, endNs: 5e9});
    expect(s().viewport).toEqual({startNs: 4e9, endNs: 5e9}); // the zoom the user chose
  });

  it('zooms around the anchor and stops following', () => {
    const store = createAppStore();
    const s = store.getState;
    s().setDataRange({startNs: 0, endNs: 1e9});
    s().setViewport({startNs: 0, endNs: 1000_000});
    s().zoomAt(250_000, 0.5);
    expect(s().viewport).toEqual({startNs: 125_000, endNs: 625_000});
    expect(s().followLive).toBe(false);
    s().zoomAt(125_000, 2);
    expect(s().viewport).toEqual({startNs: 125_000, endNs: 1_125_000});
  });

  it('never zooms below the minimum span and keeps the anchor in place', () => {
    const store = createAppStore();
    const s = store.getState;
    s().setDataRange({startNs: 0, endNs: 1e9});
    s().setViewport({startNs: 0, endNs: 4000});
    s().zoomAt(1000, 0.01);
    const vp = s().viewport;
    expect(vp.endNs - vp.startNs).toBe(MIN_SPAN_NS);
    expect((1000 - vp.startNs) / (vp.endNs - vp.startNs)).toBeCloseTo(0.25);
  });

  it('jumps to a timestamp, centring it', () => {
    const store = createAppStore();
    const s = store.getState;
    s().setViewport({startNs: 0, endNs: 100_000});
    s().jumpTo(1_000_000);
    expect(s().viewport).toEqual({startNs: 950_000, endNs: 1_050_000});
  });
});

describe('filter slice', () => {
  it('toggles CPUs sorted and resets', () => {
    const s = createAppStore().getState;
    s().toggleCpuFilter(3);
    s().toggleCpuFilter(1);
    expect(s().filters.cpus).toEqual([1, 3]);
    s().toggleCpuFilter(3);
    expect(s().filters.cpus).toEqual([1]);
    s().setFilters({text: 'hello'});
    expect(s().filters).toMatchObject({cpus: [1], text: 'hello'});
    s().resetFilters();
    expect(s().filters).toEqual({cpus: [], events: [], task: '', text: ''});
  });
});

describe('stats slice and loss banner', () => {
  it('sums loss over CPUs and shows new loss until acknowledged', () => {
    const s = createAppStore().getState;
    const win = {events: 0, bytes: 0, spanNs: 0, capacityBytes: 0};
    s().setStats([statsFor(0), statsFor(1)], win, 1);
    expect(hasNewLoss(s().loss, s().lossAcknowledged)).toBe(false);
    s().setStats(
      [statsFor(0, {kernelLostEvents: 5, derivedLostSubbufs: 1}), statsFor(1, {evicted: 100})],
      win,
      2,
    );
    expect(s().loss).toEqual({kernelEvents: 5, derivedSubbufs: 1, deliveryGaps: 0, evicted: 100});
    expect(hasNewLoss(s().loss, s().lossAcknowledged)).toBe(true);
    s().acknowledgeLoss();
    expect(hasNewLoss(s().loss, s().lossAcknowledged)).toBe(false);
    s().setStats([statsFor(0, {kernelLostEvents: 5, deliveryGaps: 2}), statsFor(1)], win, 3);
    expect(hasNewLoss(s().loss, s().lossAcknowledged)).toBe(true);
  });

  it('eviction alone never raises the banner', () => {
    const s = createAppStore().getState;
    s().setStats(
      [statsFor(0, {evicted: 1e6})],
      {events: 0, bytes: 0, spanNs: 0, capacityBytes: 0},
      1,
    );
    expect(hasNewLoss(s().loss, s().lossAcknowledged)).toBe(false);
  });
});

describe('connection slice', () => {
  it('goes connecting → open → closed with the problem kept', () => {
    const s = createAppStore().getState;
    s().setConnecting();
    expect(s().phase).toBe('connecting');
    s().setOpen({
      kind: 'sim',
      cpus: [0, 1],
      subbufSize: 4096,
      nrSubbufs: 8,
      traceClock: 'local',
      controlAllowed: false,
    });
    expect(s().phase).toBe('open');
    s().setClosed({kind: 'unauthorized', message: '401'});
    expect(s().phase).toBe('error');
    expect(s().problem?.kind).toBe('unauthorized');
    s().setClosed({kind: 'server-gone', message: 'closed'});
    expect(s().phase).toBe('closed');
  });
});
