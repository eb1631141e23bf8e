'use client';

import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState, useTransition } from 'react';
import { formatUtcClock } from '../../contract';

/**
 * Re-renders the page's server components every few seconds (live data without a manual
 * refresh). Client state such as a half-typed reason survives a refresh; refreshing pauses while
 * the tab is hidden. A refresh starts only once the previous one has landed: on a busy server a
 * render can take longer than the interval, and a refresh that always replaced the one before it
 * would never show anything new. The clock says when the page's data was last refreshed (UTC).
 */
/** How long a refresh may stay in flight before the next one starts anyway. */
const GIVE_UP_MS = 30_000;

export function AutoRefresh({ intervalMs = 3000 }: { intervalMs?: number }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [last, setLast] = useState<number | null>(null);
  /** When the refresh in flight began (null: none); one that never lands is given up after a while. */
  const inFlightSince = useRef<number | null>(null);
  const wasPending = useRef(false);
  useEffect(() => {
    // A refresh landed: its data is what the page shows now.
    if (wasPending.current && !pending) {
      inFlightSince.current = null;
      setLast(Date.now());
    }
    wasPending.current = pending;
  }, [pending]);
  useEffect(() => {
    const id = setInterval(() => {
      if (document.visibilityState !== 'visible') return;
      if (inFlightSince.current !== null && Date.now() - inFlightSince.current < GIVE_UP_MS) return;
      inFlightSince.current = Date.now();
      startTransition(() => router.refresh());
    }, intervalMs);
    return () => clearInterval(id);
  }, [router, intervalMs]);
  return (
    <span className="live" title="the page refreshes itself every few seconds; every time in the console is UTC" data-testid="live-clock">
      live{last ? ` · ${formatUtcClock(last)}` : ''}
    </span>
  );
}
