import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertPositive, figures, runBench as run } from './bench-run.js';

// Tiny runs of the benchmarks that load both cores (pipeline, query, verify): they run alone, first
// (see scripts/test.ts). bench:control, which mostly waits for minutes to close, has its own file.

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
});
