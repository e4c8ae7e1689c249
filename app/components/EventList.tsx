/**
 * The virtualised event list. Only the rows in view (plus a few) exist in the DOM; the worker
 * answers one page per scroll position. Follow mode sticks to the newest events; scrolling up
 * leaves it. Very long lists compress the scrollbar (browsers cap element height near 33M px):
 * past MAX_SCROLL_PX one scroll pixel stands for several rows.
 */
import {useCallback, useEffect, useLayoutEffect, useRef, useState} from 'react';
import {appStore, useAppStore} from '../store.ts';
import {useData} from '../data/context.ts';
import type {EventPage} from '../data/backend.ts';
import {formatTraceTs} from '../render/time-scale.ts';
import {EventFilterBar} from './EventFilterBar.tsx';
import {fmtInt} from './format.ts';

export const ROW_H = 20;
const MAX_SCROLL_PX = 4_000_000;
const OVERSCAN = 10;
const REFRESH_MS = 250;
const INCOMPLETE_RETRY_MS = 50;

export function EventList() {
  const {backend} = useData();
  const filters = useAppStore((s) => s.filters);
  const follow = useAppStore((s) => s.listFollow);
  const setFollow = useAppStore((s) => s.setListFollow);
  const dataVersion = useAppStore((s) => s.dataVersion);
  const selection = useAppStore((s) => s.selection);
  const scrollRef = useRef<HTMLDivElement>(null);
  const [viewH, setViewH] = useState(300);
  const [first, setFirst] = useState(0);
  const [top, setTop] = useState(0);
  const [page, setPage] = useState<EventPage | null>(null);
  const [retry, setRetry] = useState(0);
  const req = useRef(0);
  const total = page?.total ?? 0;
  const visible = Math.ceil(viewH / ROW_H);
  const rowsPerPx =
    total * ROW_H > MAX_SCROLL_PX ? (total * ROW_H) / MAX_SCROLL_PX / ROW_H : 1 / ROW_H;
  const virtualH = Math.min(total * ROW_H, MAX_SCROLL_PX);

  useEffect(() => {
    const el = scrollRef.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setViewH(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Query: newest page when following, else the page around `first`. Throttled on new data.
  const lastQueryAt = useRef(0);
  useEffect(() => {
    const run = () => {
      lastQueryAt.current = performance.now();
      const id = ++req.current;
      const offset = follow ? -(visible + 1) : Math.max(0, first - OVERSCAN);
      const limit = follow ? visible + 1 : visible + 2 * OVERSCAN;
      backend.events({filters, offset, limit}).then(
        (p) => {
          if (id === req.current) setPage(p);
        },
        (e: unknown) => console.warn('ringside: event query failed', e),
      );
    };
    const wait = REFRESH_MS - (performance.now() - lastQueryAt.current);
    if (wait <= 0) {
      run();
      return;
    }
    const t = setTimeout(run, wait);
    return () => clearTimeout(t);
  }, [backend, filters, follow, first, visible, dataVersion, retry]);

  // A text filter is matched under a time budget in the worker: ask again until complete.
  useEffect(() => {
    if (page?.complete !== false) return;
    const t = setTimeout(() => setRetry((n) => n + 1), INCOMPLETE_RETRY_MS);
    return () => clearTimeout(t);
  }, [page]);

  // Follow: keep the scroll at the bottom, before the new rows are painted. The rows sit at the
  // bottom of the list while following (below), so they are in view whatever the scroll event
  // does later; placed by `top`, which onScroll sets a frame later, they were painted off view
  // once per update (a blank list for a frame). Setting scrollTop past the end puts it there.
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (follow && el) el.scrollTop = virtualH;
  }, [follow, page, virtualH]);

  // A selection made on the timeline scrolls the list to that event.
  useEffect(() => {
    if (selection?.kind !== 'event') return;
    if (page?.rows.some((r) => r.id === selection.id)) return;
    let live = true;
    backend.eventIndexAt(appStore.getState().filters, selection.tsNs).then(
      (idx) => {
        const el = scrollRef.current;
        if (!live || !el || idx < 0) return;
        const target = Math.max(0, idx - Math.floor(visible / 2));
        el.scrollTop = target / rowsPerPx;
        // Now, not at the scroll event: the query of the render that ends follow uses `first`.
        setTop(el.scrollTop);
        setFirst(target);
        req.current++; // an answer on its way is for the rows this leaves
        appStore.getState().setListFollow(false);
      },
      () => {},
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selection, backend]);

  const onScroll = useCallback(() => {
    const el = scrollRef.current;
    if (!el) return;
    const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_H;
    if (!atBottom && appStore.getState().listFollow) setFollow(false);
    setTop(el.scrollTop);
    setFirst(Math.floor(el.scrollTop * rowsPerPx));
  }, [rowsPerPx, setFollow]);

  // The toggle. Switched off, the rows on screen stay: the newest of the last answer, which may
  // end before its total (new data came), so `first` is theirs, not the scroll position's; set in
  // the same render as follow, so the query that follows asks for them.
  const toggleFollow = () => {
    const el = scrollRef.current;
    if (follow && el && page) {
      setTop(el.scrollTop);
      setFirst(page.offset + Math.max(0, page.rows.length - visible));
    }
    req.current++; // an answer still on its way is for the other mode's rows: drop it
    setFollow(!follow);
  };

  const onRowClick = (id: number, cpu: number, tsNs: number) => {
    const st = appStore.getState();
    st.select({kind: 'event', id, cpu, tsNs});
    st.jumpTo(tsNs);
  };

  const rows = page?.rows ?? [];
  const pageFirst = page?.offset ?? 0;
  // Following: the newest rows of the page (its total may already be ahead of the rows).
  const firstShown = follow ? pageFirst + Math.max(0, rows.length - visible) : first;
  const selectedId = selection?.kind === 'event' ? selection.id : -1;
  return (
    <section className="panel event-list-panel">
      <div className="panel-title">
        Events <span className="muted num">{fmtInt(total)}</span>
        {page?.complete === false && <span className="muted">matching…</span>}
        <span className="spacer" />
        <EventFilterBar />
        <button
          className={`toggle ${follow ? 'on' : ''}`}
          aria-pressed={follow}
          onClick={toggleFollow}
          data-testid="list-follow-toggle"
          title="Stick to the newest events"
        >
          {follow ? 'following' : 'follow'}
        </button>
      </div>
      <div className="event-head">
        <span>cpu</span>
        <span>time</span>
        <span>task</span>
        <span>event</span>
        <span>info</span>
      </div>
      <div className="event-scroll" ref={scrollRef} onScroll={onScroll} data-testid="event-list">
        <div style={{height: virtualH, position: 'relative'}}>
          <div style={{position: 'absolute', left: 0, right: 0, ...(follow ? {bottom: 0} : {top})}}>
            {total === 0 && (
              <div className="empty-rows muted">
                No events match
                {filters.text || filters.task || filters.cpus.length || filters.events.length
                  ? ' these filters'
                  : ' yet'}
                .
              </div>
            )}
            {rows
              .filter(
                (_r, i) => pageFirst + i >= firstShown && pageFirst + i < firstShown + visible + 1,
              )
              .map((r) => (
                <div
                  key={r.id}
                  className={`event-row ${r.id === selectedId ? 'selected' : ''}`}
                  data-testid="event-row"
                  data-event-id={r.id}
                  onClick={() => onRowClick(r.id, r.cpu, r.tsNs)}
                >
                  <span className="num">{r.cpu}</span>
                  <span className="num">{formatTraceTs(r.tsNs)}</span>
                  <span className="task">
                    {r.comm}-{r.pid}
                  </span>
                  <span className="ev">{r.name}</span>
                  <span className="info">{r.info}</span>
                </div>
              ))}
          </div>
        </div>
      </div>
    </section>
  );
}
