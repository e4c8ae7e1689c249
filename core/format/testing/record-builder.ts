/**
 * Test helper: build one event record from field values, in the spirit of pagesFromText.
 *
 *   buildRecord(format, {pid: 42, comm: 'bash', name: 'eth0'}, {littleEndian: true})
 *
 * Integers (number/bigint) are written at the field's offset and size; strings fill char
 * arrays (NUL-padded) or, for `__data_loc`/`__rel_loc` fields, are appended after the fixed
 * part with their NUL and the location word is filled in; `Uint8Array`s are copied (fixed
 * arrays) or appended (dynamic / flexible fields). common_type is set to the format's id.
 */
import type {EventFormat, FieldDef} from '../../format/event-format.ts';

export type FieldValue = number | bigint | string | Uint8Array;

export interface BuildOptions {
  littleEndian?: boolean;
  /** Extra bytes after the record (not part of it), e.g. to test reads past the end. */
  slack?: number;
}

function writeInt(view: DataView, at: number, size: number, v: number | bigint, le: boolean): void {
  const b = BigInt.asUintN(64, BigInt(v));
  for (let i = 0; i < size; i++) {
    const byte = Number((b >> BigInt(8 * i)) & 0xffn);
    view.setUint8(le ? at + i : at + size - 1 - i, byte);
  }
}

const ENC = (s: string): Uint8Array =>
  Uint8Array.from(Array.from(s, (ch) => ch.charCodeAt(0) & 0xff));

export function buildRecord(
  ev: EventFormat,
  values: Record<string, FieldValue>,
  opts: BuildOptions = {},
): {bytes: Uint8Array; len: number} {
  const le = opts.littleEndian ?? true;
  const all: FieldDef[] = [...ev.commonFields, ...ev.fields];
  let fixedEnd = 0;
  for (const f of all) fixedEnd = Math.max(fixedEnd, f.offset + f.size);
  const tail: Array<{f: FieldDef; data: Uint8Array}> = [];
  for (const [name, v] of Object.entries(values)) {
    const f = ev.fieldByName.get(name);
    if (!f) throw new Error(`no field ${name} in ${ev.name}`);
    const isTail = f.dynamic !== 'none' || f.size === 0;
    if (isTail) {
      const data =
        typeof v === 'string' ? ENC(`${v}\0`) : v instanceof Uint8Array ? v : new Uint8Array(0);
      tail.push({f, data});
    }
  }
  let len = fixedEnd;
  const placed: Array<{f: FieldDef; at: number; data: Uint8Array}> = [];
  for (const t of tail) {
    const at = t.f.size === 0 && t.f.dynamic === 'none' ? t.f.offset : len;
    placed.push({f: t.f, at, data: t.data});
    len = Math.max(len, at + t.data.length);
  }
  const recLen = (len + 3) & ~3;
  const bytes = new Uint8Array(recLen + (opts.slack ?? 0));
  const view = new DataView(bytes.buffer);
  writeInt(view, 0, 2, ev.id, le);
  for (const [name, v] of Object.entries(values)) {
    const f = ev.fieldByName.get(name)!;
    if (f.dynamic !== 'none' || f.size === 0) continue;
    if (typeof v === 'string') bytes.set(ENC(v).subarray(0, f.size), f.offset);
    else if (v instanceof Uint8Array) bytes.set(v.subarray(0, f.size), f.offset);
    else writeInt(view, f.offset, f.size, v, le);
  }
  for (const p of placed) {
    bytes.set(p.data, p.at);
    if (p.f.dynamic === 'none') continue;
    const rel = p.f.dynamic === 'rel_loc' ? p.at - (p.f.offset + p.f.size) : p.at;
    if (p.f.size === 2) writeInt(view, p.f.offset, 2, rel, le);
    else writeInt(view, p.f.offset, 4, (p.data.length << 16) | rel, le);
  }
  return {bytes, len: recLen};
}
