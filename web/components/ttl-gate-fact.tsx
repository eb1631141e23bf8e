import { Stage, type MigrationStateView } from '../../contract';
import { relative, time } from './format';

/**
 * The TTL gate as a fact of a migration's facts list (a `<dt>`/`<dd>` pair): when ttl_wait's gate
 * opens and how far off that is; nothing outside ttl_wait. The Overview's cards and the
 * environment page show it alike.
 */
export function TtlGateFact({ state }: { state: MigrationStateView | null }) {
  if (state?.stage !== Stage.ttlWait) return null;
  return (
    <>
      <dt>TTL gate</dt>
      <dd>{state.ttlGateAt ? `${time(state.ttlGateAt)} (${relative(state.ttlGateAt)})` : '–'}</dd>
    </>
  );
}
