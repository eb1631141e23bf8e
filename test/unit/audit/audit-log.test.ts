import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { appendAuditEntry, auditItem, AuditSeqConflictError, InvalidAuditEntryError, itemToEntry, readAudit } from '../../../audit/audit-log.js';
import type { AuditEntry } from '../../../contract/index.js';

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

/** A DynamoDB client that keeps items in a map and applies attribute_not_exists on put (enough for appendAuditEntry). */
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
    assert.deepEqual(await appendAuditEntry(client, entry), { written: true });
    assert.deepEqual(await appendAuditEntry(client, { ...entry, runId: 'run-2' }), { written: false });
    assert.equal(items.size, 1);
    await assert.rejects(appendAuditEntry(client, { ...entry, action: 'rollback' }), (err: unknown) => {
      assert.ok(err instanceof AuditSeqConflictError);
      assert.equal(err.retriable, false);
      assert.match(err.message, /^audit seq 4 of env staging already taken by workflow switchyard-migration-staging \(run run-1, action advance/);
      return true;
    });
    await assert.rejects(appendAuditEntry(client, { ...entry, workflowId: 'other' }), AuditSeqConflictError);
    assert.deepEqual(itemToEntry([...items.values()][0]!), entry, 'the stored entry is untouched');
  });

  it('checks read options before reading', async () => {
    const never = {} as DynamoDBClient;
    await assert.rejects(readAudit(never, { limit: 0 }), InvalidAuditEntryError);
    await assert.rejects(readAudit(never, { fromSeq: 3 }), /fromSeq needs env/);
  });
});
