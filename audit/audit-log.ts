/**
 * The audit log: one DynamoDB table, per environment and time-ordered, append-only. Each entry
 * records who did what (from → to), why, and the evidence a gate or rollback used.
 *
 * Key (env, seq): the migration workflow numbers its entries per env, so an activity that runs
 * twice writes the same key twice, and the conditional put turns the repeat into a no-op. An
 * entry is never updated or deleted by this module.
 *
 * Every entry is chained (audit-chain.ts): it carries a keyed hash over its content and the hash
 * of the entry before it, so a change made in the table by anyone without the integrity key is
 * found by verifyAuditChain (the console's audit page, `npm run ops -- audit verify`).
 *
 * Errors carry `retriable` like kafkajs' and the control channel's: the activities map a
 * non-retriable one to a non-retryable ApplicationFailure. This module itself does not depend on
 * Temporal, so the console and the CLI can read the log with it.
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ResourceNotFoundException,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ActivityFailureType, type AuditEntry } from '../contract/index.js';
import type { KeyRing } from '../kit/integrity.js';
import { ensureDynamoTable, keyedTable } from '../pipeline/kernel/stores/ensure-dynamo-table.js';
import { chainAttributes, linkOf, verifyChain, type ChainReport } from './audit-chain.js';

/** The audit table: key (env S, seq N). */
export const AUDIT_TABLE = 'switchyard-audit';

/** Most entries readAudit returns when no limit is given. */
export const DEFAULT_AUDIT_LIMIT = 100;

/** The audit seq of an env is already taken by a different entry: retrying cannot help. */
export class AuditSeqConflictError extends Error {
  /** The same write gives the same answer. */
  readonly retriable = false;
  override readonly name = ActivityFailureType.auditSeqConflict;
  constructor(
    /** The entry that could not be written. */
    readonly entry: Pick<AuditEntry, 'env' | 'seq' | 'workflowId' | 'action'>,
    /** The entry that holds the seq. */
    readonly existing: { workflowId: string; action: string; runId: string; at: number },
  ) {
    super(
      `audit seq ${entry.seq} of env ${entry.env} already taken by workflow ${existing.workflowId} (run ${existing.runId}, action ${existing.action}, ` +
        `at ${new Date(existing.at).toISOString()}); refusing to write action ${entry.action} of workflow ${entry.workflowId}`,
    );
  }
}

/** An audit entry that cannot be stored as given (bad key, evidence that is not JSON): retrying cannot help. */
export class InvalidAuditEntryError extends Error {
  /** The same entry gives the same answer. */
  readonly retriable = false;
  override readonly name = ActivityFailureType.invalidAuditEntry;
}

/** Creates the audit table if it is missing (idempotent; safe when several callers race). */
export async function ensureAuditTable(dynamo: DynamoDBClient): Promise<void> {
  await ensureDynamoTable(dynamo, keyedTable(AUDIT_TABLE, ['env', 'S'], ['seq', 'N']));
}

/** What appendAuditEntry did. */
export interface AppendAuditResult {
  /** False when the same entry (same env, seq, workflow and action) was already stored. */
  written: boolean;
}

/**
 * Appends an entry: a conditional put on (env, seq), chained to the newest entry below its seq
 * (read consistently first; the workflow writes an env's entries one at a time). If the seq is
 * taken by the same workflow and action, an earlier attempt of the same step wrote it: success,
 * nothing written. If it is taken by anything else, throws AuditSeqConflictError (not retriable):
 * two writers disagree about the env's history, and a person must look. Transient DynamoDB errors
 * come out unchanged.
 */
export async function appendAuditEntry(dynamo: DynamoDBClient, entry: AuditEntry, keys: KeyRing): Promise<AppendAuditResult> {
  const item = auditItem(entry);
  const before = await dynamo.send(
    new QueryCommand({
      TableName: AUDIT_TABLE,
      KeyConditionExpression: '#env = :env AND #seq < :seq',
      ExpressionAttributeNames: { '#env': 'env', '#seq': 'seq' },
      ExpressionAttributeValues: { ':env': { S: entry.env }, ':seq': { N: String(entry.seq) } },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  const prev = before.Items?.[0];
  const chained = { ...item, ...chainAttributes(keys, item, prev ? linkOf(prev) : null) };
  try {
    await dynamo.send(new PutItemCommand({ TableName: AUDIT_TABLE, Item: chained, ConditionExpression: 'attribute_not_exists(seq)' }));
    return { written: true };
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
  }
  const existing = await dynamo.send(
    new GetItemCommand({ TableName: AUDIT_TABLE, Key: { env: { S: entry.env }, seq: { N: String(entry.seq) } }, ConsistentRead: true }),
  );
  // Entries are never deleted, so a failed condition means the item is there.
  const found = existing.Item ? itemToEntry(existing.Item) : undefined;
  if (found && found.workflowId === entry.workflowId && found.action === entry.action) return { written: false };
  throw new AuditSeqConflictError(entry, {
    workflowId: found?.workflowId ?? '(unknown)',
    action: found?.action ?? '(unknown)',
    runId: found?.runId ?? '(unknown)',
    at: found?.at ?? 0,
  });
}

/** Checks one environment's whole hash chain (every entry, in seq order); a missing table is an empty log. */
export async function verifyAuditChain(dynamo: DynamoDBClient, env: string, keys: KeyRing): Promise<ChainReport> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  try {
    do {
      const page = await dynamo.send(
        new QueryCommand({
          TableName: AUDIT_TABLE,
          KeyConditionExpression: '#env = :env',
          ExpressionAttributeNames: { '#env': 'env' },
          ExpressionAttributeValues: { ':env': { S: env } },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
  return verifyChain(env, items, keys);
}

/** Filters of readAudit; all optional. */
export interface AuditQuery {
  /** One environment (a Query on its partition); without it every environment (a Scan). */
  env?: string;
  /** Only entries with seq >= fromSeq (with env). */
  fromSeq?: number;
  /** Most entries returned (default 100). */
  limit?: number;
  /** Only entries by this actor. */
  actor?: string;
  /** Only entries with this action. */
  action?: string;
  /** Only entries at or after / at or before these times (epoch ms). */
  since?: number;
  until?: number;
  /** Newest first (default: oldest first). */
  newestFirst?: boolean;
  /**
   * Only entries after this one in newest-first order (with newestFirst): the next page of an
   * export starts after the last entry of the page before. With env only its seq counts.
   */
  after?: AuditCursor;
}

/** Where a page of entries (newest first) ended: the last entry's time, env and seq. */
export interface AuditCursor {
  at: number;
  env: string;
  seq: number;
}

/** The cursor after an entry, as text for a URL (`<at>.<env>.<seq>`). */
export function formatAuditCursor(e: Pick<AuditEntry, 'at' | 'env' | 'seq'>): string {
  return `${e.at}.${e.env}.${e.seq}`;
}

/** A cursor read back from its text, or null when it is not one. */
export function parseAuditCursor(text: string): AuditCursor | null {
  const m = /^(\d{1,16})\.([a-z][a-z0-9-]{0,30})\.(\d{1,15})$/.exec(text);
  return m ? { at: Number(m[1]), env: m[2]!, seq: Number(m[3]) } : null;
}

/** Newest-first order of the all-environment read: time, then env, then seq (the reverse of the Scan's sort). */
const newestFirstOrder = (a: Pick<AuditEntry, 'at' | 'env' | 'seq'>, b: Pick<AuditEntry, 'at' | 'env' | 'seq'>): number =>
  b.at - a.at || b.env.localeCompare(a.env) || b.seq - a.seq;

/**
 * Reads audit entries for the console and the CLI. With env: that env's entries in seq order
 * (a Query, paged until `limit` entries pass the filters). Without env: every env's entries in
 * time order (a Scan of the whole table with the same filters — fine while the log is small; a
 * global secondary index on `at` is the step after). A missing table reads as an empty log.
 */
export async function readAudit(dynamo: DynamoDBClient, query: AuditQuery = {}): Promise<AuditEntry[]> {
  const limit = query.limit ?? DEFAULT_AUDIT_LIMIT;
  if (!Number.isInteger(limit) || limit <= 0) throw new InvalidAuditEntryError(`limit must be a positive integer, got ${limit}`);
  if (query.fromSeq !== undefined && query.env === undefined) throw new InvalidAuditEntryError('fromSeq needs env (seq numbers are per environment)');
  if (query.after !== undefined && !query.newestFirst) throw new InvalidAuditEntryError('after pages newest-first reads only');

  const filters: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  if (query.actor !== undefined) {
    filters.push('#actor = :actor');
    names['#actor'] = 'actor';
    values[':actor'] = { S: query.actor };
  }
  if (query.action !== undefined) {
    filters.push('#action = :action');
    names['#action'] = 'action';
    values[':action'] = { S: query.action };
  }
  if (query.since !== undefined) {
    filters.push('#at >= :since');
    names['#at'] = 'at';
    values[':since'] = { N: String(query.since) };
  }
  if (query.until !== undefined) {
    filters.push('#at <= :until');
    names['#at'] = 'at';
    values[':until'] = { N: String(query.until) };
  }
  const filter = filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {};

  try {
    if (query.env !== undefined) {
      names['#env'] = 'env';
      values[':env'] = { S: query.env };
      let keyCondition = '#env = :env';
      if (query.fromSeq !== undefined || query.after !== undefined) {
        names['#seq'] = 'seq';
        const from = query.fromSeq ?? 0;
        values[':fromSeq'] = { N: String(from) };
        if (query.after === undefined) keyCondition += ' AND #seq >= :fromSeq';
        else {
          values[':toSeq'] = { N: String(query.after.seq - 1) };
          keyCondition += ' AND #seq BETWEEN :fromSeq AND :toSeq';
          if (query.after.seq - 1 < from) return [];
        }
      }
      const out: AuditEntry[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        // DynamoDB's Limit counts items before the filter, so page until enough pass it.
        const res = await dynamo.send(
          new QueryCommand({
            TableName: AUDIT_TABLE,
            KeyConditionExpression: keyCondition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ScanIndexForward: !query.newestFirst,
            ConsistentRead: true,
            ExclusiveStartKey: start,
            ...filter,
          }),
        );
        for (const item of res.Items ?? []) out.push(itemToEntry(item));
        start = res.LastEvaluatedKey;
      } while (start && out.length < limit);
      return out.slice(0, limit);
    }

    const all: AuditEntry[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const res = await dynamo.send(
        new ScanCommand({
          TableName: AUDIT_TABLE,
          ...(filters.length > 0 ? { ExpressionAttributeNames: names, ExpressionAttributeValues: values } : {}),
          ConsistentRead: true,
          ExclusiveStartKey: start,
          ...filter,
        }),
      );
      for (const item of res.Items ?? []) all.push(itemToEntry(item));
      start = res.LastEvaluatedKey;
    } while (start);
    // A Scan has no order: sort by time, then env and seq so entries of one env stay in seq order.
    all.sort((a, b) => a.at - b.at || a.env.localeCompare(b.env) || a.seq - b.seq);
    if (query.newestFirst) all.reverse();
    const after = query.after;
    return (after ? all.filter((e) => newestFirstOrder(after, e) < 0) : all).slice(0, limit);
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return [];
    throw err;
  }
}

/** The stored form of an entry (evidence as a JSON string; a null control version as NULL). */
export function auditItem(entry: AuditEntry): Record<string, AttributeValue> {
  const problems: string[] = [];
  if (typeof entry.env !== 'string' || entry.env.length === 0) problems.push('env must be a non-empty string');
  if (!Number.isSafeInteger(entry.seq) || entry.seq < 0) problems.push(`seq must be a non-negative integer, got ${String(entry.seq)}`);
  if (!Number.isFinite(entry.at)) problems.push(`at must be a time in epoch ms, got ${String(entry.at)}`);
  if (typeof entry.workflowId !== 'string' || entry.workflowId.length === 0) problems.push('workflowId must be a non-empty string');
  if (typeof entry.action !== 'string' || entry.action.length === 0) problems.push('action must be a non-empty string');
  for (const k of ['actor', 'from', 'to', 'reason', 'runId'] as const) if (typeof entry[k] !== 'string') problems.push(`${k} must be a string`);
  if (entry.controlVersion !== null && !Number.isSafeInteger(entry.controlVersion))
    problems.push(`controlVersion must be an integer or null, got ${String(entry.controlVersion)}`);
  let evidence: string | undefined;
  try {
    evidence = JSON.stringify(entry.evidence ?? {});
  } catch (err) {
    problems.push(`evidence is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (problems.length > 0 || evidence === undefined)
    throw new InvalidAuditEntryError(`audit entry for env ${String(entry.env)} seq ${String(entry.seq)} is invalid: ${problems.join('; ')}`);
  return {
    env: { S: entry.env },
    seq: { N: String(entry.seq) },
    at: { N: String(entry.at) },
    actor: { S: entry.actor },
    action: { S: entry.action },
    from: { S: entry.from },
    to: { S: entry.to },
    reason: { S: entry.reason },
    evidence: { S: evidence },
    workflowId: { S: entry.workflowId },
    runId: { S: entry.runId },
    controlVersion: entry.controlVersion === null ? { NULL: true } : { N: String(entry.controlVersion) },
  };
}

/** An entry read back from its stored form (an unreadable evidence string is kept under `unparsed`). */
export function itemToEntry(item: Record<string, AttributeValue>): AuditEntry {
  const s = (k: string): string => item[k]?.S ?? '';
  const n = (k: string): number => (item[k]?.N !== undefined ? Number(item[k].N) : 0);
  let evidence: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(s('evidence') || '{}');
    evidence = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { value: parsed };
  } catch {
    evidence = { unparsed: s('evidence') };
  }
  return {
    env: s('env'),
    seq: n('seq'),
    at: n('at'),
    actor: s('actor'),
    action: s('action'),
    from: s('from'),
    to: s('to'),
    reason: s('reason'),
    evidence,
    workflowId: s('workflowId'),
    runId: s('runId'),
    controlVersion: item.controlVersion?.N !== undefined ? Number(item.controlVersion.N) : null,
  };
}
