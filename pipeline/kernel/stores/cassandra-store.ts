/**
 * The Cassandra MetricStore (the store being migrated away from). One keyspace per environment,
 * one table partitioned by series and clustered by minute, so a series range read is a single
 * partition slice; TimeWindowCompactionStrategy because the data is append-mostly, time-ordered
 * and expires by TTL, so whole SSTables can be dropped once their window has expired.
 */
import cassandra from 'cassandra-driver';
import type { MetricPoint } from '../model/metric-point.js';
import { forEachConcurrent } from './bounded-concurrency.js';
import type {
  KeySlice,
  MetricStore,
  MinuteSpan,
  OldPointsBefore,
  OldStoreAdmin,
  PointId,
  SeriesListing,
  SeriesListingStore,
  SeriesQuery,
  WriteResult,
} from './metric-store.js';
import { isExpired, keySliceProblem, planWrite, queryProblem } from './point-rules.js';
import { resolveRetryPolicy, retryTransient, type RetryContext, type RetryPolicy } from './retry-policy.js';
import { errorMessage, StoreError } from './store-error.js';
import { assertNoProblems, storeOptionProblems, wholeNumberProblems, type StoreOptions } from './store-options.js';

/** Options of the Cassandra store. */
export interface CassandraStoreOptions extends StoreOptions {
  /** A cassandra-driver client (config/clients.ts createCassandraClient); it need not be connected yet. */
  client: cassandra.Client;
  /** SimpleStrategy replication factor used when the keyspace is created (default 1). */
  replicationFactor?: number;
  /** Most writes in flight at once (default 32). */
  concurrency?: number;
  /** Whether close() shuts the client down (default true); false when the client is shared. */
  closeClient?: boolean;
}

/** Name of the points table inside each environment's keyspace. */
export const CASSANDRA_TABLE = 'metric_points';

/** Default most writes in flight at once: enough to hide latency, few enough not to overload a small ring. */
export const DEFAULT_CASSANDRA_CONCURRENCY = 32;

/** Rows per page on reads (a week of minutes is about two pages). */
const READ_PAGE_SIZE = 5000;

/** The keyspace of an environment: `switchyard_<env>`, '-' mapped to '_' (env names have no '_', so no two collide). */
export function cassandraKeyspaceFor(env: string): string {
  return `switchyard_${env.replaceAll('-', '_')}`;
}

const codes = cassandra.types.responseErrorCodes;

/** Server answers that say "try again later", not "this is wrong". */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([
  codes.unavailableException,
  codes.overloaded,
  codes.isBootstrapping,
  codes.writeTimeout,
  codes.readTimeout,
]);

/** Answers about the statement or the session rather than one point: every point would fail the same way. */
const STATEMENT_CODES: ReadonlySet<number> = new Set([codes.syntaxError, codes.unauthorized, codes.configError, codes.badCredentials]);

/** An "invalid request" that is about the schema (not yet created, or dropped), not about the point. */
const MISSING_SCHEMA = /unconfigured table|keyspace .* does not exist|table .* does not exist/i;

/** True for Cassandra failures worth retrying: timeouts, no host available, unavailable, overloaded. */
export function isTransientCassandraError(err: unknown): boolean {
  if (err instanceof cassandra.errors.NoHostAvailableError || err instanceof cassandra.errors.OperationTimedOutError) return true;
  return err instanceof cassandra.errors.ResponseError && TRANSIENT_CODES.has(err.code);
}

/** Why a failed write is the point's fault (so it is rejected, not retried), or undefined. */
function pointRejectionReason(err: unknown): string | undefined {
  // The driver throws these while encoding one point's values, before anything is sent.
  if (err instanceof TypeError || err instanceof RangeError) return `cassandra driver cannot encode the point: ${err.message}`;
  if (err instanceof cassandra.errors.ResponseError && err.code === codes.invalid && !MISSING_SCHEMA.test(err.message)) {
    return `cassandra rejected the point: ${err.message}`;
  }
  return undefined;
}

/** A StoreError for a failure that is neither transient nor one point's fault. */
function statementFailure(err: unknown, action: string): StoreError {
  if (err instanceof StoreError) return err;
  const rc = err instanceof cassandra.errors.ResponseError ? err.code : undefined;
  const schemaOrStatement = rc !== undefined && (STATEMENT_CODES.has(rc) || (rc === codes.invalid && MISSING_SCHEMA.test(errorMessage(err))));
  if (schemaOrStatement) {
    return new StoreError(`${action} failed: ${errorMessage(err)} (has ensureSchema run for this environment?)`, { retriable: false, cause: err });
  }
  // Unknown failures are treated as retriable: writes are idempotent, and dropping data is worse than retrying.
  return new StoreError(`${action} failed: ${errorMessage(err)}`, { retriable: true, cause: err });
}

/** MetricStore on Cassandra: writes with per-point TTLs, reads one partition slice, lists a token range for a verify. */
export class CassandraMetricStore implements MetricStore, SeriesListingStore, OldStoreAdmin {
  /** Always 'cassandra'. */
  readonly kind = 'cassandra' as const;
  /** The environment whose data this store holds. */
  readonly env: string;
  /** The keyspace holding this environment's table. */
  readonly keyspace: string;
  /** Where this environment's data lives (OldStoreAdmin): the keyspace. */
  get location(): string {
    return this.keyspace;
  }
  private readonly client: cassandra.Client;
  private readonly retentionMs: number;
  private readonly now: () => number;
  private readonly replicationFactor: number;
  private readonly concurrency: number;
  private readonly closeClient: boolean;
  private readonly retry: RetryPolicy;
  private readonly logger: StoreOptions['logger'];
  private readonly insertCql: string;
  private readonly selectCql: string;
  private readonly listWithinCql: string;
  private readonly deleteCql: string;
  // LOCAL_QUORUM both ways so a read sees every acknowledged write on a ring with RF >= 3, as
  // DynamoDB's ConsistentRead does; science-mode comparisons would otherwise flag replica lag.
  private readonly consistency = cassandra.types.consistencies.localQuorum;

  constructor(opts: CassandraStoreOptions) {
    assertNoProblems(cassandraOptionProblems(opts));
    this.env = opts.env;
    this.keyspace = cassandraKeyspaceFor(opts.env);
    this.client = opts.client;
    this.retentionMs = opts.retentionMs;
    this.now = opts.now ?? Date.now;
    this.replicationFactor = opts.replicationFactor ?? 1;
    this.concurrency = opts.concurrency ?? DEFAULT_CASSANDRA_CONCURRENCY;
    this.closeClient = opts.closeClient ?? true;
    this.retry = resolveRetryPolicy(opts.retry);
    this.logger = opts.logger;
    const table = `${this.keyspace}.${CASSANDRA_TABLE}`;
    this.insertCql =
      `INSERT INTO ${table} (app, metric, minute, count, min, max, sum, median, p95, p99) ` + 'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?';
    this.selectCql =
      `SELECT app, metric, minute, count, min, max, sum, median, p95, p99 FROM ${table} ` + 'WHERE app = ? AND metric = ? AND minute >= ? AND minute <= ?';
    // ALLOW FILTERING for the minute span: Cassandra seeks to it inside each partition of the range.
    this.listWithinCql =
      `SELECT token(app, metric) AS t, app, metric, minute FROM ${table} ` +
      'WHERE token(app, metric) >= ? AND token(app, metric) <= ? AND minute >= ? AND minute <= ? PER PARTITION LIMIT 1 LIMIT ? ALLOW FILTERING';
    this.deleteCql = `DELETE FROM ${table} WHERE app = ? AND metric = ? AND minute = ?`;
  }

  /** Creates the keyspace and table if missing; warns when existing ones differ from these options. */
  async ensureSchema(): Promise<string[]> {
    const retentionSeconds = this.retentionMs / 1000;
    const ddl = [
      `CREATE KEYSPACE IF NOT EXISTS ${this.keyspace} ` + `WITH replication = {'class': 'SimpleStrategy', 'replication_factor': ${this.replicationFactor}}`,
      `CREATE TABLE IF NOT EXISTS ${this.keyspace}.${CASSANDRA_TABLE} (` +
        'app text, metric text, minute timestamp, count bigint, ' +
        'min double, max double, sum double, median double, p95 double, p99 double, ' +
        'PRIMARY KEY ((app, metric), minute)) ' +
        'WITH CLUSTERING ORDER BY (minute ASC) ' +
        "AND compaction = {'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'DAYS', 'compaction_window_size': 1} " +
        // A safety net: every write sets its own TTL, but a row written without one still expires.
        `AND default_time_to_live = ${retentionSeconds}`,
    ];
    for (const statement of ddl) {
      await this.run('ensure schema', () => this.client.execute(statement));
    }
    return this.schemaWarnings(retentionSeconds);
  }

  /** Differences between the existing schema and this store's options (CREATE IF NOT EXISTS leaves them alone). */
  private async schemaWarnings(retentionSeconds: number): Promise<string[]> {
    const warnings: string[] = [];
    const ks = await this.run('read keyspace schema', () =>
      this.client.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [this.keyspace], { prepare: true }),
    );
    const replication = ks.first()?.get('replication') as Record<string, string> | undefined;
    if (replication && (!replication.class?.endsWith('SimpleStrategy') || replication.replication_factor !== String(this.replicationFactor))) {
      warnings.push(
        `keyspace ${this.keyspace} already exists with replication ${JSON.stringify(replication)}; ` +
          `replicationFactor ${this.replicationFactor} was not applied (use ALTER KEYSPACE)`,
      );
    }
    const table = await this.run('read table schema', () =>
      this.client.execute(
        'SELECT default_time_to_live FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
        [this.keyspace, CASSANDRA_TABLE],
        {
          prepare: true,
        },
      ),
    );
    const defaultTtl = table.first()?.get('default_time_to_live') as number | undefined;
    if (defaultTtl !== undefined && defaultTtl !== retentionSeconds) {
      warnings.push(
        `table ${this.keyspace}.${CASSANDRA_TABLE} has default_time_to_live ${defaultTtl} s but retention is ${retentionSeconds} s; ` +
          'writes set their own TTL, so only rows written without one are affected',
      );
    }
    return warnings;
  }

  /**
   * Upserts points with TTL = seconds left until minute + retention, rounded up, plus one second
   * (never 0, which Cassandra would read as "no TTL"): Cassandra counts a TTL from the write's
   * whole second, so without the extra second a row could vanish up to a second before
   * minute + retention, while reads (and the comparison) keep a minute until then; the read filter
   * drops it at minute + retention exactly. Points Cassandra refuses are returned in `rejected`.
   */
  async writePoints(points: MetricPoint[]): Promise<WriteResult> {
    const now = this.now();
    const plan = planWrite(points, this.retentionMs, now);
    const rejected = [...plan.rejected];
    let written = plan.superseded;
    await forEachConcurrent(plan.toWrite, this.concurrency, async (p) => {
      const ttlSeconds = Math.ceil((p.minute + this.retentionMs - now) / 1000) + 1;
      const params = [p.app, p.metric, new Date(p.minute), cassandra.types.Long.fromNumber(p.count), p.min, p.max, p.sum, p.median, p.p95, p.p99, ttlSeconds];
      try {
        await this.attempt('write point', () =>
          this.client.execute(this.insertCql, params, { prepare: true, isIdempotent: true, consistency: this.consistency }),
        );
        written++;
      } catch (err) {
        const reason = err instanceof StoreError ? undefined : pointRejectionReason(err);
        if (reason === undefined) throw statementFailure(err, `write to ${this.keyspace}.${CASSANDRA_TABLE}`);
        this.logger?.debug(
          { env: this.env, store: this.kind, app: p.app, metric: p.metric, minute: p.minute, reason, action: 'write.reject' },
          'point rejected',
        );
        rejected.push({ point: p, reason });
      }
    });
    return { written, expired: plan.expired, rejected };
  }

  /** Reads the partition slice [fromMinute, toMinute] in clustering (ascending) order, dropping expired rows. */
  async readSeries(query: SeriesQuery): Promise<MetricPoint[]> {
    const problem = queryProblem(query);
    if (problem !== undefined) throw new StoreError(`invalid series query: ${problem}`, { retriable: false });
    const now = this.now();
    const params = [query.app, query.metric, new Date(query.fromMinute), new Date(query.toMinute)];
    const out: MetricPoint[] = [];
    let pageState: string | undefined;
    do {
      const options = { prepare: true, fetchSize: READ_PAGE_SIZE, consistency: this.consistency, ...(pageState ? { pageState } : {}) };
      const rs = await this.run('read series', () => this.client.execute(this.selectCql, params, options));
      for (const row of rs.rows) {
        const point = rowToPoint(row);
        // Cassandra's own TTL counts from the write, and its clock is not ours: filter by retention
        // here too, so the result is exactly what DynamoDB's read-side filter returns.
        if (!isExpired(point.minute, this.retentionMs, now)) out.push(point);
      }
      pageState = rs.pageState ?? undefined;
    } while (pageState);
    return out;
  }

  /**
   * Up to `limit` partitions (series) of the slice's token range with a row inside the span, each
   * with its first minute there (one row per partition: PER PARTITION LIMIT 1, so a listing reads
   * about one row of each partition, not the partition), in token order from `position` (a token,
   * inclusive). Rows at that token the caller already handled are its to skip, so two series sharing
   * a token across a page boundary are both listed.
   */
  async listSeriesWithin(slice: KeySlice, span: MinuteSpan, position: string | null, limit: number): Promise<SeriesListing> {
    const problem = keySliceProblem(slice) ?? (span.fromMinute <= span.toMinute ? undefined : 'the span ends before it begins');
    if (problem !== undefined) throw new StoreError(`invalid listing: ${problem}`, { retriable: false });
    if (position !== null && !/^-?\d+$/.test(position))
      throw new StoreError(`invalid listing position ${JSON.stringify(position)}: a token`, { retriable: false });
    const [first, last] = tokenRange(slice);
    const from = position === null ? first : BigInt(position);
    if (from < first || from > last)
      throw new StoreError(`listing position ${position} is outside slice ${slice.index} of ${slice.count}`, { retriable: false });
    const pageSize = Math.max(1, Math.min(limit, READ_PAGE_SIZE));
    const Long = cassandra.types.Long;
    const params = [Long.fromString(from.toString()), Long.fromString(last.toString()), new Date(span.fromMinute), new Date(span.toMinute), pageSize];
    const rs = await this.run('list series', () =>
      this.client.execute(this.listWithinCql, params, { prepare: true, fetchSize: pageSize, consistency: this.consistency }),
    );
    const series = rs.rows.map((row) => ({
      series: { app: row.get('app') as string, metric: row.get('metric') as string },
      firstMinute: (row.get('minute') as Date).getTime(),
      position: (row.get('t') as cassandra.types.Long).toString(),
    }));
    const lastToken = series.length === 0 ? last : BigInt(series.at(-1)!.position);
    const more = rs.rows.length >= pageSize && lastToken <= last;
    const progress = more ? Number(((lastToken - first) * 10_000n) / (last - first + 1n)) / 10_000 : 1;
    return { series, more, progress };
  }

  /** Deletes rows by key (idempotent). */
  async deletePoints(keys: PointId[]): Promise<number> {
    await forEachConcurrent(keys, this.concurrency, async (k) => {
      await this.run('delete point', () =>
        this.client.execute(this.deleteCql, [k.app, k.metric, new Date(k.minute)], { prepare: true, isIdempotent: true, consistency: this.consistency }),
      );
    });
    return keys.length;
  }

  /**
   * Whether the env's points table holds any point before `before` (epoch ms). A point found with a
   * LIMIT 1 scan (Cassandra pages a filtered scan per token range, so no coordinator reads the whole
   * table under one timeout), then the oldest such minute when a min() over the same filter answers
   * within 10 s. A keyspace or table dropped meanwhile holds nothing.
   */
  async pointsBefore(before: number): Promise<OldPointsBefore> {
    const db = this.client;
    const keyspace = this.keyspace;
    const table = `${keyspace}.${CASSANDRA_TABLE}`;
    const exists = await db.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?', [keyspace, CASSANDRA_TABLE], {
      prepare: true,
    });
    if (exists.rowLength === 0) return { tableExists: false, oldestMinute: null, exact: true };
    const options = { prepare: true, consistency: cassandra.types.consistencies.localQuorum };
    let found: number | undefined;
    try {
      const rs = await db.execute(`SELECT minute FROM ${table} WHERE minute < ? LIMIT 1 ALLOW FILTERING`, [new Date(before)], options);
      const row = rs.first() as cassandra.types.Row | null;
      found = row ? (row.get('minute') as Date).getTime() : undefined;
    } catch (err) {
      if (isMissingSchema(err)) return { tableExists: false, oldestMinute: null, exact: true };
      throw err;
    }
    if (found === undefined) return { tableExists: true, oldestMinute: null, exact: true };
    try {
      const rs = await db.execute(`SELECT min(minute) AS oldest FROM ${table} WHERE minute < ? ALLOW FILTERING`, [new Date(before)], {
        ...options,
        readTimeout: 10_000,
      });
      const v = (rs.first() as cassandra.types.Row | null)?.get('oldest') as Date | null | undefined;
      return { tableExists: true, oldestMinute: v ? Math.min(found, v.getTime()) : found, exact: v !== undefined && v !== null };
    } catch {
      return { tableExists: true, oldestMinute: found, exact: false };
    }
  }

  /** Drops the env's points table and keyspace (IF EXISTS: a repeat is a no-op). */
  async drop(): Promise<void> {
    await this.client.execute(`DROP TABLE IF EXISTS ${this.keyspace}.${CASSANDRA_TABLE}`);
    await this.client.execute(`DROP KEYSPACE IF EXISTS ${this.keyspace}`);
  }

  /** Shuts the client down unless it was marked shared (closeClient: false). */
  async close(): Promise<void> {
    if (this.closeClient) await this.client.shutdown();
  }

  /** attempt(), with every failure turned into a StoreError (for calls where no point is at fault). */
  private async run<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.attempt(action, fn);
    } catch (err) {
      throw statementFailure(err, `cassandra ${action} (${this.keyspace})`);
    }
  }

  /** fn with transient failures retried; other failures come out unchanged for the caller to classify. */
  private attempt<T>(action: string, fn: () => Promise<T>): Promise<T> {
    const ctx: RetryContext = {
      policy: this.retry,
      isTransient: isTransientCassandraError,
      action: `cassandra ${action} (${this.keyspace})`,
      onRetry: ({ attempt, delayMs, error }) =>
        this.logger?.warn({ env: this.env, store: this.kind, action, attempt, delayMs, err: errorMessage(error) }, 'transient failure, retrying'),
    };
    return retryTransient(fn, ctx);
  }
}

/** Smallest and largest Murmur3 tokens. */
const MIN_TOKEN = -(2n ** 63n);
const MAX_TOKEN = 2n ** 63n - 1n;

/** The inclusive token range of slice `index` of `count` equal parts of the ring. */
export function tokenRange(slice: KeySlice): [bigint, bigint] {
  const span = MAX_TOKEN - MIN_TOKEN + 1n;
  const n = BigInt(slice.count);
  const i = BigInt(slice.index);
  const first = MIN_TOKEN + (span * i) / n;
  const last = slice.index === slice.count - 1 ? MAX_TOKEN : MIN_TOKEN + (span * (i + 1n)) / n - 1n;
  return [first, last];
}

/** A stored row as a MetricPoint; bigint comes back as a Long, timestamp as a Date. */
function rowToPoint(row: cassandra.types.Row): MetricPoint {
  return {
    app: row.get('app') as string,
    metric: row.get('metric') as string,
    minute: (row.get('minute') as Date).getTime(),
    count: (row.get('count') as cassandra.types.Long).toNumber(),
    min: row.get('min') as number,
    max: row.get('max') as number,
    sum: row.get('sum') as number,
    median: row.get('median') as number,
    p95: row.get('p95') as number,
    p99: row.get('p99') as number,
  };
}

/** Problems with Cassandra store options (empty when valid). */
export function cassandraOptionProblems(opts: Partial<CassandraStoreOptions> | undefined): string[] {
  const problems = storeOptionProblems(opts);
  if (opts === undefined || opts === null || typeof opts !== 'object') return problems;
  // Duck-typed so a wrapped or instrumented client is accepted too.
  if (typeof opts.client?.execute !== 'function' || typeof opts.client.shutdown !== 'function')
    problems.push('client: a cassandra-driver Client is required (createCassandraClient in config/clients.ts)');
  problems.push(...wholeNumberProblems('replicationFactor', opts.replicationFactor, 1, 10));
  problems.push(...wholeNumberProblems('concurrency', opts.concurrency, 1, 1024));
  return problems;
}

/** The retention of a store opened only to scan or drop it (one day; it writes nothing). */
const NOMINAL_RETENTION_MS = 86_400_000;

/**
 * The old store's admin side (TTL-wait check, decommission) for one env, on a shared client that
 * it never closes. Scanning and dropping do not depend on the retention, so it is nominal here.
 */
export function openOldStoreAdmin(client: cassandra.Client, env: string): OldStoreAdmin {
  return new CassandraMetricStore({ env, retentionMs: NOMINAL_RETENTION_MS, client, closeClient: false });
}

/** An "invalid request" that says the keyspace or table does not exist. */
function isMissingSchema(err: unknown): boolean {
  return (
    err instanceof cassandra.errors.ResponseError &&
    err.code === cassandra.types.responseErrorCodes.invalid &&
    /unconfigured table|keyspace .* does not exist|table .* does not exist/i.test(err.message)
  );
}
