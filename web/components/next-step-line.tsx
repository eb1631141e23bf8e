import { formatEta, nextActorWords, type NextStep } from '../../contract';

/** The tone of who acts: automatic (nothing to do) is calm, a person's step stands out. */
const TONE: Record<NextStep['actor'], string> = { automatic: 'ok', operator: 'act', approver: 'act', nobody: '', unknown: 'warn' };

/**
 * "What happens next" as one line: who acts (automatic, an operator, an approver), what happens,
 * about when, and for a person the button to press (`where` says where it is).
 */
export function NextStepLine({ step, testId, where = 'below' }: { step: NextStep; testId: string; where?: string }) {
  const person = step.actor === 'operator' || step.actor === 'approver';
  return (
    <p className="next-step" data-testid={testId} data-actor={step.actor}>
      <span className={`pill ${TONE[step.actor]}`}>{nextActorWords(step)}</span> <span data-testid={`${testId}-text`}>{step.text}</span>
      {step.etaMs !== null ? (
        <span className="eta" data-testid={`${testId}-eta`}>
          {' '}
          ({formatEta(step.etaMs)})
        </span>
      ) : null}
      {person && step.action ? (
        <span className="muted">
          {' '}
          — <strong>{step.action}</strong> {where}
        </span>
      ) : null}
    </p>
  );
}
