/**
 * The control channel: how an operator's action or an automatic decision of the migration
 * workflow becomes the state every data-plane instance applies. The control plane publishes a
 * versioned control state per environment to the compacted topic `switchyard.control`; every
 * writer and query service follows the topic, applies each newer version of its environment's
 * state and says on `switchyard.heartbeats` which version it applies; the control plane waits on
 * those acknowledgements, and the console watches both topics.
 *
 * This file is the channel's shared face: the model (model.ts), its errors, the topics and their
 * setup, the schemas. Each end of the channel has its own entry, imported by its side only
 * (eslint.config.js holds every folder to it):
 *
 * - `control/publisher.ts`: the control plane (activities, the operator CLI) publishes and waits;
 * - `control/subscriber.ts`: the data plane's jobs apply states and heartbeat;
 * - `control/observer.ts`: the console watches;
 * - `control/model.ts` alone: the workflows (pure, deterministic, part of their bundle).
 *
 * Inside: `wire/` (schemas, codec, topic settings, the topic tail, the heartbeat table) and
 * `reader.ts`, the one reader of both topics all three ends use. Nothing outside control/ imports
 * them. control/ itself imports only contract/ and kit/.
 */
export * from './model.js';
export { AcknowledgementTimeoutError, ControlReadTimeoutError, InvalidControlStateError, type Laggard } from './errors.js';
export { CONTROL_PUBLISHER_HEADER, CONTROL_TOPIC, HEARTBEAT_TOPIC, controlCohortSchema, controlStateSchema, heartbeatSchema } from './wire/schema.js';
export { CONTROL_TOPIC_CONFIG, HEARTBEAT_TOPIC_CONFIG, ensureControlTopics, type EnsureControlTopicsResult } from './wire/topics.js';
