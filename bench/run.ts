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
  cost: async () => (await import('./cost.bench.ts')).costBench,
  report: async () => (await import('./report.bench.ts')).reportBench,
  store: async () => (await import('./store.bench.ts')).storeBench,
  latency: async () => (await import('./latency.bench.ts')).latencyBench,
  'zero-loss': async () => (await import('./zero-loss.bench.ts')).zeroLossBench,
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

process.exitCode = await main();
