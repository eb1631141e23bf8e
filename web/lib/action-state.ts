import type { RepairReport } from '../../contract';

/** What a form's server action answered, shown next to the forms. */
export interface ActionState {
  status: 'idle' | 'ok' | 'rejected' | 'error';
  message: string;
  /** Which request it answers (start, advance, ...). */
  kind: string;
  /** Distinguishes two identical answers in a row. */
  at: number;
}

export const IDLE: ActionState = { status: 'idle', message: '', kind: '', at: 0 };

/** A repair request as the forms send it (times as `YYYY-MM-DDTHH:MM`, UTC). */
export interface RepairFields {
  from: string;
  to: string;
  reason: string;
  deleteExtras: boolean;
  verifyWorkflowId: string;
  allowPartial: boolean;
}

/** The answer of the repair forms: a preview carries the plan and the request it plans (the confirmation sends that request). */
export interface RepairActionState extends ActionState {
  preview: { report: RepairReport; fields: RepairFields } | null;
}

export const REPAIR_IDLE: RepairActionState = { ...IDLE, preview: null };
