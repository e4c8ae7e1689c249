/** Filters for the event list: CPUs, event name, task (pid or comm) and free text. */
import {useEffect, useState} from 'react';
import {useAppStore} from '../store.ts';
import {useData} from '../data/context.ts';

const TEXT_DEBOUNCE_MS = 200;

function useDebouncedInput(value: string, commit: (v: string) => void) {
  const [local, setLocal] = useState(value);
  useEffect(() => {
    if (local === value) return;
    const t = setTimeout(() => commit(local), TEXT_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [local, value, commit]);
  return [local, setLocal] as const;
}

export function EventFilterBar() {
  const cpus = useAppStore((s) => s.source?.cpus ?? []);
  const filters = useAppStore((s) => s.filters);
  const setFilters = useAppStore((s) => s.setFilters);
  const toggleCpu = useAppStore((s) => s.toggleCpuFilter);
  const dataVersion = useAppStore((s) => s.dataVersion);
  const {backend} = useData();
  const [names, setNames] = useState<string[]>([]);
  const needNames = names.length === 0 && dataVersion > 0;
  useEffect(() => {
    if (!needNames) return;
    let live = true;
    backend.eventNames().then(
      (n) => live && setNames(n),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [backend, needNames, dataVersion]);
  const [task, setTask] = useDebouncedInput(filters.task, (v) => setFilters({task: v}));
  const [text, setText] = useDebouncedInput(filters.text, (v) => setFilters({text: v}));
  return (
    <div className="filter-bar">
      <span className="cpu-toggles" role="group" aria-label="filter by CPU">
        {cpus.map((c) => (
          <button
            key={c}
            className={`toggle ${filters.cpus.includes(c) ? 'on' : ''}`}
            aria-pressed={filters.cpus.includes(c)}
            onClick={() => toggleCpu(c)}
            data-testid={`filter-cpu-${c}`}
          >
            cpu{c}
          </button>
        ))}
      </span>
      <select
        value={filters.events[0] ?? ''}
        onChange={(e) => setFilters({events: e.target.value ? [e.target.value] : []})}
        onFocus={() => backend.eventNames().then(setNames, () => {})}
        aria-label="filter by event"
        data-testid="filter-event"
      >
        <option value="">all events</option>
        {names.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
      <input
        value={task}
        onChange={(e) => setTask(e.target.value)}
        placeholder="pid or comm"
        aria-label="filter by pid or comm"
        data-testid="filter-task"
        size={12}
      />
      <input
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder="text"
        aria-label="filter by text"
        data-testid="filter-text"
        size={16}
      />
    </div>
  );
}
