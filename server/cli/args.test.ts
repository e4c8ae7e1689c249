import {describe, expect, it} from 'vitest';
import {UsageError, parseServeArgs, parseTailArgs, sourceOptions} from './args.ts';

describe('serve arguments', () => {
  it('defaults', () => {
    expect(parseServeArgs([])).toEqual({
      source: 'auto',
      events: [],
      host: '127.0.0.1',
      port: 7680,
      allowControl: false,
      allowControlAttached: false,
      open: true,
      build: true,
      help: false,
    });
  });

  it('--allow-control-attached implies --allow-control', () => {
    expect(parseServeArgs(['--allow-control-attached'])).toMatchObject({
      allowControl: true,
      allowControlAttached: true,
    });
    expect(parseServeArgs(['--allow-control'])).toMatchObject({
      allowControl: true,
      allowControlAttached: false,
    });
  });

  it('every option, both spellings', () => {
    const a = parseServeArgs([
      '--source=mmap',
      '--instance',
      '',
      '-e',
      'sched',
      '--event=irq:irq_handler_entry',
      '--buffer-kb',
      '64',
      '--subbuf-kb=8',
      '--host',
      '0.0.0.0',
      '--port',
      '0',
      '--token',
      'abcdefgh1234',
      '--allow-control',
      '--no-open',
      '--seed',
      '5',
    ]);
    expect(a).toMatchObject({
      source: 'mmap',
      instance: '',
      events: ['sched', 'irq:irq_handler_entry'],
      bufferKb: 64,
      subbufKb: 8,
      host: '0.0.0.0',
      port: 0,
      token: 'abcdefgh1234',
      allowControl: true,
      open: false,
      seed: 5,
    });
    expect(sourceOptions(a)).toEqual({
      source: 'mmap',
      events: ['sched', 'irq:irq_handler_entry'],
      instance: '',
      bufferKb: 64,
      subbufKb: 8,
      seed: 5,
    });
  });

  it('--no-self-filter: the own instance traces the server too (serve and tail)', () => {
    const a = parseServeArgs(['--no-self-filter']);
    expect(a.traceSelf).toBe(true);
    expect(sourceOptions(a)).toMatchObject({traceSelf: true});
    expect(parseServeArgs([]).traceSelf).toBeUndefined();
    expect(sourceOptions(parseServeArgs([]))).not.toHaveProperty('traceSelf');
    expect(parseTailArgs(['--no-self-filter']).traceSelf).toBe(true);
    expect(() => parseServeArgs(['--no-self-filter=1'])).toThrow(UsageError);
  });

  it('--replay implies the replay source', () => {
    expect(parseServeArgs(['--replay', 'x.dat', '--speed', '2.5'])).toMatchObject({
      source: 'replay',
      replayFile: 'x.dat',
      speed: 2.5,
    });
  });

  it.each([
    [['--source', 'nope'], /--source must be/],
    [['--port', '70000'], /above 65535/],
    [['--port', 'x'], /--port needs an integer/],
    [['--port'], /--port needs a value/],
    [['--buffer-kb', '0'], /≥ 1/],
    [['--token', 'short'], /at least 8/],
    [['--bogus'], /unknown option '--bogus'/],
    [['stray'], /unexpected argument 'stray'/],
    [['--source', 'replay'], /needs --replay FILE/],
    [['--no-open=1'], /takes no value/],
  ])('%j is refused', (argv, re) => {
    expect(() => parseServeArgs(argv)).toThrow(UsageError);
    expect(() => parseServeArgs(argv)).toThrow(re);
  });
});

describe('tail arguments', () => {
  it('URL, count, duration and source options', () => {
    expect(
      parseTailArgs(['http://127.0.0.1:7680/?token=abc', '--count', '10', '--duration', '1.5']),
    ).toEqual({
      source: 'auto',
      events: [],
      url: 'http://127.0.0.1:7680/?token=abc',
      count: 10,
      durationS: 1.5,
      help: false,
    });
    expect(parseTailArgs(['--source', 'sim', '-e', 'sched'])).toMatchObject({
      source: 'sim',
      events: ['sched'],
    });
  });

  it('--cpu takes trace-cmd lists, repeatable, without repeats', () => {
    expect(parseTailArgs(['--cpu', '0,2-3', '--cpu=3:5']).cpus).toEqual([0, 2, 3, 5]);
    expect(parseTailArgs([]).cpus).toBeUndefined();
  });

  it.each([
    [['ws://x'], /must start with http/],
    [['http://a', 'http://b'], /unexpected argument/],
    [['--count', '0'], /≥ 1/],
    [['--duration', '-1'], /≥ 0/],
    [['--cpu', '1,x'], /invalid cpu list '1,x'/],
    [['--cpu', '3-1'], /lower to greater/],
    [['--cpu', '70000'], /beyond the 65536 CPUs/],
  ])('%j is refused', (argv, re) => {
    expect(() => parseTailArgs(argv)).toThrow(re);
  });
});
