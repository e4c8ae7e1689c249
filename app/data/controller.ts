/**
 * Drives the store from the backend: connects, listens for pushes, polls statistics, and keeps
 * the live window in view. Small state goes into zustand; timeline columns go into the
 * TimelineCache that canvases read from.
 */
import type {AppStore} from '../store.ts';
import type {DashboardBackend} from './backend.ts';
import {tokenFromSearch, wsUrlFor, type PageLocation} from './connection-url.ts';
import {tracingAfter} from './notices.ts';
import {LiveEdge} from './live-edge.ts';
import {edgeProbe, noteEdge} from '../render/paint-probe.ts';
import type {TimelineCache} from './timeline-cache.ts';

export const STATS_POLL_MS = 500;

export class DashboardController {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  /** Slides the followed view on the backend's 'edge' pushes (or by asking `edge()`). */
  private edge: LiveEdge | undefined;

  constructor(
    private readonly store: AppStore,
    private readonly backend: DashboardBackend,
    private readonly cache: TimelineCache,
  ) {}

  async start(loc: PageLocation): Promise<void> {
    const s = this.store.getState();
    const token = tokenFromSearch(loc.search);
    if (!token) {
      s.setClosed({
        kind: 'no-token',
        message: 'This page was opened without its access token.',
      });
      return;
    }
    s.setConnecting();
    this.edge = new LiveEdge(this.store, this.backend.edge?.bind(this.backend));
    this.edge.onTimelines = (t, redraw) => this.cache.accept(t, redraw);
    this.edge.onDiscard = (t) => this.cache.discard(t);
    try {
      this.unsubscribe = await this.backend.subscribe((n) => {
        const st = this.store.getState();
        switch (n.kind) {
          case 'open':
            st.setOpen(n.source);
            if (n.source.kind === 'read') {
              st.setProblem({
                kind: 'no-mmap',
                message: 'The kernel has no mmap interface for the ring buffer.',
              });
            }
            break;
          case 'data':
            if (n.dataVersion !== st.dataVersion) st.setDataVersion(n.dataVersion);
            this.edge?.wake();
            break;
          case 'edge':
            if (edgeProbe) noteEdge(edgeProbe, n.range, n.sentMs); // bench only (paint-probe.ts)
            this.edge?.push(n.range, n.timelines);
            break;
          case 'closed':
            st.setClosed(n.problem);
            break;
          case 'notice':
            st.addNotice(n.text, n.notice);
            if (n.notice) st.setTracingOn(tracingAfter(n.notice, n.message ?? '', st.tracingOn));
            break;
        }
      });
      await this.backend.connect(wsUrlFor(loc, token), token);
    } catch (e) {
      // The backend reports the precise reason as a 'closed' notice when it knows it.
      if (this.store.getState().phase !== 'error' && this.store.getState().phase !== 'closed') {
        s.setClosed({kind: 'other', message: e instanceof Error ? e.message : String(e)});
      }
      return;
    }
    this.poll();
  }

  /** One stats round trip, then schedule the next. */
  private poll = async (): Promise<void> => {
    if (this.stopped) return;
    try {
      const snap = await this.backend.stats();
      const st = this.store.getState();
      st.setStats(snap.cpuStats, snap.window, Date.now());
      if (snap.dataVersion !== st.dataVersion) st.setDataVersion(snap.dataVersion);
      if (snap.dataRange && !this.edge?.owns) st.setDataRange(snap.dataRange);
    } catch (e) {
      console.warn('ringside: stats query failed', e);
    }
    if (!this.stopped) this.timer = setTimeout(this.poll, STATS_POLL_MS);
  };

  stop(): void {
    this.stopped = true;
    this.edge?.stop();
    if (this.timer) clearTimeout(this.timer);
    this.unsubscribe?.();
    this.cache.clear();
  }
}
