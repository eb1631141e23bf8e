import { Stage, STAGES } from '../../contract';

const LABELS: Record<Stage, string> = {
  planned: 'Planned',
  dual_write: 'Dual write',
  science: 'Science',
  cutover: 'Cutover',
  ttl_wait: 'TTL wait',
  decommission: 'Decommission',
  complete: 'Complete',
};

/** The migration's stages, done / current / to come. */
export function StageStepper({ stage, ramp }: { stage: Stage | null; ramp?: number }) {
  const current = stage === null ? -1 : STAGES.indexOf(stage);
  return (
    <ol className="stepper" aria-label="migration stages">
      {STAGES.map((s, i) => (
        <li key={s} className={i < current ? 'done' : i === current ? 'current' : 'todo'} aria-current={i === current ? 'step' : undefined}>
          {LABELS[s]}
          {i === current && (s === Stage.science || s === Stage.cutover) && ramp !== undefined ? ` ${ramp}%` : ''}
        </li>
      ))}
    </ol>
  );
}

export { LABELS as STAGE_LABELS };
