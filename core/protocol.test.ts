import {describe, expect, it} from 'vitest';
import {DecodeError} from './errors.ts';
import {randomBytes, seededRandom} from './seeded-random.ts';
import {FrameReader} from './framing.ts';
import {decodeClientFrame, decodeFrame, decodeServerFrame} from './protocol-decode.ts';
import {
  FrameType,
  GapReason,
  MAX_CLIENT_FRAME_BYTES,
  NOTICE_KINDS,
  bytesToHex,
  encodeCaughtUp,
  encodeControl,
  encodeCredit,
  encodeGap,
  encodeHello,
  encodeHelloAck,
  encodeMeta,
  encodeMetadata,
  encodeNotice,
  encodeStats,
  encodeSubbuf,
  caughtUpFrameBytes,
  hexToBytes,
  metaFrameBytes,
  subbufFrameBytes,
  writeCaughtUp,
  writeMeta,
  writeSubbuf,
  type HelloInfo,
  type ServerStats,
  type WireMetadata,
} from './protocol.ts';

const HELLO: HelloInfo = {
  protocol: 1,
  sessionId: 'abc',
  source: 'sim',
  instance: 'ringside-1',
  cpus: [0, 1],
  subbufSize: 4096,
  nrSubbufs: 12,
  traceClock: 'local',
  littleEndian: true,
  server: {name: 'ringside', version: '0.1.0', allowControl: false, windowFrames: 256},
};
const METADATA: WireMetadata = {
  generation: 1,
  headerPage: 'hp',
  headerEvent: 'he',
  formats: [{system: 'sched', name: 'sched_switch', text: 'name: sched_switch\n'}],
  savedCmdlines: '1 init\n',
  traceClock: 'local',
};
const STATS: ServerStats = {
  timeMs: 5,
  clients: 1,
  sourceReads: 2,
  slicesRead: 3,
  bytesRead: 4,
  metasRead: 5,
  client: {
    framesSent: 1,
    bytesSent: 2,
    credits: 3,
    queuedFrames: 4,
    queuedBytes: 5,
    gapSlices: 6,
    gapBytes: 7,
    bufferedAmount: 8,
  },
};

const bytes = randomBytes;
const rng = seededRandom;

describe('protocol round trip', () => {
  it('SUBBUF keeps the raw bytes untouched and 8-byte aligned', () => {
    const raw = bytes(4001);
    const f = encodeSubbuf(3, 17, 2 ** 40 + 5, 96, raw);
    expect(f.length % 8).toBe(0);
    const d = decodeFrame(f);
    expect(d).toMatchObject({
      type: FrameType.SUBBUF,
      cpu: 3,
      subbufId: 17,
      seq: 2 ** 40 + 5,
      from: 96,
    });
    if (d.type !== FrameType.SUBBUF) throw new Error('type');
    expect(Array.from(d.bytes)).toEqual(Array.from(raw));
    expect(d.bytes.byteOffset % 8).toBe(0);
    expect(d.bytes.buffer).toBe(f.buffer); // zero-copy view
  });

  it('SUBBUF with id -1 (read source) and an empty page', () => {
    const d = decodeFrame(encodeSubbuf(0, -1, 0, 0, new Uint8Array(0)));
    expect(d).toMatchObject({subbufId: -1, seq: 0, from: 0});
  });

  it('every other frame type', () => {
    const meta = bytes(80, 2);
    const table: [Uint8Array, object][] = [
      [encodeMeta(1, 1234.5, meta), {type: FrameType.META, cpu: 1, timeMs: 1234.5}],
      [
        encodeGap({
          cpu: 2,
          reason: GapReason.SLOW_CLIENT,
          firstSeq: 10,
          lastSeq: 19,
          slices: 10,
          bytes: 40960,
        }),
        {
          type: FrameType.GAP,
          cpu: 2,
          reason: 1,
          firstSeq: 10,
          lastSeq: 19,
          slices: 10,
          bytes: 40960,
        },
      ],
      [
        encodeNotice('reset', 1, 'buffer reset ✓'),
        {type: FrameType.NOTICE, kind: 'reset', cpu: 1, message: 'buffer reset ✓'},
      ],
      [encodeNotice('end', -1, ''), {type: FrameType.NOTICE, kind: 'end', cpu: -1, message: ''}],
      [encodeCredit(64, 1 << 20), {type: FrameType.CREDIT, frames: 64, bytes: 1 << 20}],
      [encodeHello(HELLO), {type: FrameType.HELLO, hello: HELLO}],
      [encodeMetadata(METADATA), {type: FrameType.METADATA, metadata: METADATA}],
      [encodeStats(STATS), {type: FrameType.STATS, stats: STATS}],
      [
        encodeHelloAck({protocol: 1, includeSymbols: true, client: 't'}),
        {type: FrameType.HELLO_ACK},
      ],
      [
        encodeControl({action: 'clear', args: {cpu: 1}}),
        {type: FrameType.CONTROL, control: {action: 'clear', args: {cpu: 1}}},
      ],
    ];
    for (const [frame, want] of table) {
      expect(frame.length % 8).toBe(0);
      expect(decodeFrame(frame)).toMatchObject(want);
    }
    const m = decodeFrame(encodeMeta(0, 1, meta));
    if (m.type !== FrameType.META) throw new Error('type');
    expect(Array.from(m.bytes)).toEqual(Array.from(meta));
  });

  it('direction checks', () => {
    expect(() => decodeClientFrame(encodeHello(HELLO), MAX_CLIENT_FRAME_BYTES)).toThrow(
      /not a client frame/,
    );
    expect(() => decodeServerFrame(encodeCredit(1, 1))).toThrow(/not a server frame/);
    expect(decodeClientFrame(encodeCredit(1, 1), MAX_CLIENT_FRAME_BYTES).type).toBe(
      FrameType.CREDIT,
    );
  });
});

type Mutate = (f: Uint8Array, v: DataView) => Uint8Array | void;

function badCases(): [string, Uint8Array, Mutate, RegExp, number][] {
  const sb = encodeSubbuf(1, 2, 3, 0, bytes(100));
  const gap = encodeGap({cpu: 0, reason: 1, firstSeq: 1, lastSeq: 2, slices: 2, bytes: 8});
  const cr = encodeCredit(1, 1);
  const no = encodeNotice('error', 0, 'hi');
  const hello = encodeHello(HELLO);
  return [
    ['empty', sb, () => new Uint8Array(0), /cannot hold/, 0],
    ['short header', sb, (f) => f.subarray(0, 7), /cannot hold/, 0],
    ['unknown type', sb, (f) => void (f[0] = 99), /unknown frame type 99/, 0],
    ['version 0', sb, (f) => void (f[1] = 0), /protocol version 0/, 1],
    ['future version', sb, (f) => void (f[1] = 9), /protocol version 9/, 1],
    ['flags', sb, (f) => void (f[2] = 1), /reserved flags/, 2],
    ['length not /8', sb, (_f, v) => v.setUint32(4, 140, true), /multiple of 8/, 4],
    [
      'length differs from message',
      sb,
      (f) => f.subarray(0, 128),
      /differs from the 128-byte message/,
      4,
    ],
    ['subbuf length field too big', sb, (_f, v) => v.setUint32(28, 200, true), /does not match/, 4],
    [
      'subbuf length field too small',
      sb,
      (_f, v) => v.setUint32(28, 80, true),
      /does not match/,
      4,
    ],
    ['subbuf padding', sb, (f) => void (f[f.length - 1] = 1), /padding byte/, sb.length - 1],
    ['subbuf from past bytes', sb, (_f, v) => v.setUint32(24, 101, true), /from 101/, 24],
    ['subbuf id below -1', sb, (_f, v) => v.setInt32(12, -2, true), /id -2/, 12],
    ['subbuf cpu', sb, (_f, v) => v.setUint32(8, 70000, true), /cpu 70000/, 8],
    ['subbuf seq fraction', sb, (_f, v) => v.setFloat64(16, 1.5, true), /seq 1.5/, 16],
    ['subbuf seq NaN', sb, (_f, v) => v.setFloat64(16, NaN, true), /seq NaN/, 16],
    ['subbuf seq negative', sb, (_f, v) => v.setFloat64(16, -1, true), /seq -1/, 16],
    [
      'meta length 0',
      encodeMeta(0, 1, bytes(80)),
      (_f, v) => v.setUint32(12, 0, true),
      /meta length 0/,
      12,
    ],
    [
      'meta time inf',
      encodeMeta(0, 1, bytes(80)),
      (_f, v) => v.setFloat64(16, Infinity, true),
      /not finite/,
      16,
    ],
    ['gap reason', gap, (_f, v) => v.setUint32(12, 7, true), /gap reason 7/, 12],
    ['gap order', gap, (_f, v) => v.setFloat64(16, 5, true), /before first/, 24],
    ['gap slices', gap, (_f, v) => v.setFloat64(32, 5, true), /slices 5/, 32],
    [
      'gap too long',
      gap,
      (f) => {
        const g = new Uint8Array(56);
        g.set(f);
        new DataView(g.buffer).setUint32(4, 56, true);
        return g;
      },
      /does not match/,
      4,
    ],
    ['credit reserved', cr, (_f, v) => v.setUint32(12, 1, true), /reserved word/, 12],
    ['credit bytes negative', cr, (_f, v) => v.setFloat64(16, -4, true), /credit bytes -4/, 16],
    ['notice kind', no, (f) => void (f[8] = 200), /notice kind 200/, 8],
    ['notice reserved', no, (f) => void (f[9] = 1), /reserved bytes/, 9],
    ['notice cpu', no, (_f, v) => v.setInt32(12, -5, true), /cpu -5/, 12],
    ['notice length', no, (_f, v) => v.setUint32(16, 100, true), /runs past/, 16],
    ['notice utf8', no, (f) => void (f[24] = 0xff), /UTF-8/, 24],
    ['json length', hello, (_f, v) => v.setUint32(8, 1e6, true), /JSON length/, 8],
    ['json syntax', hello, (f) => void (f[16] = 0x5b), /does not parse/, 16],
    ['json shape', encodeHello({...HELLO, cpus: [-1]}), () => undefined, /cpus/, 16],
    [
      'json source',
      encodeHello({...HELLO, source: 'nope' as 'sim'}),
      () => undefined,
      /unknown source/,
      16,
    ],
    [
      'json not object',
      encodeStats(7 as unknown as ServerStats),
      () => undefined,
      /not an object/,
      16,
    ],
  ];
}

describe('strict rejection', () => {
  it.each(badCases())('%s', (_name, good, mutate, re, offset) => {
    const f = good.slice();
    const out = mutate(f, new DataView(f.buffer)) ?? f;
    let err: unknown;
    try {
      decodeFrame(out);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecodeError);
    const de = err as DecodeError;
    expect(de.kind).toBe('bad-frame');
    expect(de.detail).toMatch(re);
    expect(de.offset).toBe(offset);
  });

  it('size limit', () => {
    expect(() =>
      decodeClientFrame(encodeControl({action: 'x'.repeat(70000)}), MAX_CLIENT_FRAME_BYTES),
    ).toThrow(/multiple of 8 in 8\.\.65536/);
  });
});

describe('fuzz: garbage never throws anything but DecodeError', () => {
  const seeds = [
    encodeSubbuf(1, 2, 3, 4, bytes(64)),
    encodeMeta(0, 1, bytes(80)),
    encodeGap({cpu: 0, reason: 1, firstSeq: 1, lastSeq: 2, slices: 2, bytes: 8}),
    encodeNotice('reset', 0, 'x'),
    encodeCredit(1, 2),
    encodeHello(HELLO),
    encodeMetadata(METADATA),
    encodeStats(STATS),
    encodeHelloAck({protocol: 1}),
    encodeControl({action: 'a'}),
  ];
  it('mutated valid frames and random bytes', () => {
    const r = rng(42);
    let rejected = 0;
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      let f: Uint8Array;
      if (i % 4 === 0) {
        f = bytes(Math.floor(r() * 80), i + 7);
      } else {
        f = seeds[i % seeds.length].slice();
        const flips = 1 + Math.floor(r() * 4);
        for (let k = 0; k < flips; k++) f[Math.floor(r() * f.length)] = Math.floor(r() * 256);
        if (r() < 0.2) f = f.subarray(0, Math.floor(r() * f.length));
      }
      try {
        decodeFrame(f);
        accepted++;
      } catch (e) {
        if (!(e instanceof DecodeError) || e.kind !== 'bad-frame') throw e;
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(10000);
    expect(accepted).toBeGreaterThan(0); // flips inside raw payloads are legal
  });
});

describe('v1 additions', () => {
  const FULL: HelloInfo = {
    ...HELLO,
    source: 'mmap',
    baselineMetas: [{cpu: 0, timeMs: 17, hex: bytesToHex(bytes(80, 5))}],
    sourceReason: 'mmap: tracefs at /sys/kernel/tracing, kernel 6.18',
    sourceReasonCode: 'ok',
    tracingOn: false,
    server: {...HELLO.server, allowControl: true, controlActions: ['clear', 'tracing-on']},
  };

  it('HELLO with baselineMetas, source reason, tracingOn and controlActions round-trips', () => {
    const d = decodeServerFrame(encodeHello(FULL));
    expect(d).toEqual({type: FrameType.HELLO, hello: FULL});
    if (d.type !== FrameType.HELLO) throw new Error('type');
    expect(Array.from(hexToBytes(d.hello.baselineMetas![0].hex)!)).toEqual(
      Array.from(bytes(80, 5)),
    );
  });

  it('HELLO fields are checked when present', () => {
    const bad: unknown[] = [
      {...FULL, sourceReasonCode: 'because'},
      {...FULL, sourceReason: 5},
      {...FULL, tracingOn: 'yes'},
      {...FULL, baselineMetas: {}},
      {...FULL, baselineMetas: [{cpu: 0, timeMs: 1, hex: 'zz'}]},
      {...FULL, baselineMetas: [{cpu: 0, timeMs: 1, hex: 'abc'}]},
      {...FULL, baselineMetas: [{cpu: -1, timeMs: 1, hex: '00'}]},
      {...FULL, server: {...FULL.server, controlActions: [1]}},
    ];
    for (const h of bad) {
      expect(() => decodeServerFrame(encodeHello(h as HelloInfo))).toThrow(DecodeError);
    }
  });

  it('CAUGHT_UP round-trips and is strict', () => {
    for (const cpus of [[], [0], [3, 1, 65535]]) {
      const f = encodeCaughtUp(cpus);
      expect(f.length % 8).toBe(0);
      expect(decodeServerFrame(f)).toEqual({type: FrameType.CAUGHT_UP, cpus});
    }
    const f = encodeCaughtUp([1, 2]);
    const v = new DataView(f.buffer);
    v.setUint32(8, 3, true); // count runs past the frame
    expect(() => decodeServerFrame(f)).toThrow(/runs past/);
    const g = encodeCaughtUp([1]);
    new DataView(g.buffer).setUint32(16, 70000, true);
    expect(() => decodeServerFrame(g)).toThrow(/cpu 70000/);
    expect(() => decodeClientFrame(encodeCaughtUp([0]), MAX_CLIENT_FRAME_BYTES)).toThrow(
      /not a client frame/,
    );
  });

  it('control-ok and control-failed notices, CONTROL with an id', () => {
    for (const kind of ['control-ok', 'control-failed'] as const) {
      expect(decodeServerFrame(encodeNotice(kind, -1, '#c1 clear: done'))).toMatchObject({
        kind,
        message: '#c1 clear: done',
      });
    }
    // The old kinds keep their wire values.
    expect(NOTICE_KINDS.indexOf('server-shutdown')).toBe(8);
    const c = {action: 'enable-event', args: {event: 'sched'}, id: 'c7'};
    expect(decodeClientFrame(encodeControl(c), MAX_CLIENT_FRAME_BYTES)).toEqual({
      type: FrameType.CONTROL,
      control: c,
    });
    expect(() =>
      decodeClientFrame(encodeControl({action: 'clear', id: 5} as never), MAX_CLIENT_FRAME_BYTES),
    ).toThrow(/'id'/);
  });

  it('hex helpers refuse what is not hex of whole bytes', () => {
    expect(hexToBytes('0aff')).toEqual(new Uint8Array([10, 255]));
    expect(hexToBytes('0af')).toBeUndefined();
    expect(hexToBytes('0g')).toBeUndefined();
    expect(bytesToHex(new Uint8Array([0, 1, 171]))).toBe('0001ab');
  });
});

describe('multi-frame messages (v1 addition)', () => {
  it('HELLO_ACK multiFrame round-trips and must be a boolean', () => {
    const ack = {protocol: 1, multiFrame: true, client: 'x'};
    expect(decodeClientFrame(encodeHelloAck(ack), MAX_CLIENT_FRAME_BYTES)).toEqual({
      type: FrameType.HELLO_ACK,
      ack,
    });
    expect(() =>
      decodeClientFrame(
        encodeHelloAck({protocol: 1, multiFrame: 1} as never),
        MAX_CLIENT_FRAME_BYTES,
      ),
    ).toThrow(/'multiFrame'/);
  });

  it('write* lay frames back to back, byte-identical to encode*, and they split again', () => {
    const page = bytes(4000, 9);
    const meta = bytes(80, 3);
    const sizes = [subbufFrameBytes(page.length), metaFrameBytes(80), caughtUpFrameBytes(2)];
    const msg = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
    const a = writeSubbuf(msg, 0, 1, 7, 42, 16, page);
    const b = writeMeta(msg, a.length, 1, 1234.5, meta);
    const c = writeCaughtUp(msg, a.length + b.length, [0, 1]);
    expect(a.length + b.length + c.length).toBe(msg.length);
    expect(Array.from(a)).toEqual(Array.from(encodeSubbuf(1, 7, 42, 16, page)));
    expect(Array.from(b)).toEqual(Array.from(encodeMeta(1, 1234.5, meta)));
    expect(Array.from(c)).toEqual(Array.from(encodeCaughtUp([0, 1])));
    // One message, three frames: each comes back as a view of the message, and decodes.
    const fr = new FrameReader();
    fr.append(msg);
    const got: Uint8Array[] = [];
    for (let m = fr.readMessage(); m; m = fr.readMessage()) got.push(m);
    expect(got.map((g) => g.length)).toEqual(sizes);
    for (const g of got) expect(g.buffer).toBe(msg.buffer);
    expect(got.map((g) => decodeServerFrame(g).type)).toEqual([
      FrameType.SUBBUF,
      FrameType.META,
      FrameType.CAUGHT_UP,
    ]);
    // A whole multi-frame message is not one frame: the strict decoder says so.
    expect(() => decodeServerFrame(msg)).toThrow(/differs from the/);
  });
});
