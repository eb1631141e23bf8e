import { PageSkeleton } from '../../components/panel-skeleton';

/** Shown while the pipeline's writers, lag and instances load (a slow or unreachable service holds only this page, not the navigation). */
export default function PipelineLoading() {
  return <PageSkeleton title="Pipeline" label="writers, lag and instances" lines={6} />;
}
