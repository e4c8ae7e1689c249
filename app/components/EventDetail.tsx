/** Every field of the selected event and the line `trace-cmd report` would print for it. */
import {useEffect, useState} from 'react';
import {useAppStore} from '../store.ts';
import {useData} from '../data/context.ts';
import type {EventDetail as Detail} from '../data/backend.ts';
import {formatDurationNs, formatTraceTs} from '../render/time-scale.ts';

export function EventDetail() {
  const selection = useAppStore((s) => s.selection);
  const {backend} = useData();
  const [detail, setDetail] = useState<{id: number; d: Detail | null} | null>(null);
  const id = selection?.kind === 'event' ? selection.id : null;
  useEffect(() => {
    if (id === null) return;
    let live = true;
    backend.eventDetail(id).then(
      (d) => live && setDetail({id, d}),
      () => live && setDetail({id, d: null}),
    );
    return () => {
      live = false;
    };
  }, [backend, id]);

  if (selection?.kind === 'slice') {
    return (
      <section className="panel detail" data-testid="slice-detail">
        <div className="panel-title">Task slice</div>
        <dl className="fields">
          <dt>cpu</dt>
          <dd className="num">{selection.cpu}</dd>
          <dt>pid</dt>
          <dd className="num">{selection.pid}</dd>
          <dt>start</dt>
          <dd className="num">{formatTraceTs(selection.startNs)}</dd>
          <dt>ran for</dt>
          <dd className="num">{formatDurationNs(selection.endNs - selection.startNs)}</dd>
        </dl>
      </section>
    );
  }
  if (id === null) {
    return (
      <section className="panel detail">
        <div className="panel-title">Event</div>
        <p className="muted">Click an event on a timeline or in the list to see every field.</p>
      </section>
    );
  }
  const d = detail?.id === id ? detail.d : undefined;
  return (
    <section className="panel detail" data-testid="event-detail" data-event-id={id}>
      <div className="panel-title">
        {d ? d.name : 'Event'} <span className="muted num">#{id}</span>
      </div>
      {d === undefined && <p className="muted">loading…</p>}
      {d === null && <p className="muted">This event has left the window (evicted).</p>}
      {d && (
        <>
          <pre className="report-line" data-testid="event-line">
            {d.line}
          </pre>
          <dl className="fields">
            {d.fields.map(([k, v]) => (
              <div key={k} className="field">
                <dt>{k}</dt>
                <dd className="num">{v}</dd>
              </div>
            ))}
          </dl>
        </>
      )}
    </section>
  );
}
