import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompressionTypes } from 'kafkajs';
import { createKafka } from '../../../config/clients.js';
import { testConfig, uniqueName } from '../../support/stack.js';

const cfg = testConfig();

describe('Kafka on the local stack', () => {
  it('creates a topic, produces and consumes in a consumer group with kafkajs', async () => {
    const kafka = createKafka(cfg, { clientId: 'stack-test' });
    const topic = uniqueName('stack-test');
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: uniqueName('stack-test-group') });
    try {
      const cluster = await admin.describeCluster();
      assert.equal(cluster.brokers.length >= 1, true);
      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true }), true);

      await producer.connect();
      const sent = Array.from({ length: 30 }, (_, i) => ({ key: `app-${i % 5}`, value: `observation-${i}` }));
      await producer.send({ topic, compression: CompressionTypes.GZIP, messages: sent });

      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      // A consumer group delivers at least once: a rebalance before an offset is committed (the
      // group settling on a busy machine) hands the same message over again. Every message must
      // arrive; a repeat is allowed.
      const received = new Set<string>();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${received.size} of 30 messages arrived`)), 30_000);
        consumer
          .run({
            eachMessage: async ({ message }) => {
              received.add(message.value!.toString());
              if (received.size === sent.length) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
      assert.deepEqual([...received].sort(), sent.map((m) => m.value).sort());
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      assert.equal(meta.topics[0]?.partitions.length, 3);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });
});
