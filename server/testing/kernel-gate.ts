/**
 * Gates for tests that need the live kernel (tracefs with the mmap interface) or trace-cmd.
 *
 * Where a requirement is missing the suite is skipped with a clear message, except under CI
 * (`CI=true`) on a machine that has tracefs: there a missing requirement is a failure, so CI can
 * never go green by silently skipping the real-kernel tests.
 */
import {execFileSync} from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import {describe, it} from 'vitest';

export const TRACEFS = process.env.RINGSIDE_TRACEFS ?? '/sys/kernel/tracing';

export interface Requirement {
  ok: boolean;
  /** Why it is not available, for the skip message. */
  why: string;
}

let tracefsCache: Requirement | undefined;

/** tracefs mounted and writable (root), with instances/ support. */
export function tracefsRequirement(): Requirement {
  if (tracefsCache) return tracefsCache;
  if (process.platform !== 'linux') {
    tracefsCache = {ok: false, why: `not Linux (${process.platform})`};
  } else if (!existsSync(`${TRACEFS}/instances`)) {
    tracefsCache = {ok: false, why: `tracefs is not mounted at ${TRACEFS}`};
  } else {
    try {
      accessSync(`${TRACEFS}/instances`, constants.W_OK);
      tracefsCache = {ok: true, why: ''};
    } catch {
      tracefsCache = {ok: false, why: `no write permission on ${TRACEFS}/instances (run as root)`};
    }
  }
  return tracefsCache;
}

/** tracefs readable (format files): enough for tests that only read events/. */
export function tracefsReadableRequirement(): Requirement {
  try {
    accessSync(`${TRACEFS}/events/header_page`, constants.R_OK);
    return {ok: true, why: ''};
  } catch {
    return {ok: false, why: `cannot read ${TRACEFS}/events (tracefs not mounted or no permission)`};
  }
}

let subbufCache: Requirement | undefined;

/**
 * The kernel lets an instance's sub-buffer size change (`buffer_subbuf_size_kb`). Not a setup
 * problem but the kernel's policy: the project VM refuses it with EPERM since 2026-12 (as it
 * locks the function tracer), so tests of other sizes check the refusal's message there instead
 * (and say so with a `[kernel-locked]` line) rather than failing CI.
 */
export function subbufSizeRequirement(): Requirement {
  if (subbufCache) return subbufCache;
  const t = tracefsRequirement();
  if (!t.ok) return (subbufCache = t);
  const dir = `${TRACEFS}/instances/ringside-gate-${process.pid}`;
  try {
    mkdirSync(dir);
    const file = `${dir}/buffer_subbuf_size_kb`;
    if (!existsSync(file)) return (subbufCache = {ok: false, why: `${file} does not exist`});
    const kb = readFileSync(file, 'utf8').trim();
    writeFileSync(file, kb === '8' ? '4' : '8');
    subbufCache = {ok: true, why: ''};
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    subbufCache = {ok: false, why: `the kernel refuses writes to buffer_subbuf_size_kb (${code})`};
  } finally {
    if (existsSync(dir)) rmdirSync(dir);
  }
  return subbufCache;
}

/**
 * Log why a test checks the kernel's refusal instead of the feature (or, where there is
 * nothing to compare with, skips): `.ci/run` lists these lines apart from `[skip]`.
 */
export function noteKernelLocked(what: string, why: string): void {
  console.warn(`[kernel-locked] ${what}: ${why}`);
}

/** True when this machine has tracefs at all (mounted or mountable), whatever the permissions. */
export function machineHasTracefs(): boolean {
  return process.platform === 'linux' && existsSync('/sys/kernel/tracing');
}

export function commandRequirement(cmd: string, args: string[] = ['--version']): Requirement {
  try {
    execFileSync(cmd, args, {stdio: 'ignore', timeout: 10_000});
    return {ok: true, why: ''};
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return {ok: false, why: `${cmd} is not installed`};
    // trace-cmd --version exits non-zero on some builds but still runs.
    return {ok: true, why: ''};
  }
}

export function traceCmdRequirement(): Requirement {
  return commandRequirement('trace-cmd', ['-h']);
}

export function ccRequirement(): Requirement {
  return commandRequirement('cc', ['--version']);
}

function combine(reqs: Requirement[]): Requirement {
  const missing = reqs.filter((r) => !r.ok).map((r) => r.why);
  return missing.length ? {ok: false, why: missing.join('; ')} : {ok: true, why: ''};
}

/**
 * `describe` that runs only where every requirement holds. Otherwise it skips with the reason,
 * or, under CI on a machine with tracefs, fails with the reason.
 */
export function describeWith(name: string, reqs: Requirement[], body: () => void): void {
  const req = combine(reqs);
  if (req.ok) {
    describe(name, body);
    return;
  }
  if (process.env.CI === 'true' && machineHasTracefs()) {
    describe(name, () => {
      it('has what it needs under CI', () => {
        throw new Error(`CI has tracefs but this suite cannot run: ${req.why}`);
      });
    });
    return;
  }
  console.warn(`[skip] ${name}: ${req.why}`);
  describe.skip(`${name} (skipped: ${req.why})`, body);
}

export function describeKernel(name: string, body: () => void): void {
  describeWith(name, [tracefsRequirement()], body);
}
