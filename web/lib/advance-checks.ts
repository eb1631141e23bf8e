import 'server-only';
import { gateDetailWords, Stage, STAGES, type MigrationStateView } from '../../contract';
import { consoleSettings } from './console-settings';
import { lookupMigrationOnce } from './data';

/** One rule that could refuse an advance: ok true (passes), false (refuses), null (not known yet). */
export interface AdvanceCheck {
  rule: 'gate' | 'promotion order' | 'pause' | 'rollback';
  ok: boolean | null;
  text: string;
}

const nextOf = (stage: Stage): Stage | null => STAGES[STAGES.indexOf(stage) + 1] ?? null;
const indexOf = (stage: string): number => (STAGES as readonly string[]).indexOf(stage);

/**
 * Every rule the workflow judges an advance (or the start) by, as the console can see it now:
 * the exit gate, the promotion order (the previous environment in SWITCHYARD_ENVS must have
 * entered the next stage already), a pause, an automatic rollback. Shown in the confirmation
 * dialog before the operator confirms; the workflow judges again when the request arrives.
 */
export async function advanceChecks(env: string, s: MigrationStateView): Promise<AdvanceCheck[]> {
  const next = nextOf(s.stage);
  if (next === null || s.stage === Stage.decommission) return [];
  const checks: AdvanceCheck[] = [];
  const order = consoleSettings().cfg.environments;
  const i = order.indexOf(env);
  if (i <= 0) checks.push({ rule: 'promotion order', ok: true, text: `${env} is first in the promotion order (${order.join(' → ')})` });
  else {
    const pred = order[i - 1]!;
    const m = await lookupMigrationOnce(pred);
    if (m.kind === 'unreachable')
      checks.push({ rule: 'promotion order', ok: null, text: `the stage of ${pred} (before ${env} in the promotion order) is unknown: ${m.message}` });
    else {
      const predStage = m.kind === 'running' ? m.state.stage : m.kind === 'none' ? 'not_started' : 'ended';
      const ok = m.kind === 'running' && indexOf(predStage) >= indexOf(next);
      checks.push({
        rule: 'promotion order',
        ok,
        text: ok
          ? `${pred} (before ${env} in the promotion order) is in ${predStage}: ${env} may enter ${next}`
          : `promotion order: ${env} may not enter ${next} before ${pred} has (${pred} is ${predStage === 'not_started' ? 'not started' : predStage === 'ended' ? `a workflow that ended (${m.kind === 'closed' ? m.status.toLowerCase() : ''})` : `in ${predStage}`}). The workflow refuses this unless you tick "override promotion order" (the override and your reason go into the audit log).`,
      });
    }
  }
  if (s.stage === Stage.planned) checks.push({ rule: 'gate', ok: true, text: 'starting dual write has no gate' });
  else if (s.gates.length === 0) checks.push({ rule: 'gate', ok: null, text: 'not evaluated yet: the workflow checks it when you confirm' });
  else
    for (const g of s.gates)
      checks.push({ rule: 'gate', ok: g.passed, text: `${g.name.replace('->', ' → ')} ${g.passed ? 'met' : 'not met'}: ${gateDetailWords(g)}` });
  if (s.rolledBack) checks.push({ rule: 'rollback', ok: false, text: `an automatic rollback is in effect (${s.rolledBack.reason}): resume first` });
  else checks.push({ rule: 'rollback', ok: true, text: 'no automatic rollback in effect' });
  if (s.paused) checks.push({ rule: 'pause', ok: true, text: 'paused: automatic ramping is stopped (advancing is still allowed once the gate is met)' });
  return checks;
}
