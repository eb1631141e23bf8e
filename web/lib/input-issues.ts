import type { z } from 'zod';

/**
 * A refused input's problems in one line, each with the field it is about: "percent: the percent
 * must be a whole number from 0 to 100; reason: a reason of at least 3 characters is required".
 * A problem of the input as a whole is named `whole` (the form's request, the API's body).
 */
export function inputIssues(error: z.ZodError, whole: string): string {
  return error.issues.map((i) => `${i.path.join('.') || whole}: ${i.message}`).join('; ');
}
