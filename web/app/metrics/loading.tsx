import { PageSkeleton } from '../../components/panel-skeleton';

/** Shown while the series from both stores load (a slow or unreachable service holds only this page, not the navigation). */
export default function MetricsLoading() {
  return <PageSkeleton title="Metrics tab preview" label="the series from both stores" lines={6} />;
}
