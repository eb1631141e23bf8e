'use client';

import type { ReactNode } from 'react';

/** What a route's error boundary shows: what failed, the server's reference, a retry (never a blank screen). */
export function ErrorPanel({ title, error, reset, children }: { title: string; error: Error & { digest?: string }; reset: () => void; children?: ReactNode }) {
  return (
    <section className="banner" role="alert">
      <h2>{title}</h2>
      <p>{error.message || 'An unexpected error happened on the server.'}</p>
      {error.digest ? <p className="muted">Reference: {error.digest} (in the console&apos;s log)</p> : null}
      {children}
      <button type="button" onClick={reset}>
        Try again
      </button>
    </section>
  );
}
