/**
 * A started Fanout over a SpySource-wrapped sim (no background events), for the fan-out tests.
 * `cleanup` collects the closers: call them in afterEach.
 */
import {SimSource} from '../../sources/sim/sim-source.ts';
import {Fanout, type FanoutOptions} from '../fanout.ts';
import {SpySource} from './spy-source.ts';

export interface SimFanoutOptions {
  cpus?: number;
  seed?: number;
  windowFrames: number;
  windowBytes: number;
  highWaterBytes: number;
}

export async function startSimFanout(
  o: SimFanoutOptions,
  cleanup: (() => Promise<void>)[],
): Promise<{sim: SimSource; source: SpySource; fan: Fanout}> {
  const sim = new SimSource({source: 'sim', events: [], rate: 0, cpus: o.cpus ?? 2, seed: o.seed});
  const source = new SpySource(sim);
  const opts: FanoutOptions = {
    windowFrames: o.windowFrames,
    windowBytes: o.windowBytes,
    highWaterBytes: o.highWaterBytes,
    statsIntervalMs: 0,
    idleWaitMs: 20,
  };
  const fan = new Fanout(source, await source.open(), opts);
  fan.start();
  cleanup.push(async () => {
    await fan.close();
    await source.close();
  });
  return {sim, source, fan};
}
