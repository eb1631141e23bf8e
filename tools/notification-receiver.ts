/**
 * `npm run notify-receiver -- --port <n>`: the local webhook receiver (tools/notifications/receiver.ts).
 * `npm start` runs it and points the notifier at it, so the console shows notifications end to end.
 */
import { parseCommandLine, parseWhole, runMain } from '../kit/cli.js';
import { startNotificationReceiver } from './notifications/receiver.js';

const USAGE = `usage: npm run notify-receiver -- [--port <n>]
  --port <n>   port to listen on, loopback only (default SWITCHYARD_NOTIFY_RECEIVER_PORT or 3100)`;

runMain(USAGE, async (argv) => {
  const a = parseCommandLine(argv, { port: { type: 'string', default: process.env.SWITCHYARD_NOTIFY_RECEIVER_PORT ?? '3100' } });
  const port = parseWhole('port', a.port!, 0, 65535);
  const receiver = await startNotificationReceiver({
    port,
    onMessage: (m) => {
      const b = m.body as { kind?: string; env?: string; title?: string; text?: string };
      console.log(
        JSON.stringify({
          action: 'received',
          n: m.n,
          path: m.path,
          format: m.format,
          id: m.notificationId,
          kind: b.kind,
          env: b.env,
          title: b.title ?? b.text,
        }),
      );
    },
  });
  console.log(`notification receiver listening on ${receiver.url} (POST /hooks/<name>, GET /messages)`);
  return { stop: () => receiver.close() };
});
