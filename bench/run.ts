/**
 * `npm run bench [name…]`: runs the named benchmarks (all when none is named) and prints each
 * comparison as a ratio measured in the same run. Raw figures go to bench/results/<name>.json.
 */
import {mkdirSync, writeFileSync} from 'node:fs';

interface Bench {
  describe: string;
  run(args: string[]): Promise<Record<string, unknown>>;
}

const BENCHES: Record<string, () => Promise<Bench>> = {
  decode: async () => (await import('./decode.bench.ts')).decodeBench,
  'zero-loss': async () => (await import('./zero-loss.bench.ts')).zeroLossBench,
  'zero-loss-small': async () => (await import('./zero-loss.bench.ts')).zeroLossSmallBench,
  latency: async () => (await import('./latency.bench.ts')).latencyBench,
  cost: async () => (await import('./cost.bench.ts')).costBench,
  store: async () => (await import('./store.bench.ts')).storeBench,
  report: async () => (await import('./report.bench.ts')).reportBench,
  'ui-stream': async () => (await import('./ui-stream.bench.ts')).uiStreamBench,
  painted: async () => (await import('./painted.bench.ts')).paintedBench,
  mix: async () => (await import('./mix.bench.ts')).mixBench,
};

async function main(): Promise<number> {
  const [first, ...rest] = process.argv.slice(2);
  if (first === '--help' || first === '-h') {
    for (const [name, load] of Object.entries(BENCHES))
      console.log(`${name}: ${(await load()).describe}`);
    return 0;
  }
  const names = first ? [first] : Object.keys(BENCHES);
  mkdirSync(new URL('./results/', import.meta.url), {recursive: true});
  for (const name of names) {
    const load = BENCHES[name];
    if (!load) {
      console.error(`unknown benchmark '${name}'; known: ${Object.keys(BENCHES).join(', ')}`);
      return 2;
    }
    console.log(`\n## ${name}`);
    const result = await (await load()).run(first ? rest : []);
    const record = {name, date: new Date().toISOString(), machine: machineInfo(), ...result};
    writeFileSync(
      new URL(`./results/${name}.json`, import.meta.url),
      JSON.stringify(record, null, 2) + '\n',
    );
  }
  return 0;
}

function machineInfo() {
  return {node: process.version, platform: process.platform, arch: process.arch};
}

// After Ctrl-C (bench/lib/cleanup.ts sets exitCode 130) a failing child is the interruption.
process.exitCode = await main().catch((e: unknown) => {
  if (process.exitCode === 130) return 130;
  throw e;
});
