/**
 * Child process for live tests that need the server's reading under other process settings
 * (e.g. without CAP_SYS_NICE): opens an MmapSource (`buffer-kb` per CPU, 0: the kernel's
 * default), writes `count` markers on the first CPU, reads them back and prints one JSON line:
 * whether and how the reader thread is scheduled, the log lines, and the ids received. The
 * instance is its own and removed.
 *
 *   node --import tsx read-markers-child.ts <instance-name> <count> <buffer-kb>
 */
import {MmapSource} from '../mmap-source.ts';
import {MarkerCollector, writeMarkers} from './markers.ts';

const [name = `ringside-test-child-${process.pid}`, countArg = '2000', kbArg = '64'] =
  process.argv.slice(2);
const count = Number(countArg);
const bufferKb = Number(kbArg) || undefined;
const log: string[] = [];
const s = new MmapSource(
  {source: 'mmap', events: ['ftrace:raw_data'], bufferKb, log: (l) => log.push(l)},
  {ownInstanceName: name},
);
try {
  const md = await s.open();
  const c = new MarkerCollector(md);
  const cpu = md.cpus[0]!;
  let done = false;
  const w = writeMarkers(s.instanceDir!, {cpu, count, perMs: 20}).finally(() => (done = true));
  const end = Date.now() + 20_000;
  while (Date.now() < end && !(done && c.tally(cpu).ids.length >= count)) {
    await s.wait(50);
    c.add(s.read(256));
  }
  await w;
  const t = c.tally(cpu);
  console.log(
    JSON.stringify({
      threaded: s.threaded,
      scheduling: s.readerScheduling,
      log,
      received: t.ids.length,
      overrun: t.lastMeta?.overrun ?? -1,
    }),
  );
} finally {
  await s.close();
}
