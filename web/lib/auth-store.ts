import 'server-only';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ensureDynamoTable, keyedTable } from '../../pipeline/kernel/stores/ensure-dynamo-table';
import { createDynamoClient } from '../../config/clients';
import { loadConfig } from '../../config/config';
import { consoleSettings } from './console-settings';
import type { Role } from './roles';

// Where the console keeps its sign-in sessions and personal API tokens: one DynamoDB table
// (switchyard-console-auth; SWITCHYARD_AUTH_TABLE), keyed by what the browser or the CLI presents:
//
//   session#<sha256 of the session id>  one signed-in browser: user, role, created, last seen, expiry
//   token#<token id>                    one personal API token: user, role, name, sha256 of its secret, expiry, revoked
//
// Only hashes of the secrets are stored, so reading the table does not let anyone in. The table is
// small (a row per signed-in browser and per token), so listing is a scan. Items carry
// `expiresAtSec` for DynamoDB's TTL to clean up; every read checks expiry itself (DynamoDB deletes
// late, the local server never).

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const S = (v: string): AttributeValue => ({ S: v });
const N = (v: number): AttributeValue => ({ N: String(v) });

// One client per server process: the DynamoDB the console reads (DYNAMODB_ENDPOINT), or its own
// endpoint for sessions and tokens when SWITCHYARD_AUTH_DYNAMODB_ENDPOINT is set.
const g = globalThis as unknown as { switchyardAuthDynamo?: DynamoDBClient };
function consoleDynamo(): DynamoDBClient {
  if (!g.switchyardAuthDynamo) {
    const own = process.env.SWITCHYARD_AUTH_DYNAMODB_ENDPOINT?.trim();
    g.switchyardAuthDynamo = createDynamoClient(own ? loadConfig({ ...process.env, DYNAMODB_ENDPOINT: own }) : consoleSettings().cfg);
  }
  return g.switchyardAuthDynamo;
}

let ready: Promise<void> | undefined;
async function table(): Promise<string> {
  const name = consoleSettings().authTable;
  ready ??= ensureDynamoTable(consoleDynamo(), keyedTable(name, ['pk', 'S'], ['sk', 'S'])).catch((err: unknown) => {
    ready = undefined;
    throw err;
  });
  await ready;
  return name;
}

/** A session as the sessions page lists it (the id itself is never shown; its hash's first characters name it). */
export interface SessionInfo {
  ref: string;
  username: string;
  role: Role;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

/** Starts a server-side session for a signed-in user; returns its id (which goes into the sealed cookie). */
export async function createSession(username: string, role: Role): Promise<string> {
  const id = randomBytes(32).toString('base64url');
  const now = Date.now();
  const expiresAt = now + consoleSettings().sessionTtlSeconds * 1000;
  await consoleDynamo().send(
    new PutItemCommand({
      TableName: await table(),
      Item: {
        pk: S(`session#${sha256(id)}`),
        sk: S('session'),
        username: S(username),
        role: S(role),
        createdAt: N(now),
        lastSeenAt: N(now),
        expiresAt: N(expiresAt),
        expiresAtSec: N(Math.ceil(expiresAt / 1000)),
      },
    }),
  );
  return id;
}

/** Why a session is not valid, or null when it is. */
export type SessionProblem = 'unknown' | 'expired' | 'idle' | null;

/**
 * Checks a session: it must exist (sign-out and "end sessions" delete it), belong to this user,
 * be within its absolute lifetime and have been used within the idle timeout. A valid session's
 * last-seen time moves on (at most once a minute, to keep writes down).
 */
export async function checkSession(username: string, id: string): Promise<SessionProblem> {
  const name = await table();
  const key = { pk: S(`session#${sha256(id)}`), sk: S('session') };
  const got = await consoleDynamo().send(new GetItemCommand({ TableName: name, Key: key, ConsistentRead: true }));
  const item = got.Item;
  if (!item || item.username?.S !== username) return 'unknown';
  const now = Date.now();
  if (Number(item.expiresAt?.N) <= now) return 'expired';
  const lastSeen = Number(item.lastSeenAt?.N);
  if (now - lastSeen > consoleSettings().sessionIdleSeconds * 1000) return 'idle';
  if (now - lastSeen > 60_000)
    await consoleDynamo().send(
      new UpdateItemCommand({
        TableName: name,
        Key: key,
        UpdateExpression: 'SET lastSeenAt = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':now': N(now) },
      }),
    );
  return null;
}

/** Ends one session (sign-out). */
export async function endSession(id: string): Promise<void> {
  await consoleDynamo().send(new DeleteItemCommand({ TableName: await table(), Key: { pk: S(`session#${sha256(id)}`), sk: S('session') } }));
}

async function scanKind(kind: 'session' | 'token'): Promise<Record<string, AttributeValue>[]> {
  const name = await table();
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await consoleDynamo().send(
      new ScanCommand({
        TableName: name,
        FilterExpression: 'sk = :kind',
        ExpressionAttributeValues: { ':kind': S(kind) },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every live session (not expired, not idle), newest first. */
export async function listSessions(): Promise<SessionInfo[]> {
  const now = Date.now();
  const idleMs = consoleSettings().sessionIdleSeconds * 1000;
  return (await scanKind('session'))
    .map((i) => ({
      ref: i.pk!.S!.slice('session#'.length, 'session#'.length + 12),
      username: i.username?.S ?? '',
      role: (i.role?.S ?? 'viewer') as Role,
      createdAt: Number(i.createdAt?.N),
      lastSeenAt: Number(i.lastSeenAt?.N),
      expiresAt: Number(i.expiresAt?.N),
    }))
    .filter((s) => s.expiresAt > now && now - s.lastSeenAt <= idleMs)
    .sort((a, b) => b.createdAt - a.createdAt);
}

/** Ends every session of a user (all their browsers are signed out at their next request); returns how many. */
export async function endUserSessions(username: string): Promise<number> {
  const name = await table();
  const mine = (await scanKind('session')).filter((i) => i.username?.S === username);
  for (const i of mine) await consoleDynamo().send(new DeleteItemCommand({ TableName: name, Key: { pk: i.pk!, sk: i.sk! } }));
  return mine.length;
}

/** A personal API token as its owner's page lists it (never the secret). */
export interface TokenInfo {
  id: string;
  username: string;
  role: Role;
  name: string;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
  /** At the time it was read. */
  state: 'active' | 'revoked' | 'expired';
}

const TOKEN_PATTERN = /^syt_([A-Za-z0-9_-]{16})_([A-Za-z0-9_-]{43})$/;

/**
 * Creates a personal API token for a user, with their role and an expiry. Returns the token
 * itself, which is shown once: only the SHA-256 of its secret is kept (the secret is 256 random
 * bits, so a fast hash is enough).
 */
export async function createToken(username: string, role: Role, name: string, ttlDays: number): Promise<{ token: string; info: TokenInfo }> {
  const id = randomBytes(12).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  const now = Date.now();
  const expiresAt = now + ttlDays * 86_400_000;
  await consoleDynamo().send(
    new PutItemCommand({
      TableName: await table(),
      Item: {
        pk: S(`token#${id}`),
        sk: S('token'),
        username: S(username),
        role: S(role),
        name: S(name),
        secretHash: S(sha256(secret)),
        createdAt: N(now),
        expiresAt: N(expiresAt),
        // Kept a week after expiry, so the list can say it expired, then cleaned up.
        expiresAtSec: N(Math.ceil(expiresAt / 1000) + 7 * 86_400),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
  return { token: `syt_${id}_${secret}`, info: { id, username, role, name, createdAt: now, expiresAt, revokedAt: null, lastUsedAt: null, state: 'active' } };
}

const tokenInfo = (i: Record<string, AttributeValue>): TokenInfo => ({
  state: i.revokedAt?.N ? 'revoked' : Number(i.expiresAt?.N) <= Date.now() ? 'expired' : 'active',
  id: i.pk!.S!.slice('token#'.length),
  username: i.username?.S ?? '',
  role: (i.role?.S ?? 'viewer') as Role,
  name: i.name?.S ?? '',
  createdAt: Number(i.createdAt?.N),
  expiresAt: Number(i.expiresAt?.N),
  revokedAt: i.revokedAt?.N ? Number(i.revokedAt.N) : null,
  lastUsedAt: i.lastUsedAt?.N ? Number(i.lastUsedAt.N) : null,
});

/** A user's tokens (or everyone's, without a user), newest first. */
export async function listTokens(username?: string): Promise<TokenInfo[]> {
  return (await scanKind('token'))
    .map(tokenInfo)
    .filter((t) => username === undefined || t.username === username)
    .sort((a, b) => b.createdAt - a.createdAt);
}

/** Revokes a token of this user; false when the user has no such token. */
export async function revokeToken(username: string, id: string): Promise<boolean> {
  try {
    await consoleDynamo().send(
      new UpdateItemCommand({
        TableName: await table(),
        Key: { pk: S(`token#${id}`), sk: S('token') },
        UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
        ConditionExpression: 'username = :u',
        ExpressionAttributeValues: { ':now': N(Date.now()), ':u': S(username) },
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name === 'ConditionalCheckFailedException') return false;
    throw err;
  }
}

/** Why a token is refused, or its owner and role. */
export type TokenCheck = { ok: true; username: string; role: Role; tokenId: string } | { ok: false; reason: string };

/** Checks a presented token: well-formed, known, the secret's hash matching, not revoked, not expired. */
export async function checkToken(token: string): Promise<TokenCheck> {
  const m = TOKEN_PATTERN.exec(token);
  if (!m) return { ok: false, reason: 'not a Switchyard API token (syt_...)' };
  const [, id, secret] = m as unknown as [string, string, string];
  const name = await table();
  const key = { pk: S(`token#${id}`), sk: S('token') };
  const got = await consoleDynamo().send(new GetItemCommand({ TableName: name, Key: key, ConsistentRead: true }));
  const item = got.Item;
  const expected = Buffer.from(item?.secretHash?.S ?? '0'.repeat(64), 'hex');
  const matches = timingSafeEqual(Buffer.from(sha256(secret), 'hex'), expected.length === 32 ? expected : Buffer.alloc(32));
  if (!item || !matches) return { ok: false, reason: 'unknown token' };
  const t = tokenInfo(item);
  if (t.revokedAt !== null) return { ok: false, reason: `token ${t.id} was revoked` };
  if (t.expiresAt <= Date.now()) return { ok: false, reason: `token ${t.id} expired at ${new Date(t.expiresAt).toISOString()}` };
  if (t.lastUsedAt === null || Date.now() - t.lastUsedAt > 60_000)
    await consoleDynamo().send(
      new UpdateItemCommand({ TableName: name, Key: key, UpdateExpression: 'SET lastUsedAt = :now', ExpressionAttributeValues: { ':now': N(Date.now()) } }),
    );
  return { ok: true, username: t.username, role: t.role, tokenId: t.id };
}
