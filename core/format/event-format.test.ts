import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {describe, expect, it} from 'vitest';
import {
  TRACEFS,
  describeWith,
  tracefsReadableRequirement,
} from '../../server/testing/kernel-gate.ts';
import {DecodeError} from '../errors.ts';
import {parseEventFormat, parseFieldLine, parseHeaderEvent, type FieldDef} from './event-format.ts';
import {listFormatFiles} from '../testing/format-files.ts';

const CAPTURES = join(import.meta.dirname, '../testing/fixtures/captures');

const fixture = (sys: string, ev: string): string =>
  readFileSync(join(CAPTURES, 'formats', sys, ev, 'format'), 'utf8');

function checkInvariants(text: string, system: string, where: string): void {
  const f = parseEventFormat(text, system, where);
  expect(f.commonFields.map((c) => c.name)).toEqual([
    'common_type',
    'common_flags',
    'common_preempt_count',
    'common_pid',
  ]);
  expect(f.commonFields[0]).toMatchObject({offset: 0, size: 2, signed: false});
  expect(f.printFmt.startsWith('"')).toBe(true);
  for (const fd of f.fields) {
    expect(fd.offset).toBeGreaterThanOrEqual(8);
    if (fd.dynamic !== 'none') expect([2, 4]).toContain(fd.size);
    expect(f.fieldByName.get(fd.name)).toBe(fd);
  }
}

describe('parseEventFormat on fixture formats', () => {
  const files = listFormatFiles(join(CAPTURES, 'formats'));
  it(`parses all ${files.length} fixture formats`, () => {
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) checkInvariants(file.text, file.system, file.path);
  });

  it('sched_switch', () => {
    const f = parseEventFormat(fixture('sched', 'sched_switch'), 'sched');
    expect(f.name).toBe('sched_switch');
    expect(f.system).toBe('sched');
    expect(f.id).toBe(372);
    const comm = f.fieldByName.get('prev_comm')!;
    expect(comm).toEqual<FieldDef>({
      name: 'prev_comm',
      type: 'char',
      offset: 8,
      size: 16,
      signed: false,
      arrayLen: 16,
      elementSize: 1,
      dynamic: 'none',
      isPointer: false,
      isString: true,
      isLong: false,
    });
    expect(f.fieldByName.get('prev_pid')).toMatchObject({
      type: 'pid_t',
      size: 4,
      signed: true,
      arrayLen: -1,
      elementSize: 4,
    });
    expect(f.fieldByName.get('prev_state')).toMatchObject({
      type: 'long',
      size: 8,
      signed: true,
      isLong: true,
    });
    expect(f.printFmt).toMatch(/^"prev_comm=%s prev_pid=%d/);
  });

  it('irq_handler_entry: __data_loc char[]', () => {
    const f = parseEventFormat(fixture('irq', 'irq_handler_entry'), 'irq');
    expect(f.fieldByName.get('name')).toMatchObject({
      type: '__data_loc char[]',
      offset: 12,
      size: 4,
      dynamic: 'data_loc',
      isString: true,
      arrayLen: 0,
      elementSize: 1,
    });
  });

  it('ftrace print / bprint / raw_data / sys_enter: flexible, pointer and long arrays', () => {
    const print = parseEventFormat(fixture('ftrace', 'print'), 'ftrace');
    expect(print.fieldByName.get('buf')).toMatchObject({
      type: 'char',
      size: 0,
      arrayLen: 0,
      isString: true,
      elementSize: 1,
    });
    expect(print.fieldByName.get('ip')).toMatchObject({
      type: 'unsigned long',
      isLong: true,
      size: 8,
    });
    const bprint = parseEventFormat(fixture('ftrace', 'bprint'), 'ftrace');
    expect(bprint.fieldByName.get('fmt')).toMatchObject({
      type: 'const char *',
      isPointer: true,
      size: 8,
    });
    expect(bprint.fieldByName.get('buf')).toMatchObject({
      type: 'u32',
      size: 0,
      arrayLen: 0,
      elementSize: 0,
      isString: false,
    });
    const sysEnter = parseEventFormat(fixture('raw_syscalls', 'sys_enter'), 'raw_syscalls');
    expect(sysEnter.fieldByName.get('args')).toMatchObject({
      type: 'unsigned long',
      size: 48,
      arrayLen: 6,
      elementSize: 8,
      isLong: true,
    });
  });

  it('rel_loc, legacy 2-byte data_loc and dynamic u32 arrays', () => {
    expect(
      parseFieldLine('\tfield:__rel_loc char[] msg;\toffset:16;\tsize:4;\tsigned:0;', 1, 't'),
    ).toMatchObject({
      name: 'msg',
      dynamic: 'rel_loc',
      isString: true,
    });
    expect(parseFieldLine('\tfield:__data_loc name;\toffset:8;\tsize:2;', 1, 't')).toMatchObject({
      name: 'name',
      dynamic: 'data_loc',
      isString: true,
      signed: false,
    });
    expect(
      parseFieldLine('\tfield:__data_loc u32[] ids;\toffset:8;\tsize:4;\tsigned:0;', 1, 't'),
    ).toMatchObject({
      dynamic: 'data_loc',
      elementSize: 4,
      isString: false,
    });
    expect(
      parseFieldLine('\tfield:u8 mac[TASK_COMM_LEN];\toffset:8;\tsize:6;\tsigned:0;', 1, 't'),
    ).toMatchObject({
      arrayLen: 0,
      isString: true,
    });
  });

  it('header_event', () => {
    const h = parseHeaderEvent(readFileSync(join(CAPTURES, 'header_event'), 'utf8'));
    expect(h.typeLenBits).toBe(5);
    expect(h.timeDeltaBits).toBe(27);
    expect(h.dataMaxTypeLen).toBe(28);
    expect([...h.special]).toEqual([
      ['padding', 29],
      ['time_extend', 30],
      ['time_stamp', 31],
    ]);
  });
});

describeWith('parseEventFormat on the live kernel', [tracefsReadableRequirement()], () => {
  it('parses every events/*/*/format', () => {
    const files = listFormatFiles(join(TRACEFS, 'events'));
    expect(files.length).toBeGreaterThan(500);
    const ids = new Set<number>();
    for (const file of files) {
      checkInvariants(file.text, file.system, file.path);
      const f = parseEventFormat(file.text, file.system, file.path);
      expect(f.name).toBe(file.event);
      ids.add(f.id);
    }
    expect(ids.size).toBe(files.length);
  });

  it('parses the live header_event', () => {
    expect(
      parseHeaderEvent(readFileSync(join(TRACEFS, 'events/header_event'), 'utf8')).typeLenBits,
    ).toBe(5);
  });
});

describe('malformed formats give located DecodeErrors', () => {
  const good = fixture('irq', 'irq_handler_entry');
  const lines = good.split('\n');
  const withLine = (i: number, text: string): string =>
    [...lines.slice(0, i), text, ...lines.slice(i + 1)].join('\n');
  const cases: Array<[string, string, number]> = [
    ['empty', '', 1],
    ['garbage', '\u0000\u0001garbage', 1],
    ['missing name', lines.slice(1).join('\n'), 1],
    ['bad ID', withLine(1, 'ID: twelve'), 2],
    ['huge ID', withLine(1, 'ID: 70000'), 2],
    ['missing format:', withLine(2, 'formats'), 3],
    ['truncated field line', withLine(3, '\tfield:unsigned short common_type;\toffset:0;'), 4],
    ['bad offset', withLine(8, '\tfield:int irq;\toffset:x;\tsize:4;\tsigned:1;'), 9],
    ['offset too big', withLine(8, '\tfield:int irq;\toffset:99999;\tsize:4;\tsigned:1;'), 9],
    ['no field name', withLine(8, '\tfield:;\toffset:8;\tsize:4;\tsigned:1;'), 9],
    ['no print fmt', lines.slice(0, 10).join('\n'), 11],
    ['print fmt misspelt', withLine(11, 'print fnt: "x"'), 12],
    ['three field groups', withLine(9, '\n\tfield:int x;\toffset:20;\tsize:4;\tsigned:1;\n'), 14],
  ];
  it.each(cases)('%s', (_name, text, line) => {
    let err: unknown;
    try {
      parseEventFormat(text, 'irq', 'irq/irq_handler_entry/format');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecodeError);
    const d = err as DecodeError;
    expect(d.kind).toBe('bad-format');
    expect(d.where).toBe('irq/irq_handler_entry/format');
    expect(d.offset).toBe(line);
  });

  it('header_event with wrong bit counts', () => {
    expect(() =>
      parseHeaderEvent('\ttype_len    :    6 bits\n\ttime_delta  :   27 bits\n'),
    ).toThrow(DecodeError);
    expect(() => parseHeaderEvent('nonsense here')).toThrow(/unexpected line/);
  });
});
