import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { connectTemporal } from '../../../config/clients.js';
import { formatHostPort } from '../../../config/config.js';
import { SEARCH_ATTRIBUTES } from '../../../contract/index.js';
import { testConfig, uniqueName } from '../../support/stack.js';

const require = createRequire(import.meta.url);
const cfg = testConfig();

describe('Temporal on the local stack', () => {
  let nativeConnection: NativeConnection;
  before(async () => {
    nativeConnection = await NativeConnection.connect({ address: formatHostPort(cfg.temporal.address) });
  });
  after(async () => {
    await nativeConnection.close();
  });

  it('runs a workflow with activities to completion on a real worker', async () => {
    const taskQueue = uniqueName('stack-test');
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: cfg.temporal.namespace,
      taskQueue,
      workflowsPath: require.resolve('../fixtures/greeting-workflow.ts'),
      activities: { greet: async (name: string) => `hello, ${name}` },
    });
    const connection = await connectTemporal(cfg);
    try {
      const client = new Client({ connection, namespace: cfg.temporal.namespace });
      const result = await worker.runUntil(
        client.workflow.execute('greetingWorkflow', { taskQueue, workflowId: uniqueName('greeting'), args: ['switchyard'] }),
      );
      assert.equal(result, 'hello, hello, switchyard');
    } finally {
      await connection.close();
    }
  });

  it('has the control plane search attributes registered', async () => {
    const connection = await connectTemporal(cfg);
    try {
      const res = await connection.operatorService.listSearchAttributes({ namespace: cfg.temporal.namespace });
      for (const name of Object.keys(SEARCH_ATTRIBUTES)) {
        assert.ok(name in (res.customAttributes ?? {}), `search attribute ${name} is missing`);
      }
    } finally {
      await connection.close();
    }
  });
});
