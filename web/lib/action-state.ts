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
