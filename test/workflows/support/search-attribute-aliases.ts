/**
 * Test-only workflow interceptor: the time-skipping test server (Temporal's Java test server)
 * accepts only its predefined custom search attributes and has no API to register more
 * (OperatorService is unimplemented there), so under test the workflow's upserts of
 * SwitchyardEnv / SwitchyardStage / SwitchyardRampPercent are renamed to predefined attributes
 * of the same index type. The workflow code is unchanged; the tests read the values back under
 * the aliases to check what the workflow upserted.
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import type { SearchAttributeName } from '../../../contract/index.js';

/** Predefined test-server attribute standing in for each Switchyard attribute. */
export const TEST_SERVER_ALIASES: Record<SearchAttributeName, string> = {
  SwitchyardEnv: 'CustomKeywordField',
  SwitchyardStage: 'CustomStringField',
  SwitchyardRampPercent: 'CustomIntField',
};

/** Registered through bundleWorkflowCode({ workflowInterceptorModules }). */
export const interceptors: WorkflowInterceptorsFactory = () => ({
  internals: [
    {
      concludeActivation(input, next) {
        for (const command of input.commands) {
          const fields = command.upsertWorkflowSearchAttributes?.searchAttributes?.indexedFields;
          if (!fields) continue;
          for (const [name, alias] of Object.entries(TEST_SERVER_ALIASES)) {
            const value = fields[name];
            if (value === undefined) continue;
            fields[alias] = value;
            delete fields[name];
          }
        }
        return next(input);
      },
    },
  ],
});
