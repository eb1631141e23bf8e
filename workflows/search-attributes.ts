/**
 * Custom search attributes of migration workflows, so operators can find and filter them in the
 * Temporal UI ("SwitchyardStage = 'science'"). Registered on the server by the local stack
 * (`npm run stack -- up`) or by an operator on a real cluster; see README.
 */

/** Search attribute name to its Temporal index type. */
export const SEARCH_ATTRIBUTES = {
  /** Environment the migration workflow runs for (test, staging, production, ...). */
  SwitchyardEnv: 'Keyword',
  /** Current migration stage (planned, dual_write, science, ...). */
  SwitchyardStage: 'Keyword',
  /** Current science or cutover ramp percent, 0..100. */
  SwitchyardRampPercent: 'Int',
} as const;

/** Names of the custom search attributes. */
export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;
