/**
 * Per-task view: running and runnable time over the window, wakeups and wakeup latency per
 * task, the wakeup-latency histogram (log2 buckets) of the task clicked, and that of each CPU.
 */
import {useEffect, useRef, useState} from 'react';
import {useAppStore} from '../store.ts';
import {useData} from '../data/context.ts';
import type {TaskSummary} from '../data/backend.ts';
import {formatDurationNs} from '../render/time-scale.ts';
import {fmtInt} from './format.ts';

const REFRESH_MS = 1000;
const MAX_ROWS = 50;

type SortKey = 'runningNs' | 'runnableNs' | 'wakeups' | 'latencyMaxNs';

interface HistogramProps {
  label: string;
  testId: string;
  bucketLowNs: number[];
  counts: number[];
}

function Histogram({label, testId, bucketLowNs, counts}: HistogramProps) {
  // Show the buckets from the first to the last non-empty one.
  const lo = counts.findIndex((c) => c > 0);
  let hi = counts.length - 1;
  while (hi > 0 && counts[hi] === 0) hi--;
  if (lo < 0) return <p className="muted">{label}: no wakeups yet</p>;
  const max = Math.max(1, ...counts);
  return (
    <div className="histogram" data-testid={testId}>
      <div className="muted">{label}</div>
      {counts.slice(lo, hi + 1).map((c, k) => (
        <div key={k} className="bar-row">
          <span className="num muted bound">≥ {formatDurationNs(bucketLowNs[lo + k])}</span>
          <span className="bar" style={{width: `${(c / max) * 100}%`}} />
          <span className="num">{fmtInt(c)}</span>
        </div>
      ))}
    </div>
  );
}

export function TaskView() {
  const {backend} = useData();
  const dataVersion = useAppStore((s) => s.dataVersion);
  const [summary, setSummary] = useState<TaskSummary>({
    tasks: [],
    histograms: [],
    bucketLowNs: [],
  });
  const [selectedPid, setSelectedPid] = useState<number | undefined>(undefined);
  const [sort, setSort] = useState<SortKey>('runningNs');
  // Throttled, not debounced: data changes 4×/s, so a restarted timer would never fire. An
  // answer is kept unless a newer request went out (a slow query must not starve the view).
  const lastAt = useRef(-Infinity);
  const seq = useRef(0);
  useEffect(() => {
    const run = () => {
      lastAt.current = performance.now();
      const id = ++seq.current;
      backend.tasks().then(
        (r) => id === seq.current && setSummary(r),
        () => {},
      );
    };
    const wait = REFRESH_MS - (performance.now() - lastAt.current);
    if (wait <= 0) return run();
    const t = setTimeout(run, wait);
    return () => clearTimeout(t);
  }, [backend, dataVersion]);
  // Unmounted: drop whatever is in flight.
  useEffect(() => () => void ++seq.current, []);
  const rows = [...summary.tasks].sort((a, b) => b[sort] - a[sort]).slice(0, MAX_ROWS);
  const selected = summary.tasks.find((t) => t.pid === selectedPid);
  const th = (key: SortKey, label: string) => (
    <th className={sort === key ? 'sorted' : ''} onClick={() => setSort(key)}>
      {label}
    </th>
  );
  return (
    <section className="panel tasks" data-testid="task-view">
      <div className="panel-title">
        Tasks <span className="muted num">{fmtInt(summary.tasks.length)}</span>
      </div>
      <div className="task-table-wrap">
        <table className="task-table">
          <thead>
            <tr>
              <th>task</th>
              {th('runningNs', 'running')}
              {th('runnableNs', 'runnable')}
              {th('wakeups', 'wakeups')}
              <th>mean lat.</th>
              {th('latencyMaxNs', 'max lat.')}
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr
                key={t.pid}
                data-testid="task-row"
                className={t.pid === selectedPid ? 'selected' : ''}
                onClick={() => setSelectedPid(t.pid === selectedPid ? undefined : t.pid)}
              >
                <td className="task">{t.comm ? `${t.comm}-${t.pid}` : `pid ${t.pid}`}</td>
                <td className="num">{formatDurationNs(t.runningNs)}</td>
                <td className="num">{formatDurationNs(t.runnableNs)}</td>
                <td className="num">{fmtInt(t.wakeups)}</td>
                <td className="num">{t.latencyCount ? formatDurationNs(t.latencyMeanNs) : '—'}</td>
                <td className="num">{t.latencyCount ? formatDurationNs(t.latencyMaxNs) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="sub-title">
        wakeup latency (wakeup → running), {selected ? 'of the task clicked and ' : ''}per CPU
      </div>
      <div className="histograms">
        {selected && (
          <Histogram
            label={selected.comm ? `${selected.comm}-${selected.pid}` : `pid ${selected.pid}`}
            testId="latency-histogram-task"
            bucketLowNs={summary.bucketLowNs}
            counts={selected.latencyCounts}
          />
        )}
        {summary.histograms.map((h) => (
          <Histogram
            key={h.cpu}
            label={`cpu ${h.cpu}`}
            testId={`latency-histogram-${h.cpu}`}
            bucketLowNs={h.bucketLowNs}
            counts={h.counts}
          />
        ))}
      </div>
    </section>
  );
}
