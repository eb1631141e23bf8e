/**
 * The local broker's ACLs on the control channel. With `allow.everyone.if.no.acl.found`, a topic
 * that has ACLs is closed to every principal they do not name (the admin is a super user), so:
 *
 *   switchyard.control     write: worker; read: every other principal but admin's super rights
 *   switchyard.heartbeats  write: the data plane (aggregator, writer, query); read: worker, console, tools
 *
 * The jobs check the control topics' settings at start and create them when missing (with the
 * settings they need; setup creates them as admin first), so their principals may describe their
 * configs and create them; only the worker (and the admin) may change their settings.
 * docs/security.md shows the same table for a real cluster.
 */
import kafkajs, { type AclEntry } from 'kafkajs';
import { DATA_PLANE_PRINCIPALS, type KafkaPrincipal } from '../../../config/kafka-credentials.js';
import { CONTROL_TOPIC, HEARTBEAT_TOPIC } from '../../../contract/index.js';

// kafkajs is CommonJS and Node's named-export detection misses these; take them off the default export.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

type Operation = 'READ' | 'WRITE' | 'CREATE' | 'DESCRIBE_CONFIGS' | 'ALTER_CONFIGS';

/** Who may do what on each control-channel topic. */
export const CONTROL_CHANNEL_RIGHTS: Readonly<Record<string, Readonly<Partial<Record<KafkaPrincipal, readonly Operation[]>>>>> = {
  [CONTROL_TOPIC]: {
    worker: ['WRITE', 'READ', 'CREATE', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS'],
    ...Object.fromEntries(DATA_PLANE_PRINCIPALS.map((p) => [p, ['READ', 'CREATE', 'DESCRIBE_CONFIGS']])),
    console: ['READ', 'DESCRIBE_CONFIGS'],
    tools: ['READ', 'DESCRIBE_CONFIGS'],
  },
  [HEARTBEAT_TOPIC]: {
    ...Object.fromEntries(DATA_PLANE_PRINCIPALS.map((p) => [p, ['WRITE', 'READ', 'CREATE', 'DESCRIBE_CONFIGS']])),
    worker: ['READ', 'CREATE', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS'],
    console: ['READ', 'DESCRIBE_CONFIGS'],
    tools: ['READ', 'DESCRIBE_CONFIGS'],
  },
};

/** The ACL entries of CONTROL_CHANNEL_RIGHTS, as kafkajs' createAcls takes them. */
export function controlChannelAcls(): AclEntry[] {
  const entries: AclEntry[] = [];
  for (const [topic, rights] of Object.entries(CONTROL_CHANNEL_RIGHTS)) {
    for (const [principal, ops] of Object.entries(rights)) {
      for (const op of ops ?? []) {
        entries.push({
          resourceType: AclResourceTypes.TOPIC,
          resourceName: topic,
          resourcePatternType: ResourcePatternTypes.LITERAL,
          principal: `User:${principal}`,
          host: '*',
          operation: AclOperationTypes[op],
          permissionType: AclPermissionTypes.ALLOW,
        });
      }
    }
  }
  return entries;
}
