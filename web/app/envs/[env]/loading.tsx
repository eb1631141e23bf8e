import { PanelSkeleton } from '../../../components/panel-skeleton';

/** Shown while an environment's stage, gates and charts load. */
export default function EnvLoading() {
  return (
    <>
      <h1 className="muted">Loading the environment…</h1>
      <section className="card">
        <PanelSkeleton label="stage and gates" lines={6} />
      </section>
    </>
  );
}
