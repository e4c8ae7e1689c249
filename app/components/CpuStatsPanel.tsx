/** Meta-page figures of one CPU, its rates with sparklines, the three losses and the ring. */
import type {CpuStatsView} from '../store/stats-slice.ts';
import {THEME} from '../render/colors.ts';
import {fmtBytes, fmtInt, fmtRate, fmtSubbuf} from './format.ts';
import {SparklineCanvas} from './SparklineCanvas.tsx';
import {SwapRing} from './SwapRing.tsx';

function Stat({
  label,
  value,
  testId,
  title,
  tone,
}: {
  label: string;
  value: string;
  testId?: string;
  title?: string;
  tone?: 'loss' | 'muted';
}) {
  return (
    <div className={`stat ${tone ?? ''}`} title={title}>
      <span className="label">{label}</span>
      <span className="num value" data-testid={testId}>
        {value}
      </span>
    </div>
  );
}

export function CpuStatsPanel({s}: {s: CpuStatsView}) {
  const hasMeta = s.entries !== null;
  return (
    <section className="panel cpu-panel" data-testid={`cpu-stats-${s.cpu}`}>
      <div className="panel-title">
        CPU {s.cpu}
        {!hasMeta && <span className="muted"> · no meta page from this source</span>}
      </div>
      <div className="cpu-body">
        <div className="stat-grid">
          <Stat
            label="entries"
            value={fmtInt(s.entries)}
            testId="stat-entries"
            title="events committed since reset (meta.entries)"
          />
          <Stat
            label="overrun"
            value={fmtInt(s.overrun)}
            testId="stat-overrun"
            title={
              (s.overrunBeforeSession ?? 0) > 0
                ? `events overwritten (meta.overrun), ${fmtInt(s.overrunBeforeSession ?? 0)} of them before this session`
                : 'events overwritten (meta.overrun)'
            }
            tone={s.overrun ? 'loss' : undefined}
          />
          <Stat
            label="read"
            value={fmtInt(s.read)}
            testId="stat-read"
            title="events consumed (meta.read)"
          />
          <Stat
            label="unread"
            value={fmtInt(s.unread)}
            testId="stat-unread"
            title="entries − overrun − read"
          />
          <Stat
            label="reader id"
            value={fmtInt(s.readerId)}
            testId="stat-reader-id"
            title="meta reader.id"
          />
          <Stat
            label="reader.read"
            value={s.readerRead === null ? '—' : fmtBytes(s.readerRead)}
            testId="stat-reader-read"
          />
          <Stat
            label="sub-buffers"
            value={s.nrSubbufs > 0 ? `${fmtInt(s.nrSubbufs)} × ${fmtSubbuf(s.subbufSize)}` : '—'}
            testId="stat-subbufs"
          />
          <Stat
            label="fill"
            value={`${Math.round(s.fill * 100)}%`}
            testId="stat-fill"
            title="reader sub-buffer fill"
          />
          {(s.overrunBeforeSession ?? 0) > 0 && (
            <span
              className="muted"
              data-testid="stat-overrun-before"
              title="overwritten before Ringside attached (instance history): not counted as loss"
            >
              {fmtInt(s.overrunBeforeSession ?? 0)} overrun before this session (not counted)
            </span>
          )}
        </div>
        <SwapRing cpu={s.cpu} ring={s.ring} />
      </div>
      <div className="rates">
        <div className="rate">
          <span className="label">events/s</span>
          <span className="num" data-testid="stat-events-per-sec">
            {fmtRate(s.eventsPerSec)}
          </span>
          <SparklineCanvas values={s.eventsPerSecHistory} label="events per second" />
        </div>
        <div className="rate">
          <span className="label">swaps/s</span>
          <span className="num" data-testid="stat-swaps-per-sec">
            {fmtRate(s.swapsPerSec)}
          </span>
          <SparklineCanvas
            values={s.swapsPerSecHistory}
            color={THEME.swap}
            label="reader swaps per second"
          />
        </div>
      </div>
      <div className="losses">
        <Stat
          label="kernel loss"
          value={fmtInt(s.kernelLostEvents)}
          testId="stat-kernel-lost"
          title="events overwritten before we read them (Δoverrun, MISSED flags)"
          tone={s.kernelLostEvents ? 'loss' : 'muted'}
        />
        <Stat
          label="sub-buffers lost (derived)"
          value={fmtInt(s.derivedLostSubbufs)}
          testId="stat-subbufs-lost"
          title="derived from the ring model; the kernel exports no such counter"
          tone={s.derivedLostSubbufs ? 'loss' : 'muted'}
        />
        <Stat
          label="delivery gaps"
          value={fmtInt(s.deliveryGaps)}
          testId="stat-delivery-gaps"
          title="dropped by the server because this client fell behind"
          tone={s.deliveryGaps ? 'loss' : 'muted'}
        />
        <Stat
          label="evicted"
          value={fmtInt(s.evicted)}
          testId="stat-evicted"
          title="aged out of the rolling window (not loss)"
          tone="muted"
        />
      </div>
    </section>
  );
}
