/**
 * `npm run stack -- <up|down|restart|status|logs> [service...]`: the local stack's command line.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { ConfigError, loadConfig, type SwitchyardConfig } from '../../config/config.js';
import { runMain } from '../../kit/cli.js';
import { down, logFileOf, selectServices, StackError, status, up } from './stack.js';
import { formatStatus } from './format.js';
import { tailFile } from './processes.js';

const USAGE = `usage: npm run stack -- <command> [service...] [options]

commands:
  up [service...]        provision (first time only) and start the services, wait until each is ready
  down [service...]      stop the services this stack started (nothing else is touched)
  restart [service...]   down, then up
  status [--json]        each service with endpoint, pid, memory and health; exit 1 unless all healthy
  logs [service] [-n N] [-f]
                         the last N (default 40) lines of a service's log, or follow it

services: temporal, kafka, cassandra, dynamodb (default: all)
configuration: environment variables, see README "Configuration"`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  let cfg: SwitchyardConfig;
  try {
    cfg = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const flags = new Set(rest.filter((a) => a.startsWith('-')));
  const names = rest.filter((a, i) => !a.startsWith('-') && rest[i - 1] !== '-n');
  const t0 = Date.now();
  const progress = (m: string): void => {
    console.log(`[stack ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${m}`);
  };
  try {
    switch (command) {
      case 'up':
        await up(cfg, names, progress);
        progress(
          `ready: ${selectServices(names)
            .map((s) => s.name)
            .join(', ')} (data in ${cfg.stack.dataDir}, logs in ${cfg.stack.logDir})`,
        );
        return 0;
      case 'down':
        await down(cfg, names, progress);
        return 0;
      case 'restart':
        await down(cfg, names, progress);
        await up(cfg, names, progress);
        progress('ready');
        return 0;
      case 'status': {
        const rows = await status(cfg, names);
        if (flags.has('--json')) console.log(JSON.stringify(rows, null, 2));
        else console.log(formatStatus(rows));
        return rows.every((r) => r.state === 'healthy') ? 0 : 1;
      }
      case 'logs': {
        const [svc] = selectServices(names.slice(0, 1));
        const file = logFileOf(cfg, svc!.name);
        const nIdx = rest.indexOf('-n');
        const n = nIdx >= 0 ? Number(rest[nIdx + 1] ?? '40') : 40;
        if (!fs.existsSync(file)) {
          console.error(`${svc!.name}: no log yet at ${file}`);
          return 1;
        }
        if (flags.has('-f') || flags.has('--follow')) {
          const child = spawn('tail', ['-n', String(n), '-F', file], { stdio: 'inherit' });
          await new Promise((r) => child.on('close', r));
          return 0;
        }
        console.log(tailFile(file, n));
        return 0;
      }
      default:
        console.error(`unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof StackError) {
      console.error(`\nstack ${command} failed:\n\n${err.message}`);
      return 1;
    }
    throw err;
  }
}

runMain(USAGE, main);
