/**
 * Pick the source for `serve`/`tail` and say why. 'auto' prefers the real thing and degrades:
 *   mmap  (tracefs writable + kernel ≥ 6.10 + a probe map/GET_READER works)
 *   read  (tracefs writable, mmap unavailable)
 *   sim   (no tracefs, not Linux, not root)
 * 'sim' and 'replay' are loaded lazily so a missing or broken module fails only its own path.
 */
import {existsSync} from 'node:fs';
import {release} from 'node:os';
import type {SourceOptions, TraceSource} from './source.ts';
import type {SourceReasonCode} from '../../core/protocol.ts';
import {MmapSource} from './mmap/mmap-source.ts';
import {ReadSource} from './read-source.ts';
import {CpuReader} from './mmap/cpu-reader.ts';
import {TraceInstance} from '../tracefs/instance.ts';
import {TracefsError} from '../tracefs/tracefs-errors.ts';
import {canWriteInstances, findTracefs, kernelVersion} from '../tracefs/tracefs-root.ts';
import {ffiAvailable, sysIoctl} from '../kernel/ffi.ts';
import {TRACE_MMAP_IOCTL_GET_READER} from '../../core/meta-page.ts';

export interface CreatedSource {
  source: TraceSource;
  /** One line: which source and why, e.g. "mmap: tracefs at /sys/kernel/tracing, kernel 6.18". */
  reason: string;
  /**
   * Machine-readable reason (HELLO sourceReasonCode): 'explicit' (asked for), 'ok' (auto got
   * mmap), or why auto fell back: 'no-tracefs' / 'no-permission' (→ sim), 'old-kernel' /
   * 'no-mmap' (→ read).
   */
  code: SourceReasonCode;
}

type SourceCtor = new (options: SourceOptions) => TraceSource;

// Module paths held in variables: these files are written separately and may be absent; a
// literal would make the type-check of this file depend on them.
const SIM_MODULE = './sim/sim-source.ts';
const REPLAY_MODULE = './replay-source.ts';

async function loadCtor(spec: string, name: string): Promise<SourceCtor> {
  const mod = (await import(spec)) as Record<string, unknown>;
  const ctor = mod[name];
  if (typeof ctor !== 'function') throw new Error(`${spec} does not export ${name}`);
  return ctor as SourceCtor;
}

/**
 * Can this machine map trace_pipe_raw? Own-instance mode maps a throw-away instance and runs one
 * GET_READER; attach mode only maps cpu0 of that instance (GET_READER would consume its data).
 */
export function probeMmap(root: string, attach?: string): {ok: boolean; why: string} {
  const ffi = ffiAvailable();
  if (!ffi.ok) return ffi;
  let inst: TraceInstance | undefined;
  let reader: CpuReader | undefined;
  try {
    inst = TraceInstance.open({
      root,
      attach,
      ownName: attach === undefined ? `ringside-${process.pid}-0` : undefined,
      bufferKb: 16,
      events: ['ftrace'],
    });
    const cpu = inst.cpus()[0] ?? 0;
    const path = inst.path(`per_cpu/cpu${cpu}/trace_pipe_raw`);
    reader = new CpuReader(cpu, path);
    if (attach === undefined) sysIoctl(reader.fd, TRACE_MMAP_IOCTL_GET_READER, path);
    return {ok: true, why: ''};
  } catch (e) {
    return {ok: false, why: e instanceof Error ? e.message : String(e)};
  } finally {
    reader?.close();
    inst?.remove();
  }
}

export async function createSource(options: SourceOptions): Promise<CreatedSource> {
  const log = options.log;
  const done = (
    source: TraceSource,
    reason: string,
    code: SourceReasonCode = 'explicit',
  ): CreatedSource => {
    log?.(`source ${reason}`);
    return {source, reason, code};
  };
  switch (options.source) {
    case 'mmap':
      return done(new MmapSource(options), 'mmap: requested');
    case 'read':
      return done(new ReadSource(options), 'read: requested');
    case 'sim':
      return done(new (await loadCtor(SIM_MODULE, 'SimSource'))(options), 'sim: requested');
    case 'replay':
      return done(
        new (await loadCtor(REPLAY_MODULE, 'ReplaySource'))(options),
        `replay: ${options.replayFile ?? '(no file)'}`,
      );
    case 'auto':
      break;
    default:
      throw new Error(`unknown source '${String(options.source)}' (auto, mmap, read, sim, replay)`);
  }
  const rel = release();
  const sim = async (why: string, code: SourceReasonCode) =>
    done(new (await loadCtor(SIM_MODULE, 'SimSource'))(options), `sim: ${why}`, code);
  let root: string;
  try {
    root = findTracefs({mount: true});
  } catch (e) {
    return sim((e as Error).message, 'no-tracefs');
  }
  if (options.instance === undefined && !canWriteInstances(root)) {
    return sim(
      `no write access to ${root}/instances (run as root for live tracing)`,
      'no-permission',
    );
  }
  const [major, minor] = kernelVersion(rel);
  const kernel = `kernel ${major}.${minor}`;
  const where = options.instance === undefined ? '' : `, instance '${options.instance}'`;
  if (major < 6 || (major === 6 && minor < 10)) {
    return done(
      new ReadSource(options),
      `read: ${kernel} predates the ring-buffer mmap interface (6.10), tracefs at ${root}${where}`,
      'old-kernel',
    );
  }
  if (options.instance && !existsSync(`${root}/instances/${options.instance}/per_cpu`)) {
    throw new TracefsError(
      'no-instance',
      `tracefs instance '${options.instance}' not found under ${root}/instances`,
    );
  }
  const probe = probeMmap(root, options.instance);
  if (probe.ok) {
    return done(new MmapSource(options), `mmap: tracefs at ${root}, ${kernel}${where}`, 'ok');
  }
  return done(
    new ReadSource(options),
    `read: mmap probe failed (${probe.why}), tracefs at ${root}`,
    /EACCES|EPERM|permission/i.test(probe.why) ? 'no-permission' : 'no-mmap',
  );
}
