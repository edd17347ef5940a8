// The shape every `fleetscope <command>` has: a name, a one-line summary for
// the command list, a full help text, and a run function returning the exit
// code. Exit codes: 0 ok, 1 failure at run time, 2 bad usage or bad config.
export interface Io {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export interface Command {
  readonly name: string;
  readonly help: string;
  run(args: readonly string[], io: Io): Promise<number>;
}

import { parseArgs, type ParseArgsConfig } from 'node:util';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Reads all of a stream, refusing more than `limit` bytes. */
export async function readAll(stream: NodeJS.ReadableStream, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > limit) throw new Error(`input is larger than ${limit} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Parses a command's options strictly (no positionals). On a usage error it
 * writes the reason and the help to stderr and returns null.
 */
export function parseOptions<O extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  help: string,
  args: readonly string[],
  options: O,
  io: Io,
): ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>['values'] | null {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    io.stderr.write(`fleetscope ${command}: ${(err as Error).message}\n\n${help}`);
    return null;
  }
}

/** Resolves on the first SIGTERM or SIGINT: how every long-running command waits to stop cleanly. */
export function untilStopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/**
 * Loads a service's config file named by `--config` or `--check-config`. An
 * invalid file (the part's own typed error, which names file, path and
 * reason) is written to stderr and gives null: the caller exits 2.
 */
export async function loadConfigOption<T>(
  command: string,
  help: string,
  opts: { readonly config?: string | undefined; readonly 'check-config'?: string | undefined },
  load: (file: string) => Promise<T>,
  isConfigError: (err: unknown) => boolean,
  io: Io,
): Promise<{ file: string; loaded: T } | null> {
  const file = opts['check-config'] ?? opts.config;
  if (file === undefined) {
    io.stderr.write(`fleetscope ${command}: --config FILE.yml is required\n\n${help}`);
    return null;
  }
  try {
    return { file, loaded: await load(file) };
  } catch (err) {
    if (!isConfigError(err)) throw err;
    io.stderr.write(`fleetscope ${command}: ${(err as Error).message}\n`);
    return null;
  }
}
