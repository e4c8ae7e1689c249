/**
 * Parser for tracefs `events/<sys>/<event>/format` files (kernel-abi.md §5.1) and
 * `events/header_event` (§3.3).
 *
 *   name: sched_switch
 *   ID: 372
 *   format:
 *   \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;     ← common fields
 *   …
 *   (blank line)
 *   \tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;            ← event fields
 *   \tfield:__data_loc char[] name;\toffset:8;\tsize:4;\tsigned:0;         ← dynamic (type holds [])
 *   (blank line)
 *   print fmt: "prev_comm=%s …", REC->prev_comm, …
 *
 * Field flags follow libtraceevent's `event_read_fields` so that printing decisions made from
 * them (pointer vs number, string vs byte array, element size for `REC->a[i]`) agree with it:
 * string = array whose type mentions char/u8/s8; long = type mentions "long"; element size =
 * size/N for `[N]`, the element type size for dynamic arrays, 1 for char[], long for long[].
 */
import {DecodeError} from '../errors.ts';

export interface FieldDef {
  name: string;
  /** Declared type with array brackets for dynamic fields, e.g. `__data_loc char[]`, `char`. */
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  /** -1 not an array, 0 flexible `[]` (or a non-numeric length), else N of `[N]`. */
  arrayLen: number;
  /** Bytes per element (0 where libtraceevent cannot tell, e.g. `u32 buf[]`). */
  elementSize: number;
  dynamic: 'none' | 'data_loc' | 'rel_loc';
  isPointer: boolean;
  /** char/u8/s8 arrays, fixed, flexible or dynamic. */
  isString: boolean;
  isLong: boolean;
}

export interface EventFormat {
  id: number;
  system: string;
  name: string;
  commonFields: FieldDef[];
  fields: FieldDef[];
  /** Raw text after `print fmt: ` (without the trailing newline). */
  printFmt: string;
  /** Common and event fields by name (event fields win on a clash, as tep_find_any_field). */
  fieldByName: Map<string, FieldDef>;
}

const ELEMENT_TYPE_SIZE: Record<string, number> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  s8: 1,
  s16: 2,
  s32: 4,
  s64: 8,
  char: 1,
};

const FIELD_LINE_RE =
  /^\s*field:(.+?);\s*offset:\s*(\d+);\s*size:\s*(\d+);(?:\s*signed:\s*(\d+);)?\s*$/;
/** `type name[N]`: the array part follows the name. */
const DECL_NAME_LAST_RE = /^(.*?)\s*\b([A-Za-z_]\w*)\s*(\[([^\]]*)\])?$/;
/** `__data_loc char[] name`: the array part is in the type. */
const DECL_TYPE_ARRAY_RE = /^(.*?)\s*\[([^\]]*)\]\s*([A-Za-z_]\w*)$/;

/** Parse one `field:` declaration. `longSize` sizes `long[]` elements; `lineNo` is 1-based. */
export function parseFieldLine(
  line: string,
  lineNo: number,
  where: string,
  longSize = 8,
): FieldDef {
  const m = FIELD_LINE_RE.exec(line);
  if (!m) throw new DecodeError('bad-format', `malformed field line: ${clip(line)}`, lineNo, where);
  const decl = m[1].trim();
  const offset = Number(m[2]);
  const size = Number(m[3]);
  if (offset > 0xffff || size > 0xffff) {
    throw new DecodeError(
      'bad-format',
      `field offset/size out of range: ${clip(line)}`,
      lineNo,
      where,
    );
  }
  let type: string;
  let name: string;
  let arrayText: string | undefined;
  let elementTypeWord = '';
  const t = DECL_TYPE_ARRAY_RE.exec(decl);
  const n = t ? null : DECL_NAME_LAST_RE.exec(decl);
  if (t) {
    type = `${t[1].trim()}[${t[2].trim()}]`;
    name = t[3];
    arrayText = t[2].trim();
    elementTypeWord = lastWord(t[1]);
  } else if (n && n[1].trim() !== '') {
    type = n[1].trim();
    name = n[2];
    arrayText = n[3] === undefined ? undefined : n[4].trim();
    elementTypeWord = name;
  } else {
    throw new DecodeError(
      'bad-format',
      `cannot find type and name in: ${clip(decl)}`,
      lineNo,
      where,
    );
  }
  const isArray = arrayText !== undefined;
  let arrayLen = -1;
  if (isArray) {
    const words = arrayText!.split(/\s+/);
    const last = words[words.length - 1] ?? '';
    const v = /^(0x[0-9a-f]+|\d+)/i.exec(last);
    arrayLen = v ? Number(v[1]) : 0;
  }
  let dynamic: FieldDef['dynamic'] = 'none';
  if (type.startsWith('__data_loc')) dynamic = 'data_loc';
  else if (type.startsWith('__rel_loc')) dynamic = 'rel_loc';
  const isString = (isArray && /char|u8|s8/.test(type)) || (dynamic !== 'none' && size === 2);
  const isLong = type.includes('long');
  const isPointer = type.includes('*');
  let elementSize: number;
  if (isArray || dynamic !== 'none') {
    if (arrayLen > 0) elementSize = Math.floor(size / arrayLen);
    else if (dynamic !== 'none') elementSize = t ? (ELEMENT_TYPE_SIZE[elementTypeWord] ?? 0) : 0;
    else if (isString) elementSize = 1;
    else if (isLong) elementSize = longSize;
    else elementSize = 0;
  } else {
    elementSize = size;
  }
  return {
    name,
    type,
    offset,
    size,
    signed: m[4] !== undefined && m[4] !== '0',
    arrayLen: dynamic !== 'none' && size === 2 && !isArray ? 0 : arrayLen,
    elementSize,
    dynamic,
    isPointer,
    isString,
    isLong,
  };
}

function lastWord(s: string): string {
  const w = s.trim().split(/\s+/);
  return w[w.length - 1] ?? '';
}

function clip(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}

/**
 * Parse a whole format file. `where` names the input in errors (defaults to `<system>/format`);
 * the error offset is the 1-based line number.
 */
export function parseEventFormat(
  text: string,
  system: string,
  where = `${system}/format`,
  longSize = 8,
): EventFormat {
  const lines = text.split('\n');
  let i = 0;
  const expect = (re: RegExp, what: string): RegExpExecArray => {
    while (i < lines.length && lines[i].trim() === '') i++;
    const line = lines[i] ?? '';
    const m = re.exec(line);
    if (!m) {
      throw new DecodeError(
        'bad-format',
        `expected ${what}, got ${clip(line)}`,
        Math.min(i + 1, lines.length),
        where,
      );
    }
    i++;
    return m;
  };
  const name = expect(/^name:\s*(\S+)\s*$/, "'name: <event>'")[1];
  const idText = expect(/^ID:\s*(\d+)\s*$/, "'ID: <number>'")[1];
  const id = Number(idText);
  if (id > 0xffff)
    throw new DecodeError('bad-format', `event ID ${id} does not fit common_type`, i, where);
  expect(/^format:\s*$/, "'format:'");
  const groups: FieldDef[][] = [[]];
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') {
      if (groups[groups.length - 1].length > 0) groups.push([]);
      continue;
    }
    if (!/^\s*field:/.test(line)) break;
    groups[groups.length - 1].push(parseFieldLine(line, i + 1, where, longSize));
  }
  const nonEmpty = groups.filter((g) => g.length > 0);
  if (nonEmpty.length === 0) throw new DecodeError('bad-format', 'no fields', i + 1, where);
  if (nonEmpty.length > 2) {
    throw new DecodeError(
      'bad-format',
      `${nonEmpty.length} field groups (expected 2)`,
      i + 1,
      where,
    );
  }
  // The kernel writes common fields, a blank line, then event fields. Old or hand-made files
  // may lack the blank line: then split on the common_ prefix.
  let commonFields: FieldDef[];
  let fields: FieldDef[];
  if (nonEmpty.length === 2) {
    [commonFields, fields] = nonEmpty;
  } else {
    commonFields = nonEmpty[0].filter((f) => f.name.startsWith('common_'));
    fields = nonEmpty[0].filter((f) => !f.name.startsWith('common_'));
  }
  const fmtLine = i + 1;
  const rest = lines.slice(i).join('\n');
  const pm = /^print fmt:\s?([\s\S]*?)\s*$/.exec(rest);
  if (!pm) {
    throw new DecodeError(
      'bad-format',
      `expected 'print fmt:', got ${clip(lines[i] ?? '')}`,
      fmtLine,
      where,
    );
  }
  const fieldByName = new Map<string, FieldDef>();
  for (const f of commonFields) fieldByName.set(f.name, f);
  for (const f of fields) fieldByName.set(f.name, f);
  return {id, system, name, commonFields, fields, printFmt: pm[1], fieldByName};
}

/** Record header geometry from `events/header_event` (kernel-abi.md §3.3). */
export interface HeaderEvent {
  typeLenBits: number;
  timeDeltaBits: number;
  /** type_len values with special meaning, e.g. {padding: 29, time_extend: 30, time_stamp: 31}. */
  special: Map<string, number>;
  /** Largest type_len of a data record (28 on current kernels). */
  dataMaxTypeLen: number;
}

/** Parse `events/header_event`. Errors carry the 1-based line number. */
export function parseHeaderEvent(text: string, where = 'header_event'): HeaderEvent {
  let typeLenBits = -1;
  let timeDeltaBits = -1;
  let dataMaxTypeLen = -1;
  const special = new Map<string, number>();
  const lines = text.split('\n');
  lines.forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '') return;
    let m = /^type_len\s*:\s*(\d+)\s*bits$/.exec(line);
    if (m) return void (typeLenBits = Number(m[1]));
    m = /^time_delta\s*:\s*(\d+)\s*bits$/.exec(line);
    if (m) return void (timeDeltaBits = Number(m[1]));
    m = /^array\s*:\s*(\d+)\s*bits$/.exec(line);
    if (m) return;
    if (line.startsWith('#')) return;
    m = /^(\w+)\s*:\s*type\s*==\s*(\d+)$/.exec(line);
    if (m) return void special.set(m[1], Number(m[2]));
    m = /^data max type_len\s*==\s*(\d+)$/.exec(line);
    if (m) return void (dataMaxTypeLen = Number(m[1]));
    throw new DecodeError('bad-format', `unexpected line ${clip(raw)}`, idx + 1, where);
  });
  if (typeLenBits <= 0 || timeDeltaBits <= 0 || typeLenBits + timeDeltaBits !== 32) {
    throw new DecodeError(
      'bad-format',
      `type_len ${typeLenBits} + time_delta ${timeDeltaBits} bits must be 32`,
      lines.length,
      where,
    );
  }
  return {typeLenBits, timeDeltaBits, special, dataMaxTypeLen};
}
