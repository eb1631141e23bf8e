/**
 * The command line and environment variables of `npm start`, checked up front: a bad value is
 * reported with the option or variable it came from, every problem at once.
 */
import path from 'node:path';
import { REPO_ROOT } from '../../config/config.js';
import { parseCommandLine, parseDuration, parseWhole, UsageError } from '../../kit/cli.js';

/** Usage of `npm start`. */
export const START_USAGE = `usage: npm start [-- options]

Brings up the whole Switchyard demo on this machine and keeps it running:
  - the local stack (Temporal, Kafka, Cassandra, DynamoDB-compatible; provisioned on first use),
  - topics and schemas, then for every environment in SWITCHYARD_ENVS (test, staging, production):
    an aggregator, a Cassandra writer and a DynamoDB writer (both following the control state),
    a load generator and a read-traffic generator,
  - one query service for every environment, the control-plane Temporal worker,
  - a migration workflow per environment, created in stage planned with the demo policy
    (retention and bake times of minutes; SWITCHYARD_POLICY_FILE overrides apply),
  - the console (web/), built first when its sources changed.
Each process's output goes to <log dir>/<name>.log. A process that dies is restarted with backoff.
Ctrl-C stops everything it started; the local stack keeps running (npm run stack -- down stops it).

options:
  --no-console            start everything but the console (web/ is not needed)
  --apps <n>              apps per environment in the generated load (default 20)
  --rate <n>              observations per second per environment (default 200)
  --read-rate <n>         read-API queries per second per environment (default 10)
  --log-dir <dir>         where each process's output goes (default .stack/logs/demo)
  --ready-timeout <d>     how long each process may take to become ready (default 3m)
  --stop-grace <d>        how long each process may take to stop before SIGKILL (default 15s)
  --help                  this text

environment (besides the configuration variables in docs/configuration.md):
  SWITCHYARD_QUERY_PORT   port of the query service (default 8080)
  SWITCHYARD_CONSOLE_PORT port of the console (default 3000)
  SWITCHYARD_NOTIFY_RECEIVER_PORT port of the local notification receiver (default 3100); the
                          notifier posts every event to it (generic JSON and Slack format) besides
                          any SWITCHYARD_NOTIFY_URL / SWITCHYARD_NOTIFY_ROUTES, and the console's
                          Notifications page shows what it received`;

/** The checked options of `npm start`. */
export interface StartOptions {
  help: boolean;
  /** Start the console (false with --no-console). */
  console: boolean;
  apps: number;
  ratePerEnv: number;
  readRatePerEnv: number;
  /** Absolute folder of the processes' logs; undefined = <stack dir>/logs/demo. */
  logDir: string | undefined;
  readyTimeoutMs: number;
  stopGraceMs: number;
  queryPort: number;
  consolePort: number;
  /** Port of the local notification receiver. */
  receiverPort: number;
}

/** Thrown for a bad command line or variable; lists every problem. */
export class StartUsageError extends UsageError {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} problems:\n  - ${problems.join('\n  - ')}`);
    this.name = 'StartUsageError';
  }
}

/** Parses `npm start`'s arguments and its variables; throws StartUsageError naming what is wrong. */
export function parseStartOptions(argv: string[], env: Record<string, string | undefined> = process.env): StartOptions {
  const a = parseCommandLine(argv, {
    help: { type: 'boolean', default: false },
    'no-console': { type: 'boolean', default: false },
    apps: { type: 'string', default: '20' },
    rate: { type: 'string', default: '200' },
    'read-rate': { type: 'string', default: '10' },
    'log-dir': { type: 'string' },
    'ready-timeout': { type: 'string', default: '3m' },
    'stop-grace': { type: 'string', default: '15s' },
  });
  const problems: string[] = [];
  const check = <T>(fallback: T, parse: () => T): T => {
    try {
      return parse();
    } catch (err) {
      problems.push((err as Error).message);
      return fallback;
    }
  };
  const port = (name: string, fallback: number): number => {
    const raw = env[name]?.trim() || String(fallback);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 65535) {
      problems.push(`${name}: '${raw}' is not a port (a whole number from 1 to 65535)`);
      return fallback;
    }
    return n;
  };
  const options: StartOptions = {
    help: a.help!,
    console: !a['no-console'],
    apps: check(20, () => parseWhole('apps', a.apps!, 1, 10_000)),
    ratePerEnv: check(200, () => parseWhole('rate', a.rate!, 1, 100_000)),
    readRatePerEnv: check(10, () => parseWhole('read-rate', a['read-rate']!, 1, 1_000)),
    logDir: a['log-dir'] === undefined ? undefined : path.resolve(REPO_ROOT, a['log-dir']),
    readyTimeoutMs: check(180_000, () => parseDuration('ready-timeout', a['ready-timeout']!)),
    stopGraceMs: check(15_000, () => parseDuration('stop-grace', a['stop-grace']!)),
    queryPort: port('SWITCHYARD_QUERY_PORT', 8080),
    consolePort: port('SWITCHYARD_CONSOLE_PORT', 3000),
    receiverPort: port('SWITCHYARD_NOTIFY_RECEIVER_PORT', 3100),
  };
  if (options.receiverPort === options.queryPort || (options.console && options.receiverPort === options.consolePort)) {
    problems.push(`SWITCHYARD_NOTIFY_RECEIVER_PORT ${options.receiverPort} is also the query service's or the console's port: each needs a port of its own`);
  }
  if (options.queryPort === options.consolePort && options.console) {
    problems.push(`SWITCHYARD_QUERY_PORT and SWITCHYARD_CONSOLE_PORT are both ${options.queryPort}: the query service and the console need a port each`);
  }
  if (options.readyTimeoutMs < 1000) problems.push('--ready-timeout: must be at least 1s');
  if (problems.length > 0) throw new StartUsageError(problems);
  return options;
}
