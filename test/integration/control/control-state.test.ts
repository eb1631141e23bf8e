import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs, { type Admin, type Kafka, type Producer } from 'kafkajs';
import pino from 'pino';
import { createKafka } from '../../../config/clients.js';
import {
  AcknowledgementTimeoutError,
  CONTROL_TOPIC,
  CONTROL_TOPIC_CONFIG,
  ensureControlTopics,
  HEARTBEAT_TOPIC,
  HEARTBEAT_TOPIC_CONFIG,
  initialControlState,
  InvalidControlStateError,
  type ControlState,
  type Heartbeat,
} from '../../../control/index.js';
import {
  listLiveInstances,
  publishAndAwait,
  publishControlState,
  readLatestControlState,
  waitForAcknowledgement,
  watchAcknowledgements,
} from '../../../control/publisher.js';
import { createControlStateClient, type ControlStateClient } from '../../../control/subscriber.js';
import { testConfig } from '../../support/stack.js';

// Several data-plane instances in this process, each with its own control-state client, on the
// real broker; the control plane's calls publish versions and wait for them to be acknowledged.
const cfg = testConfig();
const HEARTBEAT_MS = 500;
const RETENTION_MS = 7 * 86_400_000;

/** One in-process instance: its client, the versions its onChange saw, and its log lines. */
interface Instance {
  client: ControlStateClient;
  role: string;
  changes: { next: number; prev: number }[];
  logs: string[];
  /** When set, onChange throws for these versions. */
  failOn: Set<number>;
}

describe('control state: publish, apply, acknowledge', () => {
  const env = `c${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const instances: Instance[] = [];
  const state = (version: number, changes: Partial<ControlState> = {}): ControlState => ({
    ...initialControlState(env, RETENTION_MS),
    version,
    updatedAt: new Date().toISOString(),
    updatedBy: 'control-state.test',
    reason: `test version ${version}`,
    ...changes,
  });

  const startInstance = async (role: string, failOn: number[] = []): Promise<Instance & { startMs: number }> => {
    const logs: string[] = [];
    const inst: Instance = { role, changes: [], logs, failOn: new Set(failOn), client: undefined as unknown as ControlStateClient };
    inst.client = createControlStateClient({
      kafka,
      env,
      role,
      heartbeatIntervalMs: HEARTBEAT_MS,
      initial: initialControlState(env, RETENTION_MS),
      logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) }),
      onChange: async (next, prev) => {
        if (inst.failOn.has(next.version)) throw new Error(`refusing version ${next.version}`);
        inst.changes.push({ next: next.version, prev: prev.version });
      },
    });
    instances.push(inst);
    const t0 = Date.now();
    await inst.client.start();
    return Object.assign(inst, { startMs: Date.now() - t0 });
  };

  const running = (): Instance[] => instances.filter((i) => !stoppedIds.has(i.client.instanceId));
  const stoppedIds = new Set<string>();
  const ids = (hbs: Heartbeat[]): string[] => hbs.map((h) => h.instanceId).sort();

  before(async () => {
    kafka = createKafka(cfg, { clientId: 'control-state-test' });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  after(async () => {
    await Promise.all(instances.map((i) => i.client.stop()));
    // Leave nothing of this run to compaction: tombstones for the env's state and each instance's heartbeat.
    await producer.send({ topic: CONTROL_TOPIC, messages: [{ key: env, value: null }] }).catch(() => undefined);
    const hbKeys = [...instances.map((i) => i.client.instanceId), `${env}-ghost`];
    await producer.send({ topic: HEARTBEAT_TOPIC, messages: hbKeys.map((key) => ({ key, value: null })) }).catch(() => undefined);
    await producer.disconnect();
    await admin.disconnect();
  });

  it('creates the control topics idempotently, compacted', async () => {
    await ensureControlTopics(admin);
    const again = await ensureControlTopics(admin);
    assert.deepEqual(again, { created: [], reconfigured: [] });
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [CONTROL_TOPIC, HEARTBEAT_TOPIC].map((name) => ({
        type: kafkajs.ConfigResourceTypes.TOPIC,
        name,
        configNames: ['cleanup.policy', 'segment.ms', 'retention.ms'],
      })),
    });
    const config = (topic: string, name: string): string | undefined =>
      described.resources.find((r) => r.resourceName === topic)?.configEntries.find((e) => e.configName === name)?.configValue;
    assert.equal(config(CONTROL_TOPIC, 'cleanup.policy'), 'compact');
    assert.equal(config(CONTROL_TOPIC, 'segment.ms'), CONTROL_TOPIC_CONFIG['segment.ms']);
    assert.equal(config(HEARTBEAT_TOPIC, 'cleanup.policy'), 'compact,delete');
    assert.equal(config(HEARTBEAT_TOPIC, 'retention.ms'), HEARTBEAT_TOPIC_CONFIG['retention.ms']);
    const meta = await admin.fetchTopicMetadata({ topics: [CONTROL_TOPIC, HEARTBEAT_TOPIC] });
    for (const t of meta.topics) assert.equal(t.partitions.length, 1, `${t.name} has one partition`);
  });

  it('applies v1 and v2 on every instance, in order, and acknowledges them', async (t) => {
    const started = await Promise.all([startInstance('writer-cassandra'), startInstance('writer-dynamodb'), startInstance('query')]);
    t.diagnostic(`client start (no state yet for the env): ${started.map((s) => `${s.startMs} ms`).join(', ')}`);
    for (const s of started) assert.equal(s.client.appliedVersion(), 0);

    for (const [version, changes] of [
      [1, { newWriter: true, reason: 'dual write' }],
      [2, { newWriter: true, sciencePercent: 5, coverageHorizon: 1_700_000_040_000 }],
    ] as const) {
      const visible = Promise.all(
        started.map(async (s) => {
          const t0 = Date.now();
          while (s.client.appliedVersion() < version) await new Promise((r) => setTimeout(r, 5));
          return Date.now() - t0;
        }),
      );
      const result = await publishAndAwait({ kafka, producer }, state(version, changes), { timeoutMs: 10_000 });
      const applyMs = await visible;
      t.diagnostic(`v${version}: acknowledged by ${result.acknowledged.length} instances in ${result.elapsedMs} ms (applied after ${applyMs.join(', ')} ms)`);
      assert.equal(result.version, version);
      assert.deepEqual(ids(result.acknowledged), ids(started.map((s) => ({ instanceId: s.client.instanceId }) as Heartbeat)));
      for (const hb of result.acknowledged) assert.ok(hb.appliedVersion >= version && hb.alive && hb.env === env);
      for (const s of started) {
        assert.equal(s.client.current().version, version);
        assert.equal(s.client.current().sciencePercent, version === 2 ? 5 : 0);
        assert.equal(s.client.current().newWriter, true);
      }
    }
    for (const s of started)
      assert.deepEqual(s.changes, [
        { next: 1, prev: 0 },
        { next: 2, prev: 1 },
      ]);

    const acked = await waitForAcknowledgement(kafka, { env, version: 2, timeoutMs: 5000 });
    assert.deepEqual(ids(acked), ids(started.map((s) => ({ instanceId: s.client.instanceId }) as Heartbeat)));
    // current() is the applied state itself, frozen: nobody can change what the others see.
    assert.throws(() => ((started[0]!.client.current() as { sciencePercent: number }).sciencePercent = 50));
  });

  it('starts an instance that comes up after v2 was published with v2', async (t) => {
    const late = await startInstance('query');
    t.diagnostic(`late client caught up in ${late.startMs} ms`);
    assert.equal(late.client.appliedVersion(), 2);
    assert.equal(late.client.current().sciencePercent, 5);
    assert.equal(late.client.current().coverageHorizon, 1_700_000_040_000);
    assert.deepEqual(late.changes, [{ next: 2, prev: 0 }], 'onChange is called once, with the newest state');
    assert.equal((await readLatestControlState(kafka, env, 5000))?.version, 2);
    assert.equal(await readLatestControlState(kafka, `${env}-none`, 5000), undefined);
  });

  it('lists the running instances as live', async () => {
    // Let the late instance's first heartbeats land.
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS));
    const live = await listLiveInstances(kafka, { env, timeoutMs: 5000 });
    assert.deepEqual(ids(live), ids(running().map((i) => ({ instanceId: i.client.instanceId }) as Heartbeat)));
    assert.deepEqual(live.map((h) => h.role).sort(), ['query', 'query', 'writer-cassandra', 'writer-dynamodb']);
    const all = await listLiveInstances(kafka, { timeoutMs: 5000 });
    assert.ok(
      live.every((h) => all.some((a) => a.instanceId === h.instanceId)),
      'the all-envs list includes this env',
    );
    // Judged an hour later, nobody is live any more.
    assert.deepEqual(await listLiveInstances(kafka, { env, timeoutMs: 5000, now: Date.now() + 3_600_000 }), []);
  });

  it('names an instance whose onChange fails when the wait times out, then recovers on its own', async (t) => {
    const failing = await startInstance('writer-dynamodb', [3]);
    assert.equal(failing.client.appliedVersion(), 2);
    const t0 = Date.now();
    const err = await publishAndAwait({ kafka, producer }, state(3, { newWriter: true, sciencePercent: 25 }), { timeoutMs: 2500 }).then(
      () => assert.fail('expected an acknowledgement timeout'),
      (e: unknown) => e,
    );
    t.diagnostic(`timed out after ${Date.now() - t0} ms: ${(err as Error).message}`);
    assert.ok(err instanceof AcknowledgementTimeoutError);
    assert.equal(err.retriable, true);
    assert.deepEqual(
      err.laggards.map((l) => [l.instanceId, l.role, l.appliedVersion]),
      [[failing.client.instanceId, 'writer-dynamodb', 2]],
    );
    assert.match(err.message, new RegExp(`${failing.client.instanceId} \\(role writer-dynamodb, applies version 2`));
    for (const i of running().filter((x) => x !== failing)) assert.equal(i.client.appliedVersion(), 3);
    assert.equal(failing.client.appliedVersion(), 2);
    assert.ok(
      failing.logs.some((l) => l.includes('"action":"control-state-apply-failed"')),
      'the failure is logged',
    );

    // Only the writers of the old store are asked for: they all acknowledged.
    const cassandraOnly = await waitForAcknowledgement(kafka, { env, version: 3, timeoutMs: 5000, roles: ['writer-cassandra'] });
    assert.deepEqual(
      cassandraOnly.map((h) => h.role),
      ['writer-cassandra'],
    );

    // The fault clears: the next heartbeat tick retries, and the wait succeeds.
    failing.failOn.clear();
    const acked = await waitForAcknowledgement(kafka, { env, version: 3, timeoutMs: 5000 });
    assert.ok(acked.some((h) => h.instanceId === failing.client.instanceId));
    assert.deepEqual(failing.changes, [
      { next: 2, prev: 0 },
      { next: 3, prev: 2 },
    ]);
  });

  it('stops waiting for an instance that stopped or went silent', async (t) => {
    const leaving = running()[0]!;
    await leaving.client.stop();
    stoppedIds.add(leaving.client.instanceId);
    const live = await listLiveInstances(kafka, { env, timeoutMs: 5000 });
    assert.ok(!live.some((h) => h.instanceId === leaving.client.instanceId), 'a stopped instance is not live');

    // A ghost: an instance that heartbeated once with an old version, then died without a goodbye.
    const ghost: Heartbeat = { instanceId: `${env}-ghost`, role: 'query', env, appliedVersion: 1, at: Date.now(), intervalMs: HEARTBEAT_MS, alive: true };
    await producer.send({ topic: HEARTBEAT_TOPIC, messages: [{ key: ghost.instanceId, value: JSON.stringify(ghost) }] });
    const result = await publishAndAwait({ kafka, producer }, state(4, { newWriter: true, sciencePercent: 50 }), { timeoutMs: 10_000 });
    const resolvedAt = Date.now();
    t.diagnostic(`v4 acknowledged in ${result.elapsedMs} ms once the ghost went silent`);
    assert.deepEqual(ids(result.acknowledged), ids(running().map((i) => ({ instanceId: i.client.instanceId }) as Heartbeat)));
    assert.ok(resolvedAt >= ghost.at + 3 * HEARTBEAT_MS, 'the ghost counted until it had been silent for 3 intervals');
    assert.equal(leaving.client.appliedVersion(), 3, 'the stopped instance did not apply v4');
  });

  it('ignores invalid control records without crashing', async () => {
    const invalid = [
      Buffer.from([0xff, 0x00, 0x13, 0x37]),
      Buffer.from('{"env":'),
      Buffer.from(JSON.stringify({ hello: 'world' })),
      Buffer.from(JSON.stringify({ ...state(99), sciencePercent: 500 })),
      Buffer.from(JSON.stringify({ ...state(98), version: 'ninety-eight' })),
    ];
    await producer.send({ topic: CONTROL_TOPIC, messages: invalid.map((value) => ({ key: env, value })) });
    // A valid state of this env filed under another key is not trusted either.
    await producer.send({ topic: CONTROL_TOPIC, messages: [{ key: `${env}-other`, value: JSON.stringify(state(97)) }] });
    const result = await publishAndAwait({ kafka, producer }, state(5, { newWriter: true, sciencePercent: 100 }), { timeoutMs: 10_000 });
    assert.equal(result.acknowledged.length, running().length);
    for (const i of running()) {
      assert.equal(i.client.appliedVersion(), 5);
      assert.equal(i.client.current().sciencePercent, 100);
      assert.equal(i.logs.filter((l) => l.includes('"action":"control-record-invalid"')).length, invalid.length, 'each invalid record is logged once');
      assert.ok(!i.logs.some((l) => l.includes('"action":"tail-handler-failed"')), 'nothing threw');
    }
    // A newcomer reading everything from the start skips them as well.
    const late = await startInstance('writer-cassandra');
    assert.equal(late.client.appliedVersion(), 5);
    assert.equal((await readLatestControlState(kafka, env, 5000))?.version, 5);
  });

  it('refuses to publish an invalid state, and resolves at once for an env nobody runs', async () => {
    await assert.rejects(
      publishControlState(producer, { ...state(6), cutoverPercent: 101 }),
      (e: unknown) => e instanceof InvalidControlStateError && !e.retriable && /cutoverPercent/.test(e.message),
    );
    assert.equal((await readLatestControlState(kafka, env, 5000))?.version, 5, 'nothing was published');
    const t0 = Date.now();
    assert.deepEqual(await waitForAcknowledgement(kafka, { env: `${env}-nobody`, version: 1, timeoutMs: 5000 }), []);
    assert.ok(Date.now() - t0 < 3000);
  });

  it('answers waits for versions published after a watch started, and rejects an open wait when stopped', async () => {
    const watch = watchAcknowledgements(kafka, { env });
    try {
      // Started before there is anything to wait for: the version is published later, with the watch passed in.
      const six = await publishAndAwait({ kafka, producer }, state(6, { newWriter: true, sciencePercent: 100, cutoverPercent: 5 }), {
        timeoutMs: 10_000,
        watch,
      });
      assert.deepEqual(ids(six.acknowledged), ids(running().map((i) => ({ instanceId: i.client.instanceId }) as Heartbeat)));
      for (const i of running()) assert.equal(i.client.appliedVersion(), 6);
      // The same watch answers a second wait (nobody skips a version), and a version nobody applies times out naming them.
      assert.equal((await watch.until(6, 5000)).length, running().length);
      await assert.rejects(
        watch.until(7, 1500),
        (e: unknown) => e instanceof AcknowledgementTimeoutError && e.retriable && e.version === 7 && e.laggards.length === running().length,
      );
      await assert.rejects(watch.until(-1, 1000), InvalidControlStateError);
      const open = assert.rejects(watch.until(8, 60_000), /the acknowledgement watch was stopped/);
      await watch.stop();
      await open;
    } finally {
      await watch.stop();
    }
  });
});

describe('control state: Kafka unreachable', () => {
  // Nothing listens on the discard port: every connection is refused, as when the brokers are down.
  const deadKafka = new kafkajs.Kafka({
    clientId: 'control-state-test-dead',
    brokers: ['127.0.0.1:9'],
    connectionTimeout: 300,
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const env = `d${Date.now().toString(36)}`;
  const quiet = pino({ level: 'silent' });

  it('starts with the initial state after the start timeout and stops promptly', async (t) => {
    const logs: string[] = [];
    const changes: number[] = [];
    const client = createControlStateClient({
      kafka: deadKafka,
      env,
      role: 'query',
      heartbeatIntervalMs: 200,
      startTimeoutMs: 1000,
      initial: initialControlState(env, RETENTION_MS),
      logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) }),
      onChange: (next) => void changes.push(next.version),
    });
    const t0 = Date.now();
    await client.start();
    const startMs = Date.now() - t0;
    assert.ok(startMs >= 1000 && startMs < 2500, `start took ${startMs} ms`);
    assert.equal(client.appliedVersion(), 0);
    assert.deepEqual(changes, []);
    assert.ok(logs.some((l) => l.includes('"action":"control-catch-up-timeout"')));
    // Serving on: heartbeats fail quietly (one warning, then debug lines), the state stays.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(logs.filter((l) => l.includes('"action":"heartbeat-failed"') && l.includes('"level":40')).length, 1);
    assert.equal(client.current().version, 0);
    const t1 = Date.now();
    await client.stop();
    t.diagnostic(`start ${startMs} ms, stop ${Date.now() - t1} ms with Kafka unreachable`);
    assert.ok(Date.now() - t1 < 10_000);
  });

  it('reports a control plane that cannot read the heartbeats as a retriable timeout', async () => {
    await assert.rejects(
      waitForAcknowledgement(deadKafka, { env, version: 1, timeoutMs: 1000, logger: quiet }),
      (e: unknown) => e instanceof AcknowledgementTimeoutError && e.retriable && /could not read switchyard\.heartbeats/.test(e.message),
    );
    await assert.rejects(
      listLiveInstances(deadKafka, { env, timeoutMs: 1000, logger: quiet }),
      (e: unknown) => (e as Error).name === 'ControlReadTimeoutError' && (e as { retriable?: boolean }).retriable === true,
    );
  });
});
