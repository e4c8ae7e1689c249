/**
 * libc through koffi (prebuilt binaries, no compiler at install): open/close/mmap/munmap/ioctl/
 * poll/eventfd/read/write/sched_setscheduler, plus a zero-copy view of mapped memory
 * (`koffi.view`).
 *
 * Why not Node's fs: Node has no mmap and no ioctl, and its fs.read on a non-blocking fd is fine
 * but poll() on a tracefs file is not something libuv offers (it only watches sockets/pipes).
 *
 * Every failure becomes a `SysError` carrying the errno name (EPERM, ENODEV, EBUSY…); nothing
 * here aborts the process. Prototypes: `open` and `ioctl` are variadic in C; they are declared
 * with fixed int arguments, which is call-compatible on the 64-bit Linux ABIs we support
 * (x86-64, aarch64). 32-bit userlands are not supported (off_t would need mmap64).
 */
import {createRequire} from 'node:module';
import type * as KoffiNs from 'koffi';

type Koffi = typeof KoffiNs;

export class SysError extends Error {
  override readonly name = 'SysError';
  constructor(
    /** errno name, e.g. 'EBUSY' ('EUNKNOWN<n>' for numbers koffi does not name). */
    readonly code: string,
    readonly errno: number,
    /** What was being done, e.g. `mmap /sys/kernel/tracing/.../trace_pipe_raw`. */
    readonly op: string,
  ) {
    super(`${op}: ${code} (errno ${errno})`);
  }
}

export const O_RDONLY = 0;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const PROT_READ = 1;
export const MAP_SHARED = 1;
export const POLLIN = 1;
export const POLLERR = 8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;
const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
const SC_PAGESIZE = 30;
const MAP_FAILED = 0xffffffffffffffffn;

interface Libc {
  koffi: Koffi;
  open: (path: string, flags: number, mode: number) => number;
  close: (fd: number) => number;
  mmap: (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown;
  munmap: (addr: unknown, len: number) => number;
  ioctl: (fd: number, req: number, arg: number) => number;
  poll: ((fds: Buffer, n: number, timeoutMs: number) => number) & {
    async: (
      fds: Buffer,
      n: number,
      timeoutMs: number,
      cb: (err: unknown, res: number) => void,
    ) => void;
  };
  read: (fd: number, buf: Buffer, len: number) => number;
  write: (fd: number, buf: Buffer, len: number) => number;
  eventfd: (init: number, flags: number) => number;
  sysconf: (name: number) => number;
  gettid: () => number;
  schedSetscheduler: (pid: number, policy: number, param: Buffer) => number;
  errnoNames: Map<number, string>;
}

let libc: Libc | undefined;
let loadError: Error | undefined;

/** Load koffi + libc once. Throws a plain Error saying why when koffi cannot load. */
function lib(): Libc {
  if (libc) return libc;
  if (loadError) throw loadError;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    const c = koffi.load('libc.so.6');
    const errnoNames = new Map<number, string>();
    for (const [name, num] of Object.entries(koffi.os.errno)) {
      if (!errnoNames.has(num)) errnoNames.set(num, name);
    }
    libc = {
      koffi,
      open: c.func('int open(const char *path, int flags, int mode)'),
      close: c.func('int close(int fd)'),
      mmap: c.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)'),
      munmap: c.func('int munmap(void *addr, size_t len)'),
      ioctl: c.func('int ioctl(int fd, unsigned long req, unsigned long arg)'),
      poll: c.func('int poll(void *fds, unsigned long nfds, int timeout)') as Libc['poll'],
      read: c.func('long read(int fd, void *buf, size_t len)'),
      write: c.func('long write(int fd, const void *buf, size_t len)'),
      eventfd: c.func('int eventfd(unsigned int initval, int flags)'),
      sysconf: c.func('long sysconf(int name)'),
      gettid: c.func('int gettid()'),
      schedSetscheduler: c.func('int sched_setscheduler(int pid, int policy, const void *param)'),
      errnoNames,
    };
    return libc;
  } catch (e) {
    loadError = new Error(
      `cannot load koffi/libc for mmap: ${e instanceof Error ? e.message : String(e)}`,
    );
    throw loadError;
  }
}

/** True when the FFI can be loaded here (Linux with glibc and a koffi prebuilt). */
export function ffiAvailable(): {ok: boolean; why: string} {
  try {
    lib();
    return {ok: true, why: ''};
  } catch (e) {
    return {ok: false, why: (e as Error).message};
  }
}

function fail(op: string): SysError {
  const l = lib();
  const errno = l.koffi.errno();
  return new SysError(l.errnoNames.get(errno) ?? `EUNKNOWN${errno}`, errno, op);
}

export function pageSize(): number {
  const n = lib().sysconf(SC_PAGESIZE);
  return n > 0 ? n : 4096;
}

export function sysOpen(path: string, flags: number): number {
  const fd = lib().open(path, flags, 0);
  if (fd < 0) throw fail(`open ${path}`);
  return fd;
}

/** close(2); errors are returned (not thrown) because callers are tearing down. */
export function sysClose(fd: number): SysError | undefined {
  if (fd < 0) return undefined;
  return lib().close(fd) < 0 ? fail(`close fd ${fd}`) : undefined;
}

/** A read-only shared mapping and a zero-copy ArrayBuffer over it. */
export interface Mapping {
  /** Opaque pointer for munmap. */
  readonly addr: unknown;
  readonly length: number;
  /** External ArrayBuffer over the mapping: never touch it after `sysMunmap`. */
  readonly buffer: ArrayBuffer;
}

export function sysMmapShared(fd: number, length: number, offset: number, what: string): Mapping {
  const l = lib();
  const addr = l.mmap(null, length, PROT_READ, MAP_SHARED, fd, offset);
  const a = addr === null ? 0n : l.koffi.address(addr);
  if (a === 0n || a === MAP_FAILED) throw fail(`mmap ${length} bytes at ${offset} of ${what}`);
  return {addr, length, buffer: l.koffi.view(addr, length)};
}

export function sysMunmap(m: Mapping): SysError | undefined {
  return lib().munmap(m.addr, m.length) < 0 ? fail(`munmap ${m.length} bytes`) : undefined;
}

export function sysIoctl(fd: number, request: number, what: string): number {
  const r = lib().ioctl(fd, request, 0);
  if (r < 0) throw fail(`ioctl 0x${request.toString(16)} on ${what}`);
  return r;
}

/** Non-blocking eventfd used to interrupt a poll running on the threadpool. */
export function sysEventfd(): number {
  const fd = lib().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw fail('eventfd');
  return fd;
}

const ONE = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);

export function eventfdSignal(fd: number): void {
  lib().write(fd, ONE, 8);
}

export function eventfdDrain(fd: number): void {
  const b = Buffer.alloc(8);
  lib().read(fd, b, 8);
}

/** `struct pollfd` array: 8 bytes each (int fd, short events, short revents). */
export function pollfdArray(fds: number[]): Buffer {
  const b = Buffer.alloc(8 * fds.length);
  fds.forEach((fd, i) => {
    b.writeInt32LE(fd, i * 8);
    b.writeInt16LE(POLLIN, i * 8 + 4);
  });
  return b;
}

export function pollRevents(b: Buffer, i: number): number {
  return b.readUInt16LE(i * 8 + 6);
}

/** poll(2) with a 0..N ms timeout on this thread. Returns the ready count. */
export function sysPollNow(b: Buffer, timeoutMs = 0): number {
  for (let i = 0; i < b.length; i += 8) b.writeInt16LE(0, i + 6);
  const r = lib().poll(b, b.length / 8, timeoutMs);
  if (r < 0) {
    const e = fail('poll');
    if (e.code === 'EINTR') return 0;
    throw e;
  }
  return r;
}

/**
 * poll(2) on a libuv threadpool thread (koffi async call), so the event loop stays free while
 * the kernel sleeps. `b` must stay untouched until the promise settles.
 */
export function sysPollAsync(b: Buffer, timeoutMs: number): Promise<number> {
  for (let i = 0; i < b.length; i += 8) b.writeInt16LE(0, i + 6);
  const l = lib();
  return new Promise((resolve, reject) => {
    l.poll.async(b, b.length / 8, timeoutMs, (err, res) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else if (res < 0)
        resolve(0); // EINTR and friends: treat as "maybe data", caller re-checks
      else resolve(res);
    });
  });
}

/** The calling thread's id (what /proc/<pid>/task/<tid> and `ps -L` show). */
export function sysGettid(): number {
  return lib().gettid();
}

const SCHED_FIFO = 1;

/**
 * Put the calling thread (pid 0 means the caller, not the process) under SCHED_FIFO at
 * `priority` (1..99). Needs CAP_SYS_NICE or an RLIMIT_RTPRIO at least that high: EPERM else.
 */
export function sysSchedFifo(priority: number): void {
  const param = Buffer.alloc(4); // struct sched_param {int sched_priority;}
  param.writeInt32LE(priority);
  if (lib().schedSetscheduler(0, SCHED_FIFO, param) < 0) {
    throw fail(`sched_setscheduler SCHED_FIFO ${priority}`);
  }
}

/** Copy `len` bytes of a mapping at `offset` into a fresh Uint8Array (never a view). */
export function copyOut(buffer: ArrayBuffer, offset: number, len: number): Uint8Array {
  return new Uint8Array(buffer, offset, len).slice();
}
