/**
 * What `npm start` prints once everything is up: where the console is and how to sign in, the
 * other endpoints, where the logs are, and how to stop.
 */
import path from 'node:path';
import { cohortSelectorText, type MigrationPolicy } from '../../contract/index.js';
import type { DemoCredentials } from './demo-credentials.js';
import { durationArg } from '../../kit/cli.js';
import type { MigrationStatus } from './migrations.js';

/** Everything the summary shows. */
export interface SummaryInput {
  /** The console's URL, or undefined when started with --no-console. */
  consoleUrl: string | undefined;
  credentials: DemoCredentials | undefined;
  migrations: MigrationStatus[];
  /** The demo policy of the first environment (they share it unless SWITCHYARD_POLICY_FILE says otherwise). */
  policy: MigrationPolicy;
  /** A Temporal web UI, or null (the local stack runs Temporal without one). */
  temporalUiUrl: string | null;
  queryUrl: string;
  /** The local notification receiver's address (absent: not started). */
  receiverUrl?: string;
  logDir: string;
  processNames: string[];
}

/** A path relative to the working directory when it is inside it. */
function shown(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
}

/** The summary block, ending with how to stop. */
export function formatSummary(s: SummaryInput): string {
  const label = (l: string): string => `  ${l.padEnd(15)}`;
  const indent = ' '.repeat(17);
  const lines: string[] = [''];
  if (s.consoleUrl && s.credentials) {
    lines.push(`${label('Console')}${s.consoleUrl}`);
    const width = Math.max(...s.credentials.users.map((u) => u.username.length));
    s.credentials.users.forEach((u, i) => {
      lines.push(`${i === 0 ? label('Sign in as') : indent}${u.username.padEnd(width)}  ${u.password}   ${u.role}: ${u.can}`);
    });
    lines.push(`${indent}(saved in ${shown(s.credentials.credentialsFile)})`);
  } else {
    lines.push(`${label('Console')}not started (--no-console)`);
  }
  const p = s.policy;
  lines.push(
    `${label('Migrations')}${s.migrations.map((m) => `${m.env}: ${m.stage}${m.ramp ? ` ${m.ramp}%` : ''}`).join(', ')}`,
    `${indent}demo policy: retention ${durationArg(p.retentionMs)}, bake times ${durationArg(p.bakeMs.dualWrite)} / ${durationArg(p.bakeMs.science)} / ${durationArg(p.bakeMs.cutover)}, automatic ramping every ${durationArg(p.autoRampIntervalMs)}`,
  );
  if (p.cohorts && p.cohorts.length > 0)
    lines.push(`${indent}reads move in cohorts: ${p.cohorts.map((c) => `${c.name} (${cohortSelectorText(c)})`).join(' → ')}`);
  for (const m of s.migrations) if (m.note) lines.push(`${indent}${m.env}: ${m.note}`);
  lines.push(
    `${label('Temporal UI')}${s.temporalUiUrl ?? 'not started: the local Temporal runs headless, so every operator action goes through the console (docs/security.md)'}`,
    `${label('Query service')}${s.queryUrl}/v1/envs`,
    ...(s.receiverUrl ? [`${label('Notifications')}${s.receiverUrl}/messages (local receiver; the console's Notifications page shows them)`] : []),
    `${label('Operator CLI')}npm run ops -- status   (with an API token from ${s.consoleUrl ? `${s.consoleUrl}/tokens` : 'the console'} in SWITCHYARD_TOKEN)`,
    `${label('Logs')}${shown(s.logDir)}/<name>.log, for ${s.processNames.join(', ')}`,
    '',
    'Press Ctrl-C to stop (the local stack keeps running; `npm run stack -- down` stops it).',
  );
  return lines.join('\n');
}
