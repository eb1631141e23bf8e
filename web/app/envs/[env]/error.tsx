'use client';

import Link from 'next/link';
import { useParams } from 'next/navigation';
import { ErrorPanel } from '../../../components/error-panel';

/** An environment's page that failed to render: the navigation and the other environments stay usable. */
export default function EnvError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  const { env } = useParams<{ env: string }>();
  return (
    <ErrorPanel title={`Environment ${env} could not be shown`} error={error} reset={reset}>
      <p>
        The other environments are not affected: <Link href="/">back to the overview</Link>.
      </p>
    </ErrorPanel>
  );
}
