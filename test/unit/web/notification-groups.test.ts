import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filterNotifications, groupNotifications, type ReceivedView } from '../../../web/lib/notification-groups.js';
import { parseUtcInput, utcInputValue } from '../../../web/lib/utc-input.js';

const received = (n: number, o: Partial<ReceivedView> & { body: Record<string, unknown> }): ReceivedView => ({
  n,
  receivedAt: 1000 + n,
  path: '/hooks/json/x',
  format: 'json',
  notificationId: null,
  ...o,
});

describe('received notifications as events', () => {
  it('shows each event once with the formats it was delivered in, and filters by environment and kind', () => {
    const messages = [
      received(1, {
        notificationId: 'switchyard-migration-test:3',
        env: 'test',
        kind: 'stage_entered',
        body: { title: 'test: planned → dual_write', text: 'entered', kind: 'stage_entered', env: 'test' },
      }),
      received(2, {
        notificationId: 'switchyard-migration-test:3',
        env: 'test',
        kind: 'stage_entered',
        format: 'slack',
        path: '/hooks/slack',
        body: { text: 'x', blocks: [{ type: 'header', text: { text: 'test: planned → dual_write' } }] },
      }),
      // A Slack-only event from a receiver without the env header: its env comes from the id.
      received(3, {
        notificationId: 'switchyard-migration-staging:9',
        format: 'slack',
        path: '/hooks/slack',
        body: {
          text: 'y',
          blocks: [
            { type: 'header', text: { text: 'staging: automatic rollback' } },
            { type: 'section', text: { text: 'rolled back' } },
          ],
        },
      }),
    ];
    const events = groupNotifications(messages);
    assert.equal(events.length, 2);
    const test = events.find((e) => e.env === 'test')!;
    assert.deepEqual(
      test.deliveries.map((d) => d.format),
      ['json', 'slack'],
    );
    assert.equal(test.title, 'test: planned → dual_write');
    const staging = events.find((e) => e.env === 'staging')!;
    assert.equal(staging.title, 'staging: automatic rollback');
    assert.equal(staging.text, 'rolled back');
    assert.equal(filterNotifications(events, { env: 'test', kind: '' }).length, 1);
    assert.equal(filterNotifications(events, { env: '', kind: 'stage_entered' }).length, 1);
    assert.equal(filterNotifications(events, { env: 'staging', kind: 'stage_entered' }).length, 0);
  });
});

describe('times typed in the console', () => {
  it('reads them as UTC whatever the shape, and refuses what is not a time', () => {
    const t = Date.UTC(2026, 11, 5, 14, 0);
    for (const text of ['2026-12-05 14:00', '2026-12-05T14:00', '2026-12-05 14:00 UTC', '2026-12-05T14:00Z', '2026-12-05T15:00+01:00'])
      assert.equal(parseUtcInput(text), t, text);
    assert.equal(parseUtcInput('yesterday'), null);
    assert.equal(parseUtcInput(''), null);
    assert.equal(utcInputValue(t), '2026-12-05 14:00');
  });
});
