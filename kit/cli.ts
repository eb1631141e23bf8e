/**
 * The command-line kit of every entry point (jobs, worker, operator CLI, launcher, benchmarks):
 * node:util parseArgs plus duration and number checks that fail with a message naming the flag,
 * and runMain for exit codes and signals.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Thrown for a bad command line; the entry point prints it with the usage and exits 2. */
export class UsageError extends Error {
  readonly retriable = false;
}

/** The name of config/'s ConfigError (kit imports nothing of the project): runMain reports it like a usage error. */
export const CONFIG_ERROR_NAME = 'ConfigError';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "500ms", "10s", "5m", "2h", "7d" (or a plain number of ms) into milliseconds. */
export function parseDuration(flag: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!m) throw new UsageError(`--${flag}: '${raw}' is not a duration (like 500ms, 10s, 5m, 2h, 7d)`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

/** Parses a whole number within [min, max]. */
export function parseWhole(flag: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) throw new UsageError(`--${flag}: '${raw}' must be a whole number from ${min} to ${max}`);
  return n;
}

/** Parses a fraction within [0, 1]. */
export function parseFraction(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--${flag}: '${raw}' must be a number from 0 to 1`);
  return n;
}

/** Parses an environment name that must be one of the configured environments. */
export function parseEnv(raw: string | undefined, environments: string[]): string {
  if (!raw) throw new UsageError(`--env is required (one of ${environments.join(', ')})`);
  if (!environments.includes(raw)) throw new UsageError(`--env: '${raw}' is not a configured environment (${environments.join(', ')}; see SWITCHYARD_ENVS)`);
  return raw;
}

/** parseArgs that turns its errors into UsageError. */
export function parseCommandLine<T extends ParseArgsConfig['options']>(
  argv: string[],
  options: T,
): ReturnType<typeof parseArgs<{ options: T; args: string[]; allowPositionals: false; strict: true }>>['values'] {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as never;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * Runs a CLI main: prints usage errors (exit 2), other errors (exit 1), and handles SIGINT/SIGTERM
 * via stop. A main that returns a number exits with it (a command that reports its own outcome).
 */
export function runMain(usage: string, main: (argv: string[]) => Promise<{ stop?: () => Promise<void> } | number | void>): void {
  const argv = process.argv.slice(2);
  // Every command answers --help (or -h) with its usage on stdout and exit 0, before any check.
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage);
    process.exit(0);
  }
  main(argv).then(
    (handle) => {
      if (typeof handle === 'number') process.exit(handle);
      if (!handle || !handle.stop) return;
      const stop = handle.stop;
      let stopping = false;
      const onSignal = (sig: string): void => {
        if (stopping) return;
        stopping = true;
        console.error(`received ${sig}, stopping`);
        stop().then(
          () => process.exit(0),
          (err: unknown) => {
            console.error(err);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => onSignal('SIGINT'));
      process.on('SIGTERM', () => onSignal('SIGTERM'));
    },
    (err: unknown) => {
      if (err instanceof UsageError || (err instanceof Error && err.name === CONFIG_ERROR_NAME)) {
        console.error(`${err.message}\n\n${usage}`);
        process.exit(2);
      }
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exit(1);
    },
  );
}

const ARG_UNITS: [suffix: string, ms: number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/**
 * A duration as a command line takes it (the inverse of parseDuration), in the largest unit that
 * divides it exactly: 600000 → "10m", 90000 → "90s", 1500 → "1500ms".
 */
export function durationArg(ms: number): string {
  for (const [suffix, size] of ARG_UNITS) if (ms !== 0 && ms % size === 0) return `${ms / size}${suffix}`;
  return `${ms}ms`;
}
