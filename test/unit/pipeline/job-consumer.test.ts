import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer } from 'kafkajs';
import { BATCH_HEARTBEAT_MS, runJobConsumer, withHeartbeats } from '../../../pipeline/jobs/job-consumer.js';
import { createLogger } from '../../../kit/logger.js';

/** The part of a kafkajs consumer runJobConsumer drives, counting its calls. */
function fakeConsumer() {
  const emitter = new EventEmitter();
  const calls: string[] = [];
  const consumer = {
    events: { CRASH: 'consumer.crash' },
    on: (event: string, fn: (e: unknown) => void) => emitter.on(event, fn),
    connect: async () => void calls.push('connect'),
    subscribe: async () => void calls.push('subscribe'),
    run: async () => void calls.push('run'),
  };
  const crash = (restart: boolean) => emitter.emit('consumer.crash', { payload: { error: new Error('The coordinator is not aware of this member'), restart } });
  return { consumer: consumer as unknown as Consumer, calls, crash };
}

const logger = createLogger('test', 'silent');

describe('job consumer', () => {
  it('rejoins after kafkajs gives the consumer up, and leaves a retriable crash to kafkajs', async () => {
    const { consumer, calls, crash } = fakeConsumer();
    const crashes: string[] = [];
    let rejoined = 0;
    let running = true;
    await runJobConsumer(consumer, {
      subscription: { topics: ['t'] },
      run: {},
      isRunning: () => running,
      logger,
      onCrash: (m) => crashes.push(m),
      onRejoin: () => rejoined++,
      rejoinAfterMs: 10,
    });
    assert.deepEqual(calls, ['connect', 'subscribe', 'run']);
    crash(true); // kafkajs restarts it itself
    await sleep(50);
    assert.equal(calls.length, 3);
    crash(false);
    await sleep(50);
    assert.deepEqual(calls, ['connect', 'subscribe', 'run', 'connect', 'subscribe', 'run']);
    assert.equal(rejoined, 1);
    assert.deepEqual(crashes, ['The coordinator is not aware of this member', 'The coordinator is not aware of this member']);
    // A job being stopped does not rejoin.
    running = false;
    crash(false);
    await sleep(50);
    assert.equal(calls.length, 6);
  });

  it('heartbeats while a long piece of work runs, and stops when it ends or fails', async () => {
    let beats = 0;
    const heartbeat = async () => void beats++;
    const result = await withHeartbeats(heartbeat, async () => {
      await sleep(BATCH_HEARTBEAT_MS * 2.5);
      return 'written';
    });
    assert.equal(result, 'written');
    assert.equal(beats, 2);
    await assert.rejects(
      withHeartbeats(heartbeat, async () => {
        await sleep(BATCH_HEARTBEAT_MS * 1.5);
        throw new Error('store down');
      }),
      /store down/,
    );
    await sleep(BATCH_HEARTBEAT_MS * 2);
    assert.equal(beats, 3, 'no heartbeat after the work ended');
  });
});
