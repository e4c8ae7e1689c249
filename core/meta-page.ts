/**
 * The mmap meta page, `struct trace_buffer_meta` (kernel-abi.md §1).
 *
 * Final ABI (v6.10+), all fields host-endian, 80 bytes:
 *   0 meta_page_size u32 · 4 meta_struct_len u32 (=80) · 8 subbuf_size u32 · 12 nr_subbufs u32
 *   16 reader.lost_events u64 · 24 reader.id u32 · 28 reader.read u32 · 32 flags u64
 *   40 entries u64 · 48 overrun u64 · 56 read u64 · 64 Reserved1 · 72 Reserved2
 *
 * Seed RFC layout (libtracefs 1.8.0, out-of-tree kernels): counters first, sizes last; same 80
 * bytes on LP64 (52 on ILP32). Told apart by where `meta_struct_len` and a page-multiple
 * `meta_page_size` sit. Anything else is rejected with the reason.
 */
import {DecodeError} from './errors.ts';

export const META_STRUCT_LEN = 80;
export const TRACE_MMAP_IOCTL_GET_READER = 0x5220;

export type MetaLayout = 'final' | 'rfc-lp64' | 'rfc-ilp32';

export interface MetaPage {
  layout: MetaLayout;
  metaPageSize: number;
  metaStructLen: number;
  subbufSize: number;
  nrSubbufs: number;
  readerLostEvents: number;
  readerId: number;
  /** Bytes of the reader sub-buffer the kernel considers consumed, from the data start. */
  readerRead: number;
  flags: number;
  entries: number;
  overrun: number;
  read: number;
  /** Only in the RFC layout; undefined in the final ABI (no kernel counter exists). */
  subbufsTouched?: number;
  subbufsLost?: number;
  subbufsRead?: number;
}

function u64(v: DataView, off: number, le: boolean): number {
  return v.getUint32(off + (le ? 4 : 0), le) * 2 ** 32 + v.getUint32(off + (le ? 0 : 4), le);
}

function isPageMultiple(n: number): boolean {
  return n >= 4096 && n % 4096 === 0;
}

function checkSizes(m: MetaPage, where: string): MetaPage {
  if (!isPageMultiple(m.subbufSize) || m.subbufSize > 1 << 20) {
    throw new DecodeError(
      'bad-meta',
      `subbuf_size ${m.subbufSize} is not a page multiple up to 1 MiB`,
      8,
      where,
    );
  }
  if (m.nrSubbufs < 2) {
    throw new DecodeError(
      'bad-meta',
      `nr_subbufs ${m.nrSubbufs} is below 2 (reader + one data)`,
      12,
      where,
    );
  }
  if (m.readerId >= m.nrSubbufs) {
    throw new DecodeError(
      'bad-meta',
      `reader.id ${m.readerId} is not below nr_subbufs ${m.nrSubbufs}`,
      24,
      where,
    );
  }
  if (m.readerRead > m.subbufSize) {
    throw new DecodeError(
      'bad-meta',
      `reader.read ${m.readerRead} exceeds subbuf_size ${m.subbufSize}`,
      28,
      where,
    );
  }
  return m;
}

/** Parse a meta page (host byte order unless told otherwise). Throws DecodeError('bad-meta'). */
export function parseMetaPage(
  bytes: Uint8Array,
  littleEndian = true,
  where = 'meta page',
): MetaPage {
  const le = littleEndian;
  if (bytes.length < 52) {
    throw new DecodeError('short-input', `${bytes.length} bytes cannot hold a meta page`, 0, where);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const w = (off: number) => v.getUint32(off, le);
  if (bytes.length >= 80 && w(4) === META_STRUCT_LEN && isPageMultiple(w(0))) {
    return checkSizes(
      {
        layout: 'final',
        metaPageSize: w(0),
        metaStructLen: w(4),
        subbufSize: w(8),
        nrSubbufs: w(12),
        readerLostEvents: u64(v, 16, le),
        readerId: w(24),
        readerRead: w(28),
        flags: u64(v, 32, le),
        entries: u64(v, 40, le),
        overrun: u64(v, 48, le),
        read: u64(v, 56, le),
      },
      where,
    );
  }
  if (bytes.length >= 80 && w(76) === META_STRUCT_LEN && isPageMultiple(w(72))) {
    return checkSizes(
      {
        layout: 'rfc-lp64',
        entries: u64(v, 0, le),
        overrun: u64(v, 8, le),
        read: u64(v, 16, le),
        subbufsTouched: u64(v, 24, le),
        subbufsLost: u64(v, 32, le),
        subbufsRead: u64(v, 40, le),
        readerLostEvents: u64(v, 48, le),
        readerId: w(56),
        readerRead: w(60),
        subbufSize: w(64),
        nrSubbufs: w(68),
        metaPageSize: w(72),
        metaStructLen: w(76),
        flags: 0,
      },
      where,
    );
  }
  if (w(48) === 52 && isPageMultiple(w(44))) {
    return checkSizes(
      {
        layout: 'rfc-ilp32',
        entries: w(0),
        overrun: w(4),
        read: w(8),
        subbufsTouched: w(12),
        subbufsLost: w(16),
        subbufsRead: w(20),
        readerLostEvents: w(24),
        readerId: w(28),
        readerRead: w(32),
        subbufSize: w(36),
        nrSubbufs: w(40),
        metaPageSize: w(44),
        metaStructLen: w(48),
        flags: 0,
      },
      where,
    );
  }
  throw new DecodeError(
    'bad-meta',
    `unknown meta page layout: meta_struct_len is neither at offset 4 (final ABI, word=${w(4)}) ` +
      `nor at 76 (RFC LP64${bytes.length >= 80 ? `, word=${w(76)}` : ''}) nor 48 (RFC ILP32, word=${w(48)}) ` +
      'next to a page-multiple meta_page_size',
    0,
    where,
  );
}

/** Unread events on this CPU as the kernel counts them (stats `entries:`). */
export function unreadEvents(m: MetaPage): number {
  return m.entries - m.overrun - m.read;
}
