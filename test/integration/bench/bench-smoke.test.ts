import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../../config/config.js';

// Tiny runs of the benchmarks, so they keep working: each must finish on the real stack, clean up
// and print, as its last line, one JSON object with the figures it promises. No figure is judged
// here (benchmarks are not timed assertions); only that each is a measured, positive number.

/** Runs `npm run <script> -- <args>`; resolves with its exit code, stdout and stderr. */
function run(script: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '-s', script, '--', ...args], { cwd: REPO_ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish within ${timeoutMs / 1000} s:\n${stderr.slice(-3000)}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The last line of stdout as a JSON object of figures. */
function figures(stdout: string, stderr: string): Record<string, number> {
  const last = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as Record<string, number>;
  } catch {
    throw new Error(`the last line is not JSON: ${JSON.stringify(last)}\n${stderr.slice(-3000)}`);
  }
}

function assertPositive(f: Record<string, number>, names: string[]): void {
  for (const n of names) assert.ok(typeof f[n] === 'number' && f[n] > 0, `${n} is a positive number: ${JSON.stringify(f)}`);
}

describe('benchmarks (smoke runs)', () => {
  it('bench:pipeline prints the aggregator, ceiling and writer figures', async () => {
    const r = await run('bench:pipeline', ['--only', 'inprocess,aggregator,writers', '--observations', '60000', '--points', '6000', '--apps', '20'], 300_000);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const f = figures(r.stdout, r.stderr);
    assertPositive(f, [
      'inprocess_ceiling_observations_per_s',
      'aggregator_observations_per_s',
      'client_ceiling_observations_per_s',
      'aggregator_vs_ceiling',
      'aggregator_rss_mb',
      'cassandra_points_per_s',
      'dynamodb_points_per_s',
      'aggregator_drain_cpu_cores_aggregator',
    ]);
    assert.equal(f.late_observations, 0, 'a backlog drains with no observation late');
    assert.match(r.stderr, /\[bench:pipeline +\d+ s\]/, 'progress lines while it runs');
  });

  it('bench:query prints the saturated, fixed-rate and control acknowledgement figures', async () => {
    const r = await run(
      'bench:query',
      ['--apps', '5', '--hours', '1', '--round', '2s', '--rounds', '1', '--acks', '3', '--connections', '4', '--levels', '25'],
      300_000,
    );
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const f = figures(r.stdout, r.stderr);
    assertPositive(f, [
      'qps_saturated',
      'served_p50_ms_science_off_saturated',
      'served_p99_ms_science_off_saturated',
      'served_p50_ms_science_on_saturated',
      'served_p99_ms_science_on_saturated',
      'science_p99_overhead_ratio_saturated',
      'offered_qps_at_25pct',
      'qps_science_off_at_25pct',
      'served_p99_ms_science_off_at_25pct',
      'served_p99_ms_science_on_at_25pct',
      'science_p99_overhead_ratio_at_25pct',
      'served_p99_ms_old_store_at_25pct',
      'served_p99_ms_new_store_at_25pct',
      'control_ack_p50_ms',
      'control_ack_p99_ms',
      'cpu_cores_science_off_saturated_query',
      'cpu_cores_science_on_at_25pct_query',
    ]);
    // The fixed rate is a quarter of the capacity the same run measured.
    assert.ok(Math.abs(f.offered_qps_at_25pct! - f.qps_saturated! * 0.25) <= 1, `offered ${f.offered_qps_at_25pct} of ${f.qps_saturated}`);
    assert.equal(f.control_changes, 3);
    assert.ok((f.data_plane_instances ?? 0) >= 6, `${f.data_plane_instances} instances listening`);
  });

  it('bench:verify prints the verify speed with 1 and 2 workers, what each process used, and the ETA it gives at the seed scale', async () => {
    const r = await run('bench:verify', ['--series', '12', '--minutes', '10', '--workers', '1,2', '--slices', '2'], 300_000);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const f = figures(r.stdout, r.stderr);
    assertPositive(f, [
      'verify_points_per_s',
      'verify_points_read_per_s',
      'verify_points_per_s_1_workers',
      'verify_points_per_s_2_workers',
      'verify_points_per_s_1w_2s',
      'verify_points_per_s_2w_2s',
      'verify_cpu_cores_1_workers_worker',
      'worker_rss_mb',
      'seed_points',
      'verify_eta_hours_at_seed_scale',
      'verify_eta_hours_at_default_limit',
      'workers_needed_within_ttl_wait',
    ]);
    assert.equal(f.points_per_run, 120);
    assert.equal(f.seed_points, 30_000 * 7 * 86_400);
    // The ETA is the seed's points over the measured speed (not a constant).
    assert.ok(Math.abs(f.verify_eta_hours_at_seed_scale! - f.seed_points / f.verify_points_per_s! / 3600) <= 0.1 + f.verify_eta_hours_at_seed_scale! * 0.01);
    assert.match(r.stderr, /\[bench:verify +\d+ s\]/, 'progress lines while it runs');
    assert.match(r.stderr, /cleaning up bv/);
  });

  it('a benchmark refuses a bad option with a clear error', async () => {
    const r = await run('bench:pipeline', ['--only', 'everything'], 60_000);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--only: unknown part 'everything'/);
  });
  it('bench:control prints the transition and rollback figures', async () => {
    // Alone, and with the error-rate rollback at 50 %: on a saturated 2-core machine the shadow
    // reads time out and the new store's error rate rolled the cutover back before any fault.
    const r = await run(
      'bench:control',
      ['--policy', 'demo', '--transitions', '3', '--query-services', '1', '--apps', '4', '--obs-rate', '100', '--error-rollback', '0.5'],
      600_000,
    );
    const f = figures(r.stdout, r.stderr);
    assert.equal(f.failed_scenarios, 0, `every scenario measured: ${JSON.stringify(f)}`);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assertPositive(f, ['advance_to_acked_p50_ms', 'advance_to_acked_p99_ms', 'rollback_reaction_s', 'rollback_science_demo_s', 'rollback_cutover_demo_s']);
    assert.equal(f.transitions, 3);
    assert.match(r.stderr, /\[bench:control +\d+ s\]/, 'progress lines while it runs');
  });
});
