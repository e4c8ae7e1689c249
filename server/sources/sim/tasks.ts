/**
 * The sim workload's task list: per-CPU kernel threads (ksoftirqd, kworker) and a handful of user
 * tasks, with pids and comms that also make up the source's saved_cmdlines. Kernel-thread pids
 * stay below the user pids for up to 32 CPUs.
 */

export interface SimTask {
  pid: number;
  comm: string;
  prio: number;
  /** Pinned CPU (kworkers, ksoftirqd) or -1. */
  pinned: number;
}

/** The synthetic task list (also the source of saved_cmdlines). */
export function makeTasks(nrCpus: number): SimTask[] {
  const tasks: SimTask[] = [];
  for (let cpu = 0; cpu < nrCpus; cpu++) {
    tasks.push({pid: 14 + cpu * 8, comm: `ksoftirqd/${cpu}`, prio: 120, pinned: cpu});
    tasks.push({pid: 60 + cpu * 8, comm: `kworker/${cpu}:1`, prio: 120, pinned: cpu});
  }
  const user: [number, string, number][] = [
    [15, 'rcu_preempt', 120],
    [412, 'systemd-journal', 120],
    [733, 'sshd', 120],
    [1906, 'bash', 120],
    [2210, 'node', 120],
    [2214, 'node', 120],
    [3051, 'make', 120],
    [3102, 'cc1', 120],
    [3107, 'cc1', 120],
    [3120, 'as', 120],
    [1187, 'pipewire', 100],
    [1290, 'Xwayland', 120],
  ];
  for (const [pid, comm, prio] of user) tasks.push({pid, comm, prio, pinned: -1});
  return tasks;
}

/** `saved_cmdlines` text for the task list. */
export function savedCmdlines(nrCpus: number): string {
  return makeTasks(nrCpus)
    .map((t) => `${t.pid} ${t.comm}\n`)
    .join('');
}
