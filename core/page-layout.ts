/**
 * How sub-buffers of one kernel are laid out: byte order, the kernel `long` size (which sets the
 * commit word size and so the data offset), and the sub-buffer size. Everything comes from
 * `events/header_page` (kernel-abi.md §3.1) and the byte order of the machine or trace.dat file.
 */
import {DecodeError} from './errors.ts';

export interface PageLayout {
  /** Byte order of every number in the sub-buffer. */
  littleEndian: boolean;
  /** Kernel `long`: size of the commit word and of a stored lost-event count. */
  longSize: 4 | 8;
  /** Offset of the first record from the sub-buffer start: 16 on 64-bit, 12 on 32-bit. */
  dataOffset: number;
  /** Bytes of record data a sub-buffer can hold (subbuf size minus the header). */
  dataSize: number;
}

/** x86_64 with 4 KiB sub-buffers: the layout of this project's machines. */
export const X86_64_4K: PageLayout = {
  littleEndian: true,
  longSize: 8,
  dataOffset: 16,
  dataSize: 4080,
};

export function subbufSize(layout: PageLayout): number {
  return layout.dataOffset + layout.dataSize;
}

const FIELD_RE = /field:\s*([^;]*?)\s+(\w+)(\[\d*\])?;\s*offset:\s*(\d+);\s*size:\s*(\d+);/g;

/** Parse `events/header_page`. `where` names the input for error messages. */
export function pageLayoutFromHeaderPage(
  text: string,
  littleEndian = true,
  where = 'header_page',
): PageLayout {
  let commitSize = -1;
  let dataOffset = -1;
  let dataSize = -1;
  for (const m of text.matchAll(FIELD_RE)) {
    const name = m[2];
    const offset = Number(m[4]);
    const size = Number(m[5]);
    if (name === 'commit') commitSize = size;
    else if (name === 'data') {
      dataOffset = offset;
      dataSize = size;
    }
  }
  if (commitSize !== 4 && commitSize !== 8) {
    throw new DecodeError('bad-format', `commit field size ${commitSize} is not 4 or 8`, 0, where);
  }
  if (dataOffset !== 8 + commitSize || dataSize <= 0) {
    throw new DecodeError(
      'bad-format',
      `data field at ${dataOffset} size ${dataSize} does not follow an ${commitSize}-byte commit`,
      0,
      where,
    );
  }
  return {littleEndian, longSize: commitSize, dataOffset, dataSize};
}

/** Layout for a sub-buffer of `subbufBytes` on a machine with the given long size and order. */
export function layoutFor(
  subbufBytes: number,
  longSize: 4 | 8 = 8,
  littleEndian = true,
): PageLayout {
  const dataOffset = 8 + longSize;
  return {littleEndian, longSize, dataOffset, dataSize: subbufBytes - dataOffset};
}
