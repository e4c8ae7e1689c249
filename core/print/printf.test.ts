import {describe, expect, it} from 'vitest';
import {formatInt, formatPlainPointer, formatString, parseConv} from './printf.ts';

// Expected values are what glibc printf prints for the same conversion and C argument.
describe('formatInt', () => {
  it.each<[string, bigint, number, string]>([
    ['%d', 0xfffffffen, 32, '-2'],
    ['%u', 0xfffffffen, 32, '4294967294'],
    ['%d', 0x1fffffffen, 32, '-2'],
    ['%ld', 0xffffffffffffffffn, 64, '-1'],
    ['%lu', 0xffffffffffffffffn, 64, '18446744073709551615'],
    ['%llx', 0xdeadbeefcafen, 64, 'deadbeefcafe'],
    ['%X', 255n, 32, 'FF'],
    ['%#x', 255n, 32, '0xff'],
    ['%#x', 0n, 32, '0'],
    ['%#X', 255n, 32, '0XFF'],
    ['%o', 8n, 32, '10'],
    ['%#o', 8n, 32, '010'],
    ['%#o', 0n, 32, '0'],
    ['%5d', 42n, 32, '   42'],
    ['%-5d|', 42n, 32, '42   '],
    ['%05d', -42n, 32, '-0042'],
    ['%05x', 0xabn, 32, '000ab'],
    ['%#08x', 0xabn, 32, '0x0000ab'],
    ['%.3d', 7n, 32, '007'],
    ['%.0d', 0n, 32, ''],
    ['%8.3d', -7n, 32, '    -007'],
    ['%08.3d', 7n, 32, '     007'],
    ['%+d', 7n, 32, '+7'],
    ['% d', 7n, 32, ' 7'],
    ['%hhd', 200n, 8, '-56'],
    ['%hu', 70000n, 16, '4464'],
    ['%#016lx', 0x28f6n, 64, '0x000000000028f6'],
    ['%c', 65n, 32, 'A'],
    ['%3c', 66n, 32, '  B'],
  ])('%s of %s (%s-bit)', (conv, v, bits, want) => {
    const c = conv.endsWith('|') ? conv.slice(0, -1) : conv;
    expect(formatInt(parseConv(c), v, bits)).toBe(want);
  });

  it('* width and precision', () => {
    expect(formatInt(parseConv('%*d'), 5n, 32, 4)).toBe('   5');
    expect(formatInt(parseConv('%*d'), 5n, 32, -4)).toBe('5   ');
    expect(formatInt(parseConv('%.*d'), 5n, 32, 3)).toBe('005');
  });
});

describe('formatString', () => {
  it.each<[string, string, number, string]>([
    ['%s', 'abc', 0, 'abc'],
    ['%5s', 'abc', 0, '  abc'],
    ['%-5s', 'abc', 0, 'abc  '],
    ['%.2s', 'abc', 0, 'ab'],
    ['%5.1s', 'abc', 0, '    a'],
    ['%.*s', 'abcdef', 3, 'abc'],
    ['%*s', 'ab', 4, '  ab'],
    ['%*s', 'ab', -4, 'ab  '],
    ['%s', '', 0, ''],
  ])('%s of %j', (conv, s, star, want) => {
    expect(formatString(parseConv(conv), s, star)).toBe(want);
  });
});

describe('formatPlainPointer', () => {
  it('prints (nil) for 0 and 0x-hex otherwise, like glibc %p', () => {
    expect(formatPlainPointer(0n)).toBe('(nil)');
    expect(formatPlainPointer(0xffff888004a3c000n)).toBe('0xffff888004a3c000');
  });
});
