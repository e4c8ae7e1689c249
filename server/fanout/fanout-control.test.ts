import {afterEach, describe, expect, it} from 'vitest';
import {
  FrameType,
  encodeControl,
  encodeCredit,
  encodeHelloAck,
  hexToBytes,
  type ControlRequest,
} from '../../core/protocol.ts';
import {SimSource} from '../sources/sim/sim-source.ts';
import type {
  SourceBatch,
  SourceControlRequest,
  SourceControlResult,
  SourceMetadata,
  SourceNotice,
} from '../sources/source.ts';
import {Fanout, type FanoutOptions} from './fanout.ts';
import {MemorySink, SpySource, until} from './testing/spy-source.ts';

const ACK = encodeHelloAck({protocol: 1});
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

/** A sim source that also has the optional control, poll and caught-up parts of TraceSource. */
class ControllableSpy extends SpySource {
  calls: SourceControlRequest[] = [];
  result: SourceControlResult = {ok: true, message: 'done'};
  actions = ['enable-event', 'disable-event', 'tracing-on', 'tracing-off', 'clear'];
  attachedOnly = false;
  polled: SourceNotice[] = [];
  pollCount = 0;
  caughtUp: number[] | undefined;
  controlActions(attachedAllowed: boolean): string[] {
    return this.attachedOnly && !attachedAllowed ? [] : this.actions;
  }
  async control(req: SourceControlRequest): Promise<SourceControlResult> {
    this.calls.push(req);
    return this.result;
  }
  pollNotices(): SourceNotice[] {
    this.pollCount++;
    return this.polled.splice(0);
  }
  override read(max: number): SourceBatch {
    const b = super.read(max);
    if (this.caughtUp) b.caughtUp = this.caughtUp;
    return b;
  }
}

async function setup(opts: FanoutOptions = {}, meta: Partial<SourceMetadata> = {}) {
  const sim = new SimSource({source: 'sim', events: [], rate: 0, cpus: 2, seed: 3});
  const source = new ControllableSpy(sim);
  const m = {...(await source.open()), ...meta};
  const fan = new Fanout(source, m, {
    windowFrames: 16,
    statsIntervalMs: 0,
    idleWaitMs: 20,
    noticePollMs: 20,
    ...opts,
  });
  fan.start();
  cleanup.push(async () => {
    await fan.close();
    await source.close();
  });
  return {sim, source, fan};
}

function join(fan: Fanout, sink = new MemorySink(), credits = 0): {sink: MemorySink; id: number} {
  const id = fan.addClient(sink);
  fan.handleMessage(id, ACK);
  if (credits) fan.handleMessage(id, encodeCredit(credits, 1 << 30));
  return {sink, id};
}

function control(fan: Fanout, id: number, c: ControlRequest): void {
  fan.handleMessage(id, encodeControl(c));
}

async function answer(sink: MemorySink, n = 1) {
  await until(
    () => sink.of(FrameType.NOTICE).filter((x) => x.kind.startsWith('control-')).length >= n,
    5000,
    'control answer',
  );
  return sink.of(FrameType.NOTICE).filter((x) => x.kind.startsWith('control-'))[n - 1];
}

describe('CONTROL in the fan-out', () => {
  it('without --allow-control: HELLO says so and every action is denied, nothing runs', async () => {
    const {source, fan} = await setup({allowControl: false});
    const {sink, id} = join(fan);
    const hello = sink.of(FrameType.HELLO)[0].hello;
    expect(hello.server).toMatchObject({allowControl: false, controlActions: []});
    for (const action of ['tracing-off', 'clear', 'enable-event']) {
      control(fan, id, {action, args: {event: 'sched'}, id: action});
    }
    const last = await answer(sink, 3);
    const answers = sink.of(FrameType.NOTICE).filter((x) => x.kind.startsWith('control-'));
    expect(answers.map((a) => a.kind)).toEqual([
      'control-denied',
      'control-denied',
      'control-denied',
    ]);
    expect(last.message).toBe(
      '#enable-event enable-event: control is not allowed (start the server with --allow-control)',
    );
    expect(source.calls).toEqual([]);
  });

  it('with --allow-control: runs listed actions and answers ok / failed with the request id', async () => {
    const {source, fan} = await setup({allowControl: true});
    const {sink, id} = join(fan);
    expect(sink.of(FrameType.HELLO)[0].hello.server).toMatchObject({
      allowControl: true,
      controlActions: source.actions,
    });
    control(fan, id, {action: 'tracing-off', id: 'a1'});
    expect(await answer(sink, 1)).toMatchObject({
      kind: 'control-ok',
      cpu: -1,
      message: '#a1 tracing-off: done',
    });
    expect(source.calls).toEqual([{action: 'tracing-off', args: {}}]);
    source.result = {ok: false, message: 'EACCES'};
    control(fan, id, {action: 'clear'});
    expect(await answer(sink, 2)).toMatchObject({kind: 'control-failed', message: 'clear: EACCES'});
    control(fan, id, {action: 'format-disk'});
    expect((await answer(sink, 3)).kind).toBe('control-denied');
    // buffer-size is a known action but this (mmap-like) source does not list it.
    control(fan, id, {action: 'buffer-size', args: {kb: 64}});
    expect(await answer(sink, 4)).toMatchObject({kind: 'control-denied'});
    expect(source.calls).toHaveLength(2);
  });

  it('changed events: a new METADATA generation for every active client', async () => {
    const {source, fan} = await setup({allowControl: true});
    const a = join(fan);
    const b = join(fan);
    await until(() => b.sink.of(FrameType.METADATA).length === 1, 5000, 'first METADATA');
    source.result = {
      ok: true,
      message: 'enabled 1 event (sched:sched_switch)',
      metadataChanged: true,
    };
    control(fan, a.id, {action: 'enable-event', args: {event: 'sched:sched_switch'}});
    for (const s of [a.sink, b.sink]) {
      await until(() => s.of(FrameType.METADATA).length === 2, 5000, 'second METADATA');
      expect(s.of(FrameType.METADATA).map((m) => m.metadata.generation)).toEqual([1, 2]);
      expect(s.of(FrameType.NOTICE).some((n) => n.kind === 'metadata-changed')).toBe(true);
    }
    expect(source.calls[0]).toEqual({action: 'enable-event', args: {event: 'sched:sched_switch'}});
  });

  it('attached instance: denied unless --allow-control-attached; top level: never', async () => {
    const attached = await setup({allowControl: true}, {instance: 'theirs'});
    attached.source.attachedOnly = true;
    const c = join(attached.fan);
    expect(c.sink.of(FrameType.HELLO)[0].hello.server.allowControl).toBe(false);
    control(attached.fan, c.id, {action: 'clear'});
    expect((await answer(c.sink)).message).toMatch(/--allow-control-attached/);
    expect(attached.source.calls).toEqual([]);

    const allowed = await setup({allowControl: true, allowControlAttached: true}, {instance: 'x'});
    allowed.source.attachedOnly = true;
    const d = join(allowed.fan);
    control(allowed.fan, d.id, {action: 'clear'});
    expect((await answer(d.sink)).kind).toBe('control-ok');

    const top = await setup({allowControl: true, allowControlAttached: true}, {instance: ''});
    top.source.actions = [];
    const t = join(top.fan);
    control(top.fan, t.id, {action: 'clear'});
    expect((await answer(t.sink)).message).toMatch(/top level/);
    expect(top.source.calls).toEqual([]);
  });
});

describe('notices, HELLO additions and CAUGHT_UP', () => {
  it('source notices reach every client while nobody holds credits; HELLO tracks tracing_on', async () => {
    const {source, fan} = await setup({}, {tracingOn: true});
    const a = join(fan); // no credits: nothing is read
    const b = fan.addClient(new MemorySink()); // no HELLO_ACK either
    const bSink = fan.clientQueue(b)!.sink as MemorySink;
    expect(a.sink.of(FrameType.HELLO)[0].hello.tracingOn).toBe(true);
    source.polled.push({kind: 'tracing-off', message: 'tracing_on is 0'});
    for (const s of [a.sink, bSink]) {
      await until(() => s.of(FrameType.NOTICE).length > 0, 5000, 'notice');
      expect(s.of(FrameType.NOTICE)[0]).toMatchObject({kind: 'tracing-off', cpu: -1});
    }
    expect(source.reads).toBe(0);
    const late = join(fan);
    expect(late.sink.of(FrameType.HELLO)[0].hello.tracingOn).toBe(false);
    // The same change seen twice (poll, then a read) is told once.
    source.polled.push({kind: 'tracing-off', message: 'again'});
    await until(() => source.polled.length === 0, 5000, 'poll');
    await new Promise((r) => setTimeout(r, 50));
    expect(a.sink.of(FrameType.NOTICE)).toHaveLength(1);
  });

  it('HELLO carries the source reason and the baseline meta pages', async () => {
    const meta = new Uint8Array(80).map((_, i) => i);
    const {fan} = await setup(
      {sourceReason: 'sim: tracefs not mounted', sourceReasonCode: 'no-tracefs'},
      {baselineMetas: [{cpu: 1, timeMs: 5, bytes: meta}]},
    );
    const {sink} = join(fan);
    const h = sink.of(FrameType.HELLO)[0].hello;
    expect(h).toMatchObject({
      sourceReason: 'sim: tracefs not mounted',
      sourceReasonCode: 'no-tracefs',
    });
    expect(h.baselineMetas).toHaveLength(1);
    expect(h.baselineMetas![0]).toMatchObject({cpu: 1, timeMs: 5});
    expect(Array.from(hexToBytes(h.baselineMetas![0].hex)!)).toEqual(Array.from(meta));
  });

  it('CAUGHT_UP follows each read that delivered data, and once more after the last', async () => {
    const {sim, source, fan} = await setup();
    source.caughtUp = [0, 1];
    const {sink} = join(fan, new MemorySink(), 1000);
    await new Promise((r) => setTimeout(r, 100));
    expect(sink.of(FrameType.CAUGHT_UP)).toHaveLength(0); // nothing delivered yet
    sim.writeMarker(0, 'a');
    sim.writeMarker(1, 'b');
    await until(() => sink.of(FrameType.CAUGHT_UP).length >= 2, 5000, 'CAUGHT_UP');
    await new Promise((r) => setTimeout(r, 100));
    const types = sink.frames.map((f) => f.type);
    const firstSub = types.indexOf(FrameType.SUBBUF);
    const firstCaught = types.indexOf(FrameType.CAUGHT_UP);
    expect(firstSub).toBeGreaterThan(-1);
    expect(firstCaught).toBeGreaterThan(firstSub);
    expect(sink.of(FrameType.CAUGHT_UP).length).toBe(2);
    expect(sink.of(FrameType.CAUGHT_UP)[0].cpus).toEqual([0, 1]);
  });
});
