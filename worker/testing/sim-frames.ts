/**
 * Test helper: a SimSource whose reads come out as the server frames a client would receive
 * (HELLO, METADATA, then SUBBUF and META), without a server in between.
 */
import {
  encodeHello,
  encodeMeta,
  encodeMetadata,
  encodeSubbuf,
  type HelloInfo,
} from '../../core/protocol.ts';
import {SimSource} from '../../server/sources/sim/sim-source.ts';

export interface SimFramesOptions {
  cpus?: number;
  bufferKb?: number;
  seed?: number;
  session?: string;
}

export async function simFrames(o: SimFramesOptions = {}) {
  const sim = new SimSource({
    source: 'sim',
    events: [],
    rate: 0,
    cpus: o.cpus ?? 2,
    bufferKb: o.bufferKb ?? 64,
    seed: o.seed ?? 9,
  });
  const m = await sim.open();
  const hello: HelloInfo = {
    protocol: 1,
    sessionId: o.session ?? 's1',
    source: 'sim',
    cpus: m.cpus,
    subbufSize: m.subbufSize,
    nrSubbufs: m.nrSubbufs,
    traceClock: m.traceClock,
    littleEndian: true,
    server: {name: 'ringside', version: 't', allowControl: false, windowFrames: 1},
  };
  /** HELLO and METADATA, as a new connection gets them. */
  const opening: Uint8Array[] = [
    encodeHello(hello),
    encodeMetadata({
      generation: 1,
      headerPage: m.headerPage,
      headerEvent: m.headerEvent,
      formats: m.formats,
      savedCmdlines: '',
      traceClock: 'local',
    }),
  ];
  /** Read everything the source has now, in batches of `batch`, as frames. */
  const drain = (batch = 7): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (;;) {
      const b = sim.read(batch);
      for (const s of b.slices) out.push(encodeSubbuf(s.cpu, s.subbufId, s.seq, s.from, s.bytes));
      for (const x of b.metas) out.push(encodeMeta(x.cpu, x.timeMs, x.bytes));
      if (b.slices.length === 0) return out;
    }
  };
  return {sim, hello, opening, drain};
}
