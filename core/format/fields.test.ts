import {describe, expect, it} from 'vitest';
import {DecodeError} from '../errors.ts';
import {parseEventFormat} from './event-format.ts';
import {
  decodeCommonFlags,
  fieldBytes,
  fieldDataLength,
  fieldDataOffset,
  latencyFlags,
  readFieldArray,
  readFieldInt,
  readFieldString,
  readFieldU64,
  recordRef,
} from './fields.ts';
import {buildRecord} from './testing/record-builder.ts';

const FORMAT = `name: demo
ID: 900
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:s8 i8;\toffset:8;\tsize:1;\tsigned:1;
\tfield:u8 u8v;\toffset:9;\tsize:1;\tsigned:0;
\tfield:short i16;\toffset:10;\tsize:2;\tsigned:1;
\tfield:int i32;\toffset:12;\tsize:4;\tsigned:1;
\tfield:unsigned int u32v;\toffset:16;\tsize:4;\tsigned:0;
\tfield:long i64;\toffset:24;\tsize:8;\tsigned:1;
\tfield:unsigned long u64v;\toffset:32;\tsize:8;\tsigned:0;
\tfield:void * ptr;\toffset:40;\tsize:8;\tsigned:0;
\tfield:char comm[8];\toffset:48;\tsize:8;\tsigned:0;
\tfield:u16 ids[3];\toffset:56;\tsize:6;\tsigned:0;
\tfield:__data_loc char[] name;\toffset:64;\tsize:4;\tsigned:0;
\tfield:__rel_loc char[] rel;\toffset:68;\tsize:4;\tsigned:0;
\tfield:__data_loc u32[] nums;\toffset:72;\tsize:4;\tsigned:0;
\tfield:char buf[];\toffset:76;\tsize:0;\tsigned:0;

print fmt: "x"
`;
const ev = parseEventFormat(FORMAT, 'demo');
const f = (n: string) => ev.fieldByName.get(n)!;

describe('readField* on hand-built records', () => {
  for (const le of [true, false]) {
    describe(le ? 'little-endian' : 'big-endian', () => {
      const {bytes, len} = buildRecord(
        ev,
        {
          i8: -5,
          u8v: 250,
          i16: -300,
          i32: -70000,
          u32v: 0xfffffffe,
          i64: -2n,
          u64v: 0xffffffffffffffffn,
          ptr: 0xffffffff81000000n,
          comm: 'bash',
          ids: le ? Uint8Array.of(1, 0, 2, 0, 3, 0) : Uint8Array.of(0, 1, 0, 2, 0, 3),
          name: 'eth0',
          rel: 'relative',
          nums: le ? Uint8Array.of(7, 0, 0, 0, 8, 0, 0, 0) : Uint8Array.of(0, 0, 0, 7, 0, 0, 0, 8),
        },
        {littleEndian: le},
      );
      const rec = recordRef(bytes, 0, len, le);
      it.each<[string, number | bigint]>([
        ['i8', -5],
        ['u8v', 250],
        ['i16', -300],
        ['i32', -70000],
        ['u32v', 0xfffffffe],
        ['i64', -2],
        ['u64v', 0xffffffffffffffffn],
        ['ptr', 0xffffffff81000000n],
        ['common_type', 900],
      ])('%s', (name, want) => {
        expect(readFieldInt(rec, f(name))).toBe(want);
      });
      it('64-bit values are exact numbers up to 2^53, bigints beyond', () => {
        const small = buildRecord(ev, {u64v: 2 ** 53 - 1, i64: -(2 ** 53 - 1)}, {littleEndian: le});
        const r = recordRef(small.bytes, 0, small.len, le);
        expect(readFieldInt(r, f('u64v'))).toBe(2 ** 53 - 1);
        expect(readFieldInt(r, f('i64'))).toBe(-(2 ** 53 - 1));
        expect(readFieldU64(r, f('i64'))).toBe(2n ** 64n - (2n ** 53n - 1n));
      });
      it('strings, arrays and dynamic data', () => {
        expect(readFieldString(rec, f('comm'))).toBe('bash');
        expect(readFieldArray(rec, f('ids'))).toEqual([1, 2, 3]);
        expect(readFieldString(rec, f('name'))).toBe('eth0');
        expect(fieldDataLength(rec, f('name'))).toBe(5);
        expect(readFieldString(rec, f('rel'))).toBe('relative');
        // rel_loc offsets count from the end of the field (68 + 4)
        expect(fieldDataOffset(rec, f('rel'))).toBeGreaterThan(72);
        expect(readFieldArray(rec, f('nums'))).toEqual([7, 8]);
        expect(fieldBytes(rec, f('buf')).length).toBe(len - 76);
      });
    });
  }

  it('legacy 2-byte __data_loc runs to the record end', () => {
    const legacy = parseEventFormat(
      FORMAT.replace(
        '\tfield:__data_loc char[] name;\toffset:64;\tsize:4;',
        '\tfield:__data_loc char[] name;\toffset:64;\tsize:2;',
      ),
      'demo',
    );
    const bytes = new Uint8Array(96);
    new DataView(bytes.buffer).setUint16(64, 80, true);
    bytes.set([104, 105, 0], 80);
    const rec = recordRef(bytes, 0, 96);
    const name = legacy.fieldByName.get('name')!;
    expect(name.isString).toBe(true);
    expect(fieldDataOffset(rec, name)).toBe(80);
    expect(fieldDataLength(rec, name)).toBe(16);
    expect(readFieldString(rec, name)).toBe('hi');
  });

  it('records inside a bigger buffer (payload offset)', () => {
    const {bytes, len} = buildRecord(ev, {i32: 1234, name: 'x'});
    const big = new Uint8Array(len + 100);
    big.set(bytes, 37);
    const rec = recordRef(big, 37, len);
    expect(readFieldInt(rec, f('i32'))).toBe(1234);
    expect(readFieldString(rec, f('name'))).toBe('x');
  });

  it('out-of-range reads are typed errors, never reads of the next record', () => {
    const {bytes, len} = buildRecord(ev, {name: 'abc'});
    const short = recordRef(bytes, 0, 20);
    expect(() => readFieldInt(short, f('i64'))).toThrow(DecodeError);
    const bad = bytes.slice();
    new DataView(bad.buffer).setUint32(64, (200 << 16) | 80, true); // 200 bytes at 80
    const r = recordRef(bad, 0, len);
    let err: unknown;
    try {
      readFieldString(r, f('name'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).kind).toBe('short-input');
    expect((err as DecodeError).where).toBe('field name');
    expect(() => recordRef(bytes, 10, bytes.length)).toThrow(DecodeError);
  });
});

describe('common_flags', () => {
  it.each<[number, string[]]>([
    [0x00, []],
    [0x01, ['IRQS_OFF']],
    [0x09, ['IRQS_OFF', 'HARDIRQ']],
    [0x14, ['NEED_RESCHED', 'SOFTIRQ']],
    [0xc2, ['NEED_RESCHED_LAZY', 'NMI', 'BH_OFF']],
  ])('0x%s', (flags, names) => {
    expect(decodeCommonFlags(flags)).toEqual(names);
  });
  it.each<[number, number, string]>([
    [0x00, 0, '.....'],
    [0x01, 0, 'd....'],
    [0x09, 1, 'd.h1.'],
    [0x10, 0x12, '..s21'],
    [0x0c, 0, '.Nh..'],
    [0x18, 0, '..H..'],
    [0x02, 0, 'X....'],
    [0x80, 0, '.....'],
  ])('latency flags 0x%s pc %s', (flags, pc, want) => {
    expect(latencyFlags(flags, pc)).toBe(want);
  });
});
