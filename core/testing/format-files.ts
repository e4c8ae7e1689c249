/**
 * Test helper (Node): read a tree of tracefs format files, `<dir>/<system>/<event>/format`, as
 * in tracefs `events/` or the fixture copy in `fixtures/captures/formats`.
 */
import {existsSync, readFileSync, readdirSync} from 'node:fs';
import {join} from 'node:path';

export interface FormatFile {
  system: string;
  event: string;
  path: string;
  text: string;
}

export const CAPTURES_DIR = join(import.meta.dirname, 'fixtures/captures');

/** Every format file below `dir`, sorted by system then event. */
export function listFormatFiles(dir: string): FormatFile[] {
  const out: FormatFile[] = [];
  for (const system of readdirSync(dir).sort()) {
    let events: string[];
    try {
      events = readdirSync(join(dir, system));
    } catch {
      continue; // a plain file such as header_page
    }
    for (const event of events.sort()) {
      const path = join(dir, system, event, 'format');
      if (existsSync(path)) out.push({system, event, path, text: readFileSync(path, 'utf8')});
    }
  }
  return out;
}
