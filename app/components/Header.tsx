/** Top bar: source, connection, clock, window, follow toggle and (when allowed) controls. */
import {useEffect, useState} from 'react';
import {useAppStore} from '../store.ts';
import {useData} from '../data/context.ts';
import {formatDurationNs} from '../render/time-scale.ts';
import {visibleControls} from '../data/notices.ts';
import {fmtBytes, fmtInt} from './format.ts';

const PHASE_LABEL = {
  idle: 'idle',
  connecting: 'connecting…',
  open: 'live',
  closed: 'disconnected',
  error: 'error',
} as const;

function Clock() {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), 1000);
    return () => clearInterval(t);
  }, []);
  return (
    <span className="num" title="local wall clock">
      {now.toLocaleTimeString([], {hour12: false})}
    </span>
  );
}

/** trace-cmd style event (`sched`, `sched:sched_switch`, `sched/sched_wakeup`) to enable/disable. */
function EventControl({canEnable, canDisable}: {canEnable: boolean; canDisable: boolean}) {
  const {backend} = useData();
  const [event, setEvent] = useState('');
  const send = (action: string) => {
    const e = event.trim();
    if (e) void backend.control?.({action, args: {event: e}});
  };
  return (
    <span className="controls" data-testid="event-control">
      <input
        aria-label="event (trace-cmd syntax)"
        placeholder="sched:sched_switch"
        value={event}
        onChange={(ev) => setEvent(ev.target.value)}
        onKeyDown={(ev) => {
          if (ev.key === 'Enter' && canEnable) send('enable-event');
        }}
      />
      {canEnable && <button onClick={() => send('enable-event')}>Enable</button>}
      {canDisable && <button onClick={() => send('disable-event')}>Disable</button>}
    </span>
  );
}

export function Header() {
  const phase = useAppStore((s) => s.phase);
  const source = useAppStore((s) => s.source);
  const win = useAppStore((s) => s.window);
  const follow = useAppStore((s) => s.followLive);
  const setFollow = useAppStore((s) => s.setFollowLive);
  const tracingOn = useAppStore((s) => s.tracingOn);
  const {backend} = useData();
  const controls = visibleControls(source, backend.control !== undefined);
  const actions = source?.controlActions ?? [];
  const sourceText = source
    ? source.instance !== undefined
      ? `${source.kind} · ${source.instance === '' ? 'top level' : source.instance}`
      : source.kind
    : '—';
  return (
    <header className="header">
      <span className="brand">Ringside</span>
      <span
        className="chip"
        data-testid="source-kind"
        title={
          source?.reason ? `why this source: ${source.reason}` : 'trace source and tracefs instance'
        }
      >
        {sourceText}
      </span>
      {source?.reason && (
        <span className="muted source-reason" data-testid="source-reason" title={source.reason}>
          {source.reasonCode && source.reasonCode !== 'ok' && source.reasonCode !== 'explicit'
            ? `fallback: ${source.reasonCode}`
            : source.reasonCode === 'explicit'
              ? 'as asked'
              : 'auto'}
        </span>
      )}
      {source && tracingOn !== null && (
        <span
          className={`chip tracing-${tracingOn ? 'on' : 'off'}`}
          data-testid="tracing-state"
          title="the kernel's tracing_on for this source"
        >
          tracing {tracingOn ? 'on' : 'off'}
        </span>
      )}
      <span className={`chip phase phase-${phase}`} data-testid="connection-state">
        <span className="dot" />
        {PHASE_LABEL[phase]}
      </span>
      {source && <span className="muted">clock {source.traceClock}</span>}
      <span className="spacer" />
      <span className="muted" data-testid="window-info" title="what the rolling window holds">
        window <span className="num">{formatDurationNs(win.spanNs)}</span> ·{' '}
        <span className="num">{fmtInt(win.events)}</span> events ·{' '}
        <span className="num">{fmtBytes(win.bytes)}</span>
        {win.capacityBytes > 0 && (
          <>
            {' '}
            of <span className="num">{fmtBytes(win.capacityBytes)}</span>
          </>
        )}
      </span>
      {controls.buttons.length > 0 && (
        <span className="controls" data-testid="controls">
          {controls.buttons.map((b) => (
            <button
              key={b.action}
              title={b.title}
              data-action={b.action}
              onClick={() => void backend.control?.({action: b.action})}
            >
              {b.label}
            </button>
          ))}
        </span>
      )}
      {controls.events && (
        <EventControl
          canEnable={actions.includes('enable-event')}
          canDisable={actions.includes('disable-event')}
        />
      )}
      <button
        className={`follow ${follow ? 'on' : ''}`}
        data-testid="follow-toggle"
        aria-pressed={follow}
        title="Follow live data (End). Panning or zooming pauses."
        onClick={() => setFollow(!follow)}
      >
        {follow ? '❚❚ Pause' : '▶ Follow live'}
      </button>
      <Clock />
    </header>
  );
}
