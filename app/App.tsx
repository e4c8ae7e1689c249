/** Page layout: header, loss banner, then either an empty/error state or the dashboard. */
import {useAppStore} from './store.ts';
import {CpuStatsPanel} from './components/CpuStatsPanel.tsx';
import {EmptyState, SourceAdvice, isBlocking} from './components/EmptyState.tsx';
import {sourceAdviceKind} from './data/notices.ts';
import {EventDetail} from './components/EventDetail.tsx';
import {EventList} from './components/EventList.tsx';
import {Header} from './components/Header.tsx';
import {LossBanner} from './components/LossBanner.tsx';
import {TaskView} from './components/TaskView.tsx';
import {TimelinePanel} from './components/TimelinePanel.tsx';

function Notices() {
  const problem = useAppStore((s) => s.problem);
  const notices = useAppStore((s) => s.notices);
  const last = notices[notices.length - 1];
  const source = useAppStore((s) => s.source);
  const dismissed = useAppStore((s) => s.sourceAdviceDismissed);
  const dismiss = useAppStore((s) => s.dismissSourceAdvice);
  const advice = dismissed ? null : sourceAdviceKind(source);
  return (
    <>
      {problem?.kind === 'server-gone' && (
        <div className="banner loss" role="alert" data-testid="server-gone-banner">
          <strong>The server is unreachable.</strong> Reconnecting… The window below stays
          browsable. ({problem.message})
        </div>
      )}
      {problem?.kind === 'no-mmap' && (
        <div className="banner info" data-testid="no-mmap-banner">
          This kernel cannot map the ring buffer (Linux 6.10+ needed): reading trace_pipe_raw
          instead. Meta-page figures, reader swaps and derived sub-buffer loss are unavailable.
        </div>
      )}
      {advice && source && (
        <SourceAdvice
          kind={advice}
          sourceKind={source.kind}
          reason={source.reason}
          onDismiss={dismiss}
        />
      )}
      {last && (
        <div
          className={`banner ${/denied|failed|error|gone/.test(last.kind) ? 'loss' : 'info'}`}
          data-testid="notice"
          data-kind={last.kind}
          role="status"
        >
          {last.text}
        </div>
      )}
    </>
  );
}

export function App() {
  const hasSource = useAppStore((s) => s.source !== null);
  const problem = useAppStore((s) => s.problem);
  const cpuStats = useAppStore((s) => s.cpuStats);
  return (
    <div className="app">
      <Header />
      <LossBanner />
      <Notices />
      {isBlocking(problem, hasSource) ? (
        <EmptyState problem={problem} />
      ) : !hasSource ? (
        <div className="empty-state" data-testid="connecting">
          <h2>Connecting…</h2>
          <p>Waiting for the server to describe its trace source.</p>
        </div>
      ) : (
        <main className="dashboard">
          <div className="cpu-panels">
            {cpuStats.map((s) => (
              <CpuStatsPanel key={s.cpu} s={s} />
            ))}
          </div>
          <TimelinePanel />
          <div className="bottom">
            <EventList />
            <div className="side">
              <EventDetail />
              <TaskView />
            </div>
          </div>
        </main>
      )}
    </div>
  );
}
