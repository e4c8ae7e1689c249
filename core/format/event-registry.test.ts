import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {describe, expect, it} from 'vitest';
import {DecodeError} from '../errors.ts';
import {EventRegistry} from './event-registry.ts';

const CAPTURES = join(import.meta.dirname, '../testing/fixtures/captures');

describe('EventRegistry', () => {
  const reg = new EventRegistry({longSize: 8, littleEndian: true});
  const text = readFileSync(join(CAPTURES, 'formats/sched/sched_switch/format'), 'utf8');
  const f = reg.addFormatText(text, 'sched');

  it('finds formats by id and name', () => {
    expect(reg.byId(372)).toBe(f);
    expect(reg.byName('sched', 'sched_switch')).toBe(f);
    expect(reg.byName('irq', 'sched_switch')).toBeUndefined();
    expect(reg.all()).toEqual([f]);
  });

  it('re-adding an id replaces the old format', () => {
    const r = new EventRegistry({longSize: 8, littleEndian: true});
    r.addFormatText(text, 'sched');
    const renamed = r.addFormatText(text.replace('name: sched_switch', 'name: other'), 'sched');
    expect(r.byId(372)).toBe(renamed);
    expect(r.byName('sched', 'sched_switch')).toBeUndefined();
  });

  it('reports bad formats with their location', () => {
    expect(() =>
      reg.addFormatText('name: x\nID: 1\nformat:\n\tfield:int;\n', 'x', 'x/format'),
    ).toThrow(DecodeError);
  });

  it('kallsyms: containing symbol, offsets, exact match only past the last symbol', () => {
    const r = new EventRegistry({longSize: 8, littleEndian: true});
    const bad = r.setKallsyms(
      [
        'ffffffff81000000 T _stext',
        'ffffffff81000100 t helper\t[mymod]',
        '0000000000001000 A fixed_percpu_data',
        'ffffffff81000100 T alias_later',
        'garbage line',
        'ffffffff81000200 T last_sym',
      ].join('\n'),
    );
    expect(bad).toBe(1);
    expect(r.lookupSymbol(0xffffffff81000000n)).toEqual({name: '_stext', offset: 0});
    expect(r.lookupSymbol(0xffffffff81000010n)).toEqual({name: '_stext', offset: 0x10});
    // same address: the later line wins when the lookup lands past it (libtraceevent order)
    expect(r.lookupSymbol(0xffffffff81000150n)?.offset).toBe(0x50);
    expect(r.lookupSymbol(0xffffffff81000200n)).toEqual({name: 'last_sym', offset: 0});
    expect(r.lookupSymbol(0xffffffff81000201n)).toBeUndefined();
    expect(r.lookupSymbol(0x1000n)).toBeUndefined(); // 'A' symbols are skipped
    expect(r.lookupSymbol(0x10)).toBeUndefined();
    expect(r.symbolAddress('last_sym')).toBe(0xffffffff81000200n);
  });

  it('printk formats and cmdlines', () => {
    const r = new EventRegistry({longSize: 8, littleEndian: true});
    r.setPrintkFormats(
      '0xffffffff82000000 : "hello %d\\n"\n0xffffffff82000010 : "two\\tparts"\nbad\n',
    );
    expect(r.printkFormat(0xffffffff82000000n)).toBe('hello %d');
    expect(r.printkFormat(0xffffffff82000010n)).toBe('two\\tparts');
    expect(r.printkFormat(0x1234)).toBeUndefined();
    r.setCmdlines(readFileSync(join(CAPTURES, 'saved_cmdlines'), 'utf8'));
    r.setCmdlines('42 Web Content\n');
    expect(r.comm(42)).toBe('Web Content');
    expect(r.comm(-5)).toBeUndefined();
  });
});
