import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startNotificationReceiver } from '../../../tools/notifications/receiver.js';

describe('notification receiver', () => {
  it("keeps the notifier's messages and refuses a web page's", async () => {
    const receiver = await startNotificationReceiver({ port: 0 });
    try {
      const post = (headers: Record<string, string>) =>
        fetch(`${receiver.url}/hooks/json`, { method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body: '{"schema":"x"}' });
      assert.equal((await post({})).status, 200, 'a server-side POST (no Origin), as the notifier sends');
      const fromPage = await post({ origin: 'http://evil.example' });
      assert.equal(fromPage.status, 403);
      assert.equal(receiver.messages().length, 1, 'the page put nothing on the list');
    } finally {
      await receiver.close();
    }
  });
});
