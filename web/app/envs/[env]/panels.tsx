import { AuditTable } from '../../../components/audit-table';
import { MismatchExplorer } from '../../../components/mismatch-explorer';
import { PanelOutage } from '../../../components/panel-skeleton';
import { loadEnvAudit, loadEnvSamples } from '../../../lib/data';

// The environment page's slower panels: each reads on its own inside a Suspense boundary, so a slow
// or unreachable table holds only its panel, never the stage, gates and actions above it.

export async function MismatchPanel({ env }: { env: string }) {
  const { samples, outages } = await loadEnvSamples(env);
  return (
    <>
      <PanelOutage outages={outages} />
      <MismatchExplorer samples={samples} />
    </>
  );
}

export async function AuditPanel({ env }: { env: string }) {
  const { entries, outages } = await loadEnvAudit(env);
  return (
    <>
      <PanelOutage outages={outages} />
      <AuditTable entries={entries} showEnv={false} />
    </>
  );
}
