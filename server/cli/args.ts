/**
 * Command-line options of `ringside serve` and `ringside tail`. The source options are shared:
 * `tail` without a URL runs the same source in-process.
 */
import {MAX_CPUS} from '../../core/protocol.ts';
import type {SourceOptions} from '../sources/source.ts';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface SourceArgs {
  source: SourceOptions['source'];
  replayFile?: string;
  speed?: number;
  instance?: string;
  events: string[];
  bufferKb?: number;
  subbufKb?: number;
  seed?: number;
  /** --no-self-filter: the own instance also records this process's threads. */
  traceSelf?: boolean;
}

export interface ServeArgs extends SourceArgs {
  host: string;
  port: number;
  token?: string;
  allowControl: boolean;
  /** CONTROL may also change an instance attached with --instance NAME (never the top level). */
  allowControlAttached: boolean;
  open: boolean;
  /** Try `npx vite build` when dist/index.html is missing (default true). */
  build: boolean;
  help: boolean;
}

export interface TailArgs extends SourceArgs {
  url?: string;
  /** --cpu: only these CPUs, asked of the server (HELLO_ACK `cpus`). */
  cpus?: number[];
  count?: number;
  durationS?: number;
  help: boolean;
}

export const SOURCE_USAGE = `source options:
  --source KIND       auto (default) | mmap | read | sim | replay
  --replay FILE       trace.dat to play back (implies --source replay)
  --speed N           replay speed: 1 = real time, N = N times faster, 0 = as fast as taken
  --instance NAME     attach to this existing tracefs instance ('' = top level) instead of
                      creating a private one
  -e, --event EVENT   events to enable, trace-cmd syntax (sched, sched:sched_switch, all);
                      repeatable
  --buffer-kb N       per-CPU buffer size of the private instance
  --subbuf-kb N       sub-buffer size of the private instance
  --seed N            seed of the sim source
  --no-self-filter    also record Ringside's own threads in its private instance (by default
                      they are kept out with set_event_notrace_pid, as trace-cmd record does;
                      an attached instance is never filtered)`;

export const SERVE_USAGE = `usage: ringside serve [options]

Streams the kernel's ftrace ring buffer to the browser UI.

${SOURCE_USAGE}

server options:
  --host HOST         address to bind (default 127.0.0.1; anything else exposes the trace to
                      the network, protected only by the token)
  --port N            port (default 7680; 0 = any free port)
  --token TOKEN       access token (default: random, 192 bits)
  --allow-control     honour CONTROL requests from clients (enable/disable events, tracing
                      on/off, clear, buffer size) on the server's own instance
  --allow-control-attached
                      also on an instance attached with --instance NAME (implies
                      --allow-control; the top level is never changed)
  --no-open           do not open a browser
  --no-build          do not try to build the UI when dist/ is missing
  -h, --help          this text`;

export const TAIL_USAGE = `usage: ringside tail [URL] [options]

Prints live events as \`trace-cmd report\` does. URL is the line printed by \`ringside serve\`;
without it, the source runs in this process (same source options as serve).

  --cpu N[,M]         only these CPUs (ranges like 0-3 are allowed); the server then
                      sends nothing of the others
  --count N           stop after N events
  --duration S        stop after S seconds
  -h, --help          this text

${SOURCE_USAGE}

On exit (also on Ctrl-C) prints per-CPU totals to stderr: events, kernel loss, delivery gaps.`;

type Take = () => string;

/** `0,2-3` → [0, 2, 3] (trace-cmd's --cpu syntax; ':' separates too). */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(/[,:]/)) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) throw new UsageError(`invalid cpu list '${text}'`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > b) throw new UsageError('range of cpu numbers must be lower to greater');
    if (b >= MAX_CPUS) throw new UsageError(`cpu ${b} is beyond the ${MAX_CPUS} CPUs supported`);
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
}

function num(name: string, v: string, min: number, integer = true): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `${name} needs ${integer ? 'an integer' : 'a number'} ≥ ${min}, got '${v}'`,
    );
  }
  return n;
}

/** Handle one source option; false when `a` is not one. */
function sourceOption(a: string, take: Take, out: SourceArgs): boolean {
  switch (a) {
    case '--source': {
      const v = take();
      if (!['auto', 'mmap', 'read', 'sim', 'replay'].includes(v)) {
        throw new UsageError(`--source must be auto, mmap, read, sim or replay, got '${v}'`);
      }
      out.source = v as SourceArgs['source'];
      return true;
    }
    case '--replay':
      out.replayFile = take();
      return true;
    case '--speed':
      out.speed = num('--speed', take(), 0, false);
      return true;
    case '--instance':
      out.instance = take();
      return true;
    case '-e':
    case '--event':
      out.events.push(take());
      return true;
    case '--buffer-kb':
      out.bufferKb = num('--buffer-kb', take(), 1);
      return true;
    case '--subbuf-kb':
      out.subbufKb = num('--subbuf-kb', take(), 1);
      return true;
    case '--seed':
      out.seed = num('--seed', take(), 0);
      return true;
    case '--no-self-filter':
      out.traceSelf = true;
      return true;
    default:
      return false;
  }
}

/** Walk argv, splitting `--opt=value`; `handle` returns false for an unknown option. */
function walk(
  argv: string[],
  handle: (a: string, take: Take) => boolean,
  positional: (a: string) => void,
): void {
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let inline: string | undefined;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    if (eq > 0) {
      inline = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const take: Take = () => {
      if (inline !== undefined) {
        const v = inline;
        inline = undefined;
        return v;
      }
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      return argv[++i];
    };
    if (a.startsWith('-') && a !== '-') {
      if (!handle(a, take)) throw new UsageError(`unknown option '${a}'`);
      if (inline !== undefined) throw new UsageError(`${a} takes no value`);
    } else {
      positional(a);
    }
  }
}

function finishSource(out: SourceArgs): void {
  if (out.replayFile !== undefined && out.source === 'auto') out.source = 'replay';
  if (out.source === 'replay' && out.replayFile === undefined) {
    throw new UsageError('--source replay needs --replay FILE');
  }
}

export function parseServeArgs(argv: string[]): ServeArgs {
  const out: ServeArgs = {
    source: 'auto',
    events: [],
    host: '127.0.0.1',
    port: 7680,
    allowControl: false,
    allowControlAttached: false,
    open: true,
    build: true,
    help: false,
  };
  walk(
    argv,
    (a, take) => {
      if (sourceOption(a, take, out)) return true;
      if (a === '--host') out.host = take();
      else if (a === '--port') out.port = num('--port', take(), 0);
      else if (a === '--token') {
        out.token = take();
        if (out.token.length < 8) throw new UsageError('--token must be at least 8 characters');
      } else if (a === '--allow-control') out.allowControl = true;
      else if (a === '--allow-control-attached') out.allowControl = out.allowControlAttached = true;
      else if (a === '--no-open') out.open = false;
      else if (a === '--no-build') out.build = false;
      else if (a === '-h' || a === '--help') out.help = true;
      else return false;
      return true;
    },
    (p) => {
      throw new UsageError(`unexpected argument '${p}'`);
    },
  );
  if (out.port > 65535) throw new UsageError(`--port ${out.port} is above 65535`);
  finishSource(out);
  return out;
}

export function parseTailArgs(argv: string[]): TailArgs {
  const out: TailArgs = {source: 'auto', events: [], help: false};
  walk(
    argv,
    (a, take) => {
      if (sourceOption(a, take, out)) return true;
      if (a === '--count') out.count = num('--count', take(), 1);
      else if (a === '--cpu')
        out.cpus = [...new Set([...(out.cpus ?? []), ...parseCpuList(take())])];
      else if (a === '--duration') out.durationS = num('--duration', take(), 0, false);
      else if (a === '-h' || a === '--help') out.help = true;
      else return false;
      return true;
    },
    (p) => {
      if (out.url !== undefined) throw new UsageError(`unexpected argument '${p}'`);
      if (!/^https?:\/\//.test(p)) throw new UsageError(`URL must start with http:// (got '${p}')`);
      out.url = p;
    },
  );
  finishSource(out);
  return out;
}

export function sourceOptions(a: SourceArgs, log?: (line: string) => void): SourceOptions {
  return {
    source: a.source,
    events: a.events,
    ...(a.replayFile !== undefined ? {replayFile: a.replayFile} : {}),
    ...(a.speed !== undefined ? {speed: a.speed} : {}),
    ...(a.instance !== undefined ? {instance: a.instance} : {}),
    ...(a.bufferKb !== undefined ? {bufferKb: a.bufferKb} : {}),
    ...(a.subbufKb !== undefined ? {subbufKb: a.subbufKb} : {}),
    ...(a.seed !== undefined ? {seed: a.seed} : {}),
    ...(a.traceSelf ? {traceSelf: true} : {}),
    ...(log ? {log} : {}),
  };
}
