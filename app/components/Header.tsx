/** Top bar: source, connection, clock, window, follow toggle and (when allowed) controls. */
import {useEffect, useState} from 'react';
import {useAppStore} from '../store.ts';
import {useData} from '../data/context.ts';
import {formatDurationNs} from '../render/time-scale.ts';
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

export function Header() {
  const phase = useAppStore((s) => s.phase);
  const source = useAppStore((s) => s.source);
  const win = useAppStore((s) => s.window);
  const follow = useAppStore((s) => s.followLive);
  const setFollow = useAppStore((s) => s.setFollowLive);
  const {backend} = useData();
  const sourceText = source
    ? source.instance !== undefined
      ? `${source.kind} · ${source.instance === '' ? 'top level' : source.instance}`
      : source.kind
    : '—';
  return (
    <header className="header">
      <span className="brand">Ringside</span>
      <span className="chip" data-testid="source-kind" title="trace source and tracefs instance">
        {sourceText}
      </span>
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
      {source?.controlAllowed && backend.control && (
        <span className="controls">
          <button onClick={() => void backend.control?.('tracing-on')}>Start</button>
          <button onClick={() => void backend.control?.('tracing-off')}>Stop</button>
          <button onClick={() => void backend.control?.('clear')}>Clear</button>
        </span>
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
