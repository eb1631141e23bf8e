import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  appendAuditEntry,
  auditItem,
  AuditSeqConflictError,
  formatAuditCursor,
  InvalidAuditEntryError,
  itemToEntry,
  parseAuditCursor,
  readAudit,
} from '../../../audit/audit-log.js';
import type { AuditEntry } from '../../../contract/index.js';
import { testKeyRing } from '../../support/integrity.js';

const keys = testKeyRing();

const entry: AuditEntry = {
  env: 'staging',
  seq: 4,
  at: 1_800_000_000_000,
  actor: 'alice',
  action: 'advance',
  from: 'science',
  to: 'cutover',
  reason: 'science clean for 24h',
  evidence: { mismatchRate: 0.0001, comparisons: 120_000, gate: { passed: true } },
  workflowId: 'switchyard-migration-staging',
  runId: 'run-1',
  controlVersion: 9,
};

/** A DynamoDB client that keeps items in a map, applies attribute_not_exists on put and answers appendAuditEntry's query for the entry before. */
function fakeDynamo(): { client: DynamoDBClient; items: Map<string, Record<string, AttributeValue>> } {
  const items = new Map<string, Record<string, AttributeValue>>();
  const key = (k: Record<string, AttributeValue>): string => `${k.env?.S}#${k.seq?.N}`;
  const client = {
    send: async (cmd: unknown) => {
      if (cmd instanceof PutItemCommand) {
        const item = cmd.input.Item!;
        if (items.has(key(item))) throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
        items.set(key(item), item);
        return {};
      }
      if (cmd instanceof GetItemCommand) return { Item: items.get(key(cmd.input.Key!)) };
      if (cmd instanceof QueryCommand) {
        const v = cmd.input.ExpressionAttributeValues!;
        const below = [...items.values()]
          .filter((i) => i.env?.S === v[':env']?.S && Number(i.seq?.N) < Number(v[':seq']?.N))
          .sort((a, b) => Number(b.seq?.N) - Number(a.seq?.N));
        return { Items: below.slice(0, 1) };
      }
      throw new Error(`unexpected command ${String(cmd)}`);
    },
  } as unknown as DynamoDBClient;
  return { client, items };
}

describe('audit log', () => {
  it('stores evidence as a JSON string and reads every field back', () => {
    const item = auditItem(entry);
    assert.equal(item.evidence?.S, JSON.stringify(entry.evidence));
    assert.deepEqual(itemToEntry(item), entry);
    const noVersion = { ...entry, controlVersion: null };
    assert.deepEqual(auditItem(noVersion).controlVersion, { NULL: true });
    assert.deepEqual(itemToEntry(auditItem(noVersion)), noVersion);
  });

  it('refuses entries it cannot store, naming every problem', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.throws(
      () => auditItem({ ...entry, seq: -1, workflowId: '', evidence: circular }),
      (err: unknown) =>
        err instanceof InvalidAuditEntryError &&
        err.retriable === false &&
        /seq must be/.test(err.message) &&
        /workflowId/.test(err.message) &&
        /evidence/.test(err.message),
    );
  });

  it('appends once: a repeat of the same step is a no-op, anything else on the seq a conflict', async () => {
    const { client, items } = fakeDynamo();
    assert.deepEqual(await appendAuditEntry(client, entry, keys), { written: true });
    assert.deepEqual(await appendAuditEntry(client, { ...entry, runId: 'run-2' }, keys), { written: false });
    assert.equal(items.size, 1);
    await assert.rejects(appendAuditEntry(client, { ...entry, action: 'rollback' }, keys), (err: unknown) => {
      assert.ok(err instanceof AuditSeqConflictError);
      assert.equal(err.retriable, false);
      assert.match(err.message, /^audit seq 4 of env staging already taken by workflow switchyard-migration-staging \(run run-1, action advance/);
      return true;
    });
    await assert.rejects(appendAuditEntry(client, { ...entry, workflowId: 'other' }, keys), AuditSeqConflictError);
    assert.deepEqual(itemToEntry([...items.values()][0]!), entry, 'the stored entry is untouched');
  });

  it('chains each entry to the newest one below its seq, the same hash on a retry', async () => {
    const { client, items } = fakeDynamo();
    await appendAuditEntry(client, entry, keys);
    await appendAuditEntry(client, { ...entry, seq: 5, action: 'set_ramp' }, keys);
    const stored = (seq: number) => items.get(`staging#${seq}`)!;
    assert.equal(stored(4).chainPrevSeq, undefined, 'the first entry starts the chain');
    assert.deepEqual(stored(5).chainPrevSeq, { N: '4' });
    assert.match(stored(5).chainHash?.S ?? '', /^t1:[0-9a-f]{64}$/);
    const first = stored(5).chainHash?.S;
    items.delete('staging#5');
    await appendAuditEntry(client, { ...entry, seq: 5, action: 'set_ramp' }, keys);
    assert.equal(stored(5).chainHash?.S, first, 'a retried append of the same seq computes the same hash');
  });

  it('pages newest-first reads with a cursor it can write and read back', async () => {
    const never = {} as DynamoDBClient;
    await assert.rejects(readAudit(never, { after: { at: 1, env: 'x', seq: 1 } }), /newest-first/);
    assert.deepEqual(parseAuditCursor(formatAuditCursor(entry)), { at: entry.at, env: 'staging', seq: 4 });
    assert.equal(parseAuditCursor('1.staging'), null);
  });

  it('checks read options before reading', async () => {
    const never = {} as DynamoDBClient;
    await assert.rejects(readAudit(never, { limit: 0 }), InvalidAuditEntryError);
    await assert.rejects(readAudit(never, { fromSeq: 3 }), /fromSeq needs env/);
  });
});
