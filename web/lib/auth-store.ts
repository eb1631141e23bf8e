import 'server-only';
import { createHash, randomBytes } from 'node:crypto';
import {
  ConditionalCheckFailedException,
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
import { loadIntegrityKeys } from '../../config/integrity-keys';
import { checkTag, makeTag, tagKeyId, type KeyRing } from '../../kit/integrity';
import { consoleSettings } from './console-settings';
import type { Role } from './roles';

// Where the console keeps its sign-in sessions and personal API tokens: one DynamoDB table
// (switchyard-console-auth; SWITCHYARD_AUTH_TABLE), keyed by what the browser or the CLI presents:
//
//   session#<sha256 of the session id>  one signed-in browser: user, role, created, last seen, expiry, tag
//   token#<token id>                    one personal API token: user, role, name, expiry, verifier, revoked
//
// Nothing stored lets anyone in, and nothing written to the table without the integrity key
// (config/integrity-keys.ts) does either:
//  - a session row carries `tag`, a keyed hash over its key, user and times (last seen included,
//    re-tagged when it moves on), so a row inserted or edited in the table is no session;
//  - a token row carries `verifier`, a keyed hash over the token's id and secret and the row's
//    user, role, name and times: only the token itself checks against it, and only as the row
//    was made (a changed user, role or expiry fails). Revoking removes the verifier, so clearing
//    `revokedAt` in the table does not bring a token back. A use re-tags a token made under an
//    older key with the current one (a rotation migrates the tokens in use).
// The table is small (a row per signed-in browser and per token), so listing is a scan. Items
// carry `expiresAtSec` for DynamoDB's TTL to clean up; every read checks expiry itself (DynamoDB
// deletes late, the local server never).

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

/** The integrity key ring (made on first use; read again when the file changes, e.g. after a rotation). */
const keys = (): KeyRing => loadIntegrityKeys(consoleSettings().integrityKeyFile, { create: true });

const sessionFields = (pk: string, username: string, createdAt: number, expiresAt: number, lastSeenAt: number) => [
  pk,
  username,
  createdAt,
  expiresAt,
  lastSeenAt,
];

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
  const pk = `session#${sha256(id)}`;
  await consoleDynamo().send(
    new PutItemCommand({
      TableName: await table(),
      Item: {
        pk: S(pk),
        sk: S('session'),
        username: S(username),
        role: S(role),
        createdAt: N(now),
        lastSeenAt: N(now),
        expiresAt: N(expiresAt),
        expiresAtSec: N(Math.ceil(expiresAt / 1000)),
        tag: S(makeTag(keys(), 'session', sessionFields(pk, username, now, expiresAt, now))),
      },
    }),
  );
  return id;
}

/** Why a session is not valid, or null when it is. */
export type SessionProblem = 'unknown' | 'expired' | 'idle' | null;

/** True when a session row is as the console wrote it (its tag checks with the integrity key). */
function sessionRowChecks(item: Record<string, AttributeValue>): boolean {
  const fields = sessionFields(item.pk?.S ?? '', item.username?.S ?? '', Number(item.createdAt?.N), Number(item.expiresAt?.N), Number(item.lastSeenAt?.N));
  return checkTag(keys(), item.tag?.S, 'session', fields) === 'ok';
}

/**
 * Checks a session: it must exist (sign-out and "end sessions" delete it), be as the console
 * wrote it (its tag checks: a row written into the table by anything else is no session), belong
 * to this user, be within its absolute lifetime and have been used within the idle timeout. A
 * valid session's last-seen time moves on (at most once a minute, to keep writes down), re-tagged.
 */
export async function checkSession(username: string, id: string): Promise<SessionProblem> {
  const name = await table();
  const pk = `session#${sha256(id)}`;
  const key = { pk: S(pk), sk: S('session') };
  const got = await consoleDynamo().send(new GetItemCommand({ TableName: name, Key: key, ConsistentRead: true }));
  const item = got.Item;
  if (!item || item.username?.S !== username || !sessionRowChecks(item)) return 'unknown';
  const now = Date.now();
  const expiresAt = Number(item.expiresAt?.N);
  if (expiresAt <= now) return 'expired';
  const lastSeen = Number(item.lastSeenAt?.N);
  if (now - lastSeen > consoleSettings().sessionIdleSeconds * 1000) return 'idle';
  if (now - lastSeen > 60_000) {
    const tag = makeTag(keys(), 'session', sessionFields(pk, username, Number(item.createdAt?.N), expiresAt, now));
    await consoleDynamo()
      .send(
        new UpdateItemCommand({
          TableName: name,
          Key: key,
          UpdateExpression: 'SET lastSeenAt = :now, tag = :tag',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': N(now), ':tag': S(tag) },
        }),
      )
      .catch((err: unknown) => {
        // Signed out meanwhile: the next check finds no session.
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      });
  }
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

/** Every live session (not expired, not idle; rows that fail their check are none), newest first. */
export async function listSessions(): Promise<SessionInfo[]> {
  const now = Date.now();
  const idleMs = consoleSettings().sessionIdleSeconds * 1000;
  return (await scanKind('session'))
    .filter(sessionRowChecks)
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
  /** At the time it was read; `unusable`: no verifier (made before tokens were keyed, or not by the console). */
  state: 'active' | 'revoked' | 'expired' | 'unusable';
}

const TOKEN_PATTERN = /^syt_([A-Za-z0-9_-]{16})_([A-Za-z0-9_-]{43})$/;

const tokenFields = (id: string, secret: string, i: { username: string; role: string; name: string; createdAt: number; expiresAt: number }) => [
  id,
  secret,
  i.username,
  i.role,
  i.name,
  i.createdAt,
  i.expiresAt,
];

/**
 * Creates a personal API token for a user, with their role and an expiry. Returns the token
 * itself, which is shown once: only its verifier is kept, a keyed hash of the secret (256 random
 * bits, so a fast hash is enough) with the row's fields.
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
        verifier: S(makeTag(keys(), 'token', tokenFields(id, secret, { username, role, name, createdAt: now, expiresAt }))),
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
  state: i.revokedAt?.N ? 'revoked' : !i.verifier?.S ? 'unusable' : Number(i.expiresAt?.N) <= Date.now() ? 'expired' : 'active',
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

/** Revokes a token of this user (its verifier goes, so nothing brings it back); false when the user has no such token. */
export async function revokeToken(username: string, id: string): Promise<boolean> {
  try {
    await consoleDynamo().send(
      new UpdateItemCommand({
        TableName: await table(),
        Key: { pk: S(`token#${id}`), sk: S('token') },
        UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now) REMOVE verifier',
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

/**
 * Checks a presented token: well-formed, known, not revoked, its verifier checking against the
 * secret and the row's fields (a row not written by the console, or changed since, fails), not
 * expired. A use is noted (at most once a minute), and re-tags a token made under an older key.
 */
export async function checkToken(token: string): Promise<TokenCheck> {
  const m = TOKEN_PATTERN.exec(token);
  if (!m) return { ok: false, reason: 'not a Switchyard API token (syt_...)' };
  const [, id, secret] = m as unknown as [string, string, string];
  const name = await table();
  const key = { pk: S(`token#${id}`), sk: S('token') };
  const got = await consoleDynamo().send(new GetItemCommand({ TableName: name, Key: key, ConsistentRead: true }));
  const item = got.Item;
  if (!item) return { ok: false, reason: 'unknown token' };
  const t = tokenInfo(item);
  if (t.revokedAt !== null) return { ok: false, reason: `token ${t.id} was revoked` };
  const ring = keys();
  const verifier = item.verifier?.S;
  if (verifier === undefined) {
    return item.secretHash?.S
      ? { ok: false, reason: `token ${t.id} was made before tokens were keyed: make a new one on the console's API tokens page` }
      : { ok: false, reason: 'unknown token' };
  }
  if (checkTag(ring, verifier, 'token', tokenFields(id, secret, t)) !== 'ok') return { ok: false, reason: 'unknown token' };
  if (t.expiresAt <= Date.now()) return { ok: false, reason: `token ${t.id} expired at ${new Date(t.expiresAt).toISOString()}` };
  const rekey = tagKeyId(verifier) !== ring.current.id;
  if (rekey || t.lastUsedAt === null || Date.now() - t.lastUsedAt > 60_000) {
    const values: Record<string, AttributeValue> = { ':now': N(Date.now()), ':old': S(verifier) };
    if (rekey) values[':new'] = S(makeTag(ring, 'token', tokenFields(id, secret, t)));
    await consoleDynamo()
      .send(
        new UpdateItemCommand({
          TableName: name,
          Key: key,
          UpdateExpression: rekey ? 'SET lastUsedAt = :now, verifier = :new' : 'SET lastUsedAt = :now',
          // Never on a row revoked (or deleted) meanwhile: that would bring its verifier back.
          ConditionExpression: 'verifier = :old AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: values,
        }),
      )
      .catch((err: unknown) => {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      });
  }
  return { ok: true, username: t.username, role: t.role, tokenId: t.id };
}
