'use client';

import { ErrorPanel } from '../components/error-panel';

/** A page that failed to render: say what happened and offer a retry, never a blank screen. */
export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return <ErrorPanel title="This page could not be shown" error={error} reset={reset} />;
}
