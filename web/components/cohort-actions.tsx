'use client';

import { useRouter } from 'next/navigation';
import { useActionState, useEffect, useRef } from 'react';
import { Stage } from '../../contract';
import { IDLE, type ActionState } from '../lib/action-state';
import type { Role } from '../lib/roles';
import { freshRequestId } from './action-panel';
import { ActionResult, RequestForm } from './request-form';

type Action = (prev: ActionState, form: FormData) => Promise<ActionState>;

/** What the forms need of each cohort. */
export interface CohortChoice {
  name: string;
  stage: string;
  ramp: number;
  /** Paused or rolled back (a resume applies). */
  held: boolean;
}

/** A cohort picker for a form (its value is the request's `cohort`). */
function CohortSelect({ cohorts, label }: { cohorts: CohortChoice[]; label: string }) {
  return (
    <select name="cohort" aria-label={`cohort to ${label}`} required defaultValue={cohorts[0]?.name}>
      {cohorts.map((c) => (
        <option key={c.name} value={c.name}>
          {c.name} ({c.stage} {c.ramp} %)
        </option>
      ))}
    </select>
  );
}

/**
 * The operator's actions on one cohort: hold it (pause), resume it, set its ramp, roll it back,
 * move it to cutover. The same server action as the environment's buttons, with the cohort named;
 * the workflow judges each request (order, gates, rollbacks) and records it with the cohort.
 */
export function CohortActions({
  env,
  role,
  stage,
  cohorts,
  migrationAction,
}: {
  env: string;
  role: Role;
  stage: string;
  cohorts: CohortChoice[];
  migrationAction: Action;
}) {
  const [answer, dispatch, pending] = useActionState(migrationAction, IDLE);
  const router = useRouter();
  useEffect(() => {
    if (answer.status !== 'idle') router.refresh();
  }, [answer.at, answer.status, router]);
  // One request id per request until the workflow answers: a double submit takes effect once.
  const request = useRef<{ answerAt: number; key: string; id: string } | null>(null);
  const submit = (data: FormData): void => {
    const key = `${String(data.get('kind'))}:${String(data.get('cohort'))}`;
    if (request.current?.answerAt !== answer.at || request.current.key !== key) request.current = { answerAt: answer.at, key, id: freshRequestId() };
    data.set('requestId', request.current.id);
    dispatch(data);
  };
  if (role === 'viewer') return null;
  const ramped = stage === Stage.science || stage === Stage.cutover;
  const f = { submit, pending, env };
  const inScience = cohorts.filter((c) => c.stage === Stage.science);
  const held = cohorts.filter((c) => c.held);
  return (
    <section className="actions" aria-label="cohort actions" data-testid="cohort-actions">
      {ramped ? (
        <>
          <RequestForm {...f} kind="pause" label="Hold cohort" buttonTestId="cohort-pause">
            <CohortSelect cohorts={cohorts} label="hold" />
          </RequestForm>
          {held.length > 0 ? (
            <RequestForm {...f} kind="resume" label="Resume cohort" buttonTestId="cohort-resume">
              <CohortSelect cohorts={held} label="resume" />
            </RequestForm>
          ) : null}
          <RequestForm {...f} kind="set_ramp" label="Set cohort ramp" buttonTestId="cohort-ramp">
            <CohortSelect cohorts={cohorts} label="ramp" />
            <input name="percent" type="number" min={0} max={100} step={1} required aria-label="cohort ramp percent" />
          </RequestForm>
          {stage === Stage.science && inScience.length > 0 ? (
            <RequestForm
              {...f}
              kind="advance"
              label="Move cohort to cutover"
              buttonTestId="cohort-advance"
              confirm={<p>Serve this cohort&apos;s reads from DynamoDB (cutover at its first step). The workflow checks its gate and the order first.</p>}
            >
              <input type="hidden" name="from" value={Stage.science} />
              <CohortSelect cohorts={inScience} label="move to cutover" />
            </RequestForm>
          ) : null}
        </>
      ) : null}
      {ramped || stage === Stage.ttlWait ? (
        <RequestForm
          {...f}
          kind="rollback"
          label="Roll back cohort"
          danger
          buttonTestId="cohort-rollback"
          reasonPlaceholder="why roll back this cohort (required; goes into the audit log)"
          confirm={<p>Roll back this cohort of {env}: its ramp goes to 0 % and it is paused; the other cohorts stay where they are.</p>}
        >
          <CohortSelect cohorts={cohorts} label="roll back" />
        </RequestForm>
      ) : null}
      <ActionResult state={answer} testId="cohort-action-result" />
    </section>
  );
}
