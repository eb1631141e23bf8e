import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../../config/config.js';
import { UsageError } from '../../../kit/cli.js';
import { parseStartOptions, StartUsageError } from '../../../scripts/start/start-options.js';

describe('npm start options', () => {
  it('has modest demo defaults and the documented ports', () => {
    const o = parseStartOptions([], {});
    assert.equal(o.console, true);
    assert.equal(o.apps, 20);
    assert.equal(o.ratePerEnv, 200);
    assert.equal(o.readRatePerEnv, 10);
    assert.equal(o.queryPort, 8080);
    assert.equal(o.consolePort, 3000);
    assert.equal(o.logDir, undefined);
    assert.equal(o.readyTimeoutMs, 180_000);
  });

  it('reads --no-console, the rates, the log folder and the port variables', () => {
    const o = parseStartOptions(['--no-console', '--rate', '50', '--read-rate', '5', '--apps', '3', '--log-dir', 'tmp/logs', '--stop-grace', '2s'], {
      SWITCHYARD_QUERY_PORT: '18080',
      SWITCHYARD_CONSOLE_PORT: '13000',
    });
    assert.equal(o.console, false);
    assert.equal(o.ratePerEnv, 50);
    assert.equal(o.readRatePerEnv, 5);
    assert.equal(o.apps, 3);
    assert.equal(o.logDir, path.join(REPO_ROOT, 'tmp/logs'));
    assert.equal(o.stopGraceMs, 2000);
    assert.equal(o.queryPort, 18080);
    assert.equal(o.consolePort, 13000);
  });

  it('lists every bad value with the option or variable it came from', () => {
    assert.throws(
      () => parseStartOptions(['--rate', 'fast', '--ready-timeout', 'soon'], { SWITCHYARD_QUERY_PORT: '99999', SWITCHYARD_CONSOLE_PORT: 'x' }),
      (err: unknown) => {
        assert.ok(err instanceof StartUsageError);
        assert.equal(err.problems.length, 4);
        assert.match(err.message, /--rate: 'fast'/);
        assert.match(err.message, /--ready-timeout: 'soon' is not a duration/);
        assert.match(err.message, /SWITCHYARD_QUERY_PORT: '99999' is not a port/);
        assert.match(err.message, /SWITCHYARD_CONSOLE_PORT: 'x' is not a port/);
        return true;
      },
    );
  });

  it('refuses one port for both the query service and the console', () => {
    assert.throws(() => parseStartOptions([], { SWITCHYARD_QUERY_PORT: '9000', SWITCHYARD_CONSOLE_PORT: '9000' }), /both 9000/);
    assert.equal(parseStartOptions(['--no-console'], { SWITCHYARD_QUERY_PORT: '9000', SWITCHYARD_CONSOLE_PORT: '9000' }).queryPort, 9000);
  });

  it('refuses unknown options and stray arguments', () => {
    assert.throws(
      () => parseStartOptions(['--consle'], {}),
      (err: unknown) => err instanceof UsageError && /--consle/.test(err.message),
    );
    assert.throws(() => parseStartOptions(['now'], {}), UsageError);
  });
});
