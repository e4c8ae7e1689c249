/**
 * `ringside` command dispatcher. Each command lives in its own module, loaded on demand so that
 * `ringside report` does not pay for the server's imports.
 */
const USAGE = `usage: ringside <command> [options]

commands:
  serve [options]        run the live viewer server (what \`npm start\` runs)
  tail [URL] [options]   print live events in trace-cmd report format
  report FILE [options]  print a trace.dat file as \`trace-cmd report\` does
  help                   this text

Run \`ringside <command> --help\` for the options of a command.`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve-command.ts')).serveCommand,
  tail: async () => (await import('./tail-command.ts')).tailCommand,
  report: async () => (await import('./report-command.ts')).reportCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`ringside: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  try {
    return await (
      await load()
    )(rest);
  } catch (e) {
    console.error(`ringside ${name}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
