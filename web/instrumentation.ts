// Runs once when the console's server starts: a misconfigured console (no session secret, no or
// a bad users file, a bad endpoint) refuses to start with a message naming each problem, instead
// of starting and failing on every page.
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  // `next build` loads this file too; only a running server needs the settings.
  if (process.env.NEXT_PHASE === 'phase-production-build') return;
  const { consoleSettings } = await import('./lib/console-settings');
  const { loadUsers } = await import('./lib/users');
  const { loadIntegrityKeys } = await import('../config/integrity-keys');
  try {
    consoleSettings();
    const users = loadUsers();
    // Tokens, sessions and the audit chain are hashed with this key: made here on the first start.
    const keys = loadIntegrityKeys(consoleSettings().integrityKeyFile, { create: true });
    console.log(
      `switchyard console: ${users.size} user(s) from ${consoleSettings().usersFile}; environments ${consoleSettings().cfg.environments.join(', ')}; ` +
        `integrity key ${keys.current.id} from ${consoleSettings().integrityKeyFile}`,
    );
  } catch (err) {
    console.error(`switchyard console cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
}
