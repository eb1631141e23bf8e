import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertPositive, figures, runBench as run } from './bench-run.js';

// bench:control's smoke run. Unlike the other benchmarks it mostly waits (for minutes to close and
// gates to pass), so it runs beside the other integration files instead of alone.

describe('benchmarks (smoke run of bench:control)', () => {
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
