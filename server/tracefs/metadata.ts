/**
 * The text files a decoder needs, read from a tracefs instance (kernel-abi.md §5.2):
 * header_page, header_event, the format files of enabled events plus the always-on ftrace events,
 * saved_cmdlines (top level only), the trace clock, and on request kallsyms/printk_formats.
 */
import {existsSync, readFileSync, readdirSync} from 'node:fs';
import type {EventFormatText} from '../sources/source.ts';
import type {TraceInstance} from './instance.ts';
import type {EventId} from './event-spec.ts';

export interface InstanceMetadata {
  headerPage: string;
  headerEvent: string;
  formats: EventFormatText[];
  savedCmdlines: string;
  traceClock: string;
  kallsyms?: string;
  printkFormats?: string;
}

function readOr(path: string, fallback = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Enabled events from `set_event` ("system:event" lines). */
export function enabledEvents(inst: TraceInstance): EventId[] {
  const out: EventId[] = [];
  const text = readOr(inst.path('set_event'));
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out.push({system: line.slice(0, i).trim(), name: line.slice(i + 1).trim()});
  }
  return out;
}

function ftraceEvents(eventsDir: string): EventId[] {
  try {
    return readdirSync(`${eventsDir}/ftrace`)
      .filter((n) => existsSync(`${eventsDir}/ftrace/${n}/format`))
      .map((name) => ({system: 'ftrace', name}));
  } catch {
    return [];
  }
}

export function readInstanceMetadata(
  inst: TraceInstance,
  includeSymbols = false,
): InstanceMetadata {
  const eventsDir = inst.path('events');
  const rootEvents = `${inst.root}/events`;
  const formats: EventFormatText[] = [];
  const seen = new Set<string>();
  for (const e of [...ftraceEvents(eventsDir), ...enabledEvents(inst)]) {
    const key = `${e.system}:${e.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const text = readOr(`${eventsDir}/${e.system}/${e.name}/format`);
    if (text) formats.push({system: e.system, name: e.name, text});
  }
  const meta: InstanceMetadata = {
    headerPage: readOr(`${eventsDir}/header_page`, readOr(`${rootEvents}/header_page`)),
    headerEvent: readOr(`${eventsDir}/header_event`, readOr(`${rootEvents}/header_event`)),
    formats,
    savedCmdlines: readOr(`${inst.root}/saved_cmdlines`),
    traceClock: inst.traceClock(),
  };
  if (includeSymbols) {
    meta.kallsyms = readOr('/proc/kallsyms');
    meta.printkFormats = readOr(`${inst.root}/printk_formats`);
  }
  return meta;
}
