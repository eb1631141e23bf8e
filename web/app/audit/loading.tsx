import { PageSkeleton } from '../../components/panel-skeleton';

/** Shown while the audit history loads (a slow or unreachable service holds only this page, not the navigation). */
export default function AuditLoading() {
  return <PageSkeleton title="Audit history" label="audit entries" lines={8} />;
}
