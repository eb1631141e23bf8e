/**
 * The local stack: provisions, starts, checks and stops the four real services Switchyard needs
 * (Temporal, Kafka, Cassandra, a DynamoDB-compatible endpoint) without Docker.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SwitchyardConfig } from '../../config/config.js';
import { withTimeout } from '../../kit/async.js';
import { clearPid, isAlive, isOurs, launchDetached, portIsFree, readPid, rssMb, stopProcess, tailFile, whoListens } from './processes.js';
import type { StackContext, StackService } from './service.js';
import { cassandraService } from './services/cassandra.js';
import { dynamodbService } from './services/dynamodb.js';
import { kafkaService } from './services/kafka.js';
import { temporalService } from './services/temporal.js';

/** Every stack service, in the order they are listed. */
export const SERVICES: readonly StackService[] = [temporalService, kafkaService, cassandraService, dynamodbService];

/** Thrown when one or more services could not be brought up; lists each by name with the reason. */
export class StackError extends Error {
  constructor(readonly failures: { service: string; reason: string }[]) {
    super(failures.map((f) => `${f.service}: ${f.reason}`).join('\n\n'));
    this.name = 'StackError';
  }
}

/** One service's state as `status` reports it. */
export interface ServiceStatus {
  service: string;
  endpoint: string;
  /** local = started and owned by this stack; external = configured to run elsewhere. */
  mode: 'local' | 'external';
  state: 'healthy' | 'starting' | 'unhealthy' | 'stopped' | 'unreachable';
  pid: number | undefined;
  rssMb: number | undefined;
  detail: string;
  logFile: string | undefined;
}

/** Picks services by name; throws a clear error for unknown names. */
export function selectServices(names: string[]): StackService[] {
  if (names.length === 0) return [...SERVICES];
  const known = new Map(SERVICES.map((s) => [s.name, s]));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new StackError(unknown.map((n) => ({ service: n, reason: `unknown service (known: ${[...known.keys()].join(', ')})` })));
  }
  return names.map((n) => known.get(n)!);
}

/** Log file of a service's console output. */
export function logFileOf(cfg: SwitchyardConfig, service: string): string {
  return path.join(cfg.stack.logDir, `${service}.log`);
}

async function probeOnce(svc: StackService, cfg: SwitchyardConfig): Promise<{ ok: true; detail: string } | { ok: false; detail: string }> {
  try {
    return { ok: true, detail: await withTimeout(svc.probe(cfg), 8000, svc.name) };
  } catch (err) {
    return { ok: false, detail: errorText(err) };
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}

async function withLock<T>(cfg: SwitchyardConfig, fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(cfg.stack.runDir, { recursive: true });
  const lock = path.join(cfg.stack.runDir, 'stack.lock');
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = Number(fs.readFileSync(lock, 'utf8').trim() || '0');
      if (!holder || !isAlive(holder)) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another 'stack' command (pid ${holder}) holds ${lock}`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

async function waitReady(svc: StackService, ctx: StackContext, pid: number | undefined, logFile: string): Promise<string> {
  const deadline = Date.now() + svc.startTimeoutMs;
  let last = '';
  for (;;) {
    const r = await probeOnce(svc, ctx.cfg);
    if (r.ok) return r.detail;
    last = r.detail;
    if (pid !== undefined && !isAlive(pid)) {
      throw new Error(`exited before it was ready. Last lines of ${logFile}:\n${indent(tailFile(logFile, 30))}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `not ready after ${Math.round(svc.startTimeoutMs / 1000)} s (last check: ${last}). Last lines of ${logFile}:\n${indent(tailFile(logFile, 30))}`,
      );
    }
    await sleep(500);
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

async function upOne(svc: StackService, ctx: StackContext): Promise<string> {
  const { cfg } = ctx;
  const started = Date.now();
  const secs = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  if (!svc.isLocal(cfg)) {
    const r = await probeOnce(svc, cfg);
    if (!r.ok) throw new Error(`configured to use ${svc.endpoint(cfg)} (not on this machine, so not started here), which does not answer: ${r.detail}`);
    await svc.afterReady?.(ctx);
    return `external ${svc.endpoint(cfg)}: ${r.detail}`;
  }
  const logFile = logFileOf(cfg, svc.name);
  const rec = readPid(cfg.stack.runDir, svc.name);
  if (rec && isOurs(rec)) {
    const detail = await waitReady(svc, ctx, rec.pid, logFile);
    await svc.afterReady?.(ctx);
    return `already running (pid ${rec.pid}) on ${svc.endpoint(cfg)}: ${detail}`;
  }
  if (rec) clearPid(cfg.stack.runDir, svc.name);
  for (const p of svc.ports(cfg)) {
    if (!(await portIsFree(p.host, p.port))) {
      const who = whoListens(p.port);
      throw new Error(
        `port ${p.port} (${p.label}) on ${p.host} is already in use${who ? ` by ${who}` : ''}; stop that process or configure another port (see README, "Configuration")`,
      );
    }
  }
  await svc.provision(ctx);
  const spec = await svc.prepare(ctx);
  ctx.progress(`${svc.name}: starting on ${svc.endpoint(cfg)}`);
  const launched = launchDetached(svc.name, spec, logFile, cfg.stack.runDir, svc.marker(cfg));
  try {
    const detail = await waitReady(svc, ctx, launched.pid, logFile);
    await svc.afterReady?.(ctx);
    return `started (pid ${launched.pid}) on ${svc.endpoint(cfg)} in ${secs()}: ${detail}`;
  } catch (err) {
    await stopProcess(launched, 3000);
    clearPid(cfg.stack.runDir, svc.name);
    throw err;
  }
}

/** Provisions and starts the selected services (all by default); idempotent. */
export async function up(cfg: SwitchyardConfig, names: string[], progress: (m: string) => void): Promise<void> {
  const services = selectServices(names);
  await withLock(cfg, async () => {
    const ctx: StackContext = { cfg, progress };
    const results = await Promise.allSettled(
      services.map(async (svc) => {
        const line = await upOne(svc, ctx);
        progress(`${svc.name}: ${line}`);
      }),
    );
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ service: services[i]!.name, reason: r.reason instanceof Error ? r.reason.message : String(r.reason) }] : [],
    );
    if (failures.length > 0) throw new StackError(failures);
  });
}

/** Stops the selected services that this stack started; leaves everything else alone. */
export async function down(cfg: SwitchyardConfig, names: string[], progress: (m: string) => void): Promise<void> {
  const services = selectServices(names);
  await withLock(cfg, async () => {
    await Promise.all(
      services.map(async (svc) => {
        if (!svc.isLocal(cfg)) {
          progress(`${svc.name}: external (${svc.endpoint(cfg)}), left alone`);
          return;
        }
        const rec = readPid(cfg.stack.runDir, svc.name);
        if (!rec || !isOurs(rec)) {
          if (rec) clearPid(cfg.stack.runDir, svc.name);
          progress(`${svc.name}: not running (nothing started by this stack)`);
          return;
        }
        const t0 = Date.now();
        const how = await stopProcess(rec, svc.stopGraceMs);
        clearPid(cfg.stack.runDir, svc.name);
        progress(`${svc.name}: ${how === 'killed' ? 'did not stop in time, killed' : 'stopped'} (pid ${rec.pid}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      }),
    );
  });
}

/** Reports every selected service: endpoint, pid, health. */
export async function status(cfg: SwitchyardConfig, names: string[]): Promise<ServiceStatus[]> {
  const services = selectServices(names);
  return Promise.all(
    services.map(async (svc): Promise<ServiceStatus> => {
      const base = { service: svc.name, endpoint: svc.endpoint(cfg) };
      if (!svc.isLocal(cfg)) {
        const r = await probeOnce(svc, cfg);
        return { ...base, mode: 'external', state: r.ok ? 'healthy' : 'unreachable', pid: undefined, rssMb: undefined, detail: r.detail, logFile: undefined };
      }
      const logFile = logFileOf(cfg, svc.name);
      const rec = readPid(cfg.stack.runDir, svc.name);
      if (!rec || !isOurs(rec)) {
        const r = await probeOnce(svc, cfg);
        const detail = r.ok ? `answers, but was not started by this stack` : 'not running';
        return { ...base, mode: 'local', state: 'stopped', pid: undefined, rssMb: undefined, detail, logFile };
      }
      const r = await probeOnce(svc, cfg);
      const ageMs = Date.now() - Date.parse(rec.startedAt);
      const state = r.ok ? 'healthy' : ageMs < svc.startTimeoutMs ? 'starting' : 'unhealthy';
      return { ...base, mode: 'local', state, pid: rec.pid, rssMb: rssMb(rec.pid), detail: r.detail, logFile };
    }),
  );
}
