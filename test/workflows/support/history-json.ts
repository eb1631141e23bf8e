/**
 * Workflow histories as Temporal's standard JSON (the format of the web UI's download and
 * `temporal workflow show --output json`), for the replay fixtures.
 *
 * Why not historyToJSON / historyFromJSON from @temporalio/common: in this install
 * @temporalio/common and @temporalio/proto each get their own nested copy of protobufjs 8
 * (@grpc/proto-loader keeps protobufjs 7 at the top level), and common's ProtoJSON codec rejects
 * the History type built by proto's copy ("type must be a Type"). This module uses the codec of
 * the copy that built the types.
 */
import { createRequire } from 'node:module';
import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}

const require = createRequire(import.meta.url);
const protoRequire = createRequire(require.resolve('@temporalio/proto'));
const protojson = protoRequire('protobufjs/ext/protojson') as ProtoJson;
// The CommonJS exports object (an ESM namespace object is not a protobufjs root), patched the
// way @temporalio/common does it (the module has no type declarations of its own path).
const proto = require('@temporalio/proto') as object;
const { patchProtobufRoot } = require('@temporalio/proto/lib/patch-protobuf-root') as { patchProtobufRoot(root: object): object };
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

/** A history as indented JSON text. */
export function historyToJsonText(history: History): string {
  return `${JSON.stringify(protojson.toJson(historyType, history), null, 1)}\n`;
}

/** A history from JSON text (unknown fields, e.g. from a newer server, are ignored). */
export function historyFromJsonText(text: string): History {
  return protojson.fromJson(historyType, JSON.parse(text), { ignoreUnknownFields: true }) as History;
}
