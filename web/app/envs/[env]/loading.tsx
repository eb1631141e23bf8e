import { PageSkeleton } from '../../../components/panel-skeleton';

/** Shown while an environment's stage, gates and charts load (a slow or unreachable service holds only this page, not the navigation). */
export default function EnvLoading() {
  return <PageSkeleton title="Loading the environment…" label="stage and gates" lines={6} />;
}
