'use client';

/** A page that failed to render: say what happened and offer a retry, never a blank screen. */
export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <section className="banner" role="alert">
      <h2>This page could not be shown</h2>
      <p>{error.message || 'An unexpected error happened on the server.'}</p>
      {error.digest ? <p className="muted">Reference: {error.digest} (in the console&apos;s log)</p> : null}
      <button type="button" onClick={reset}>
        Try again
      </button>
    </section>
  );
}
