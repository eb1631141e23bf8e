'use client';

import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { formatUtcClock } from '../../contract';

/**
 * Re-renders the page's server components every few seconds (live data without a manual
 * refresh). Client state such as a half-typed reason survives a refresh; refreshing pauses while
 * the tab is hidden.
 */
export function AutoRefresh({ intervalMs = 3000 }: { intervalMs?: number }) {
  const router = useRouter();
  const [last, setLast] = useState<number | null>(null);
  useEffect(() => {
    const id = setInterval(() => {
      if (document.visibilityState !== 'visible') return;
      router.refresh();
      setLast(Date.now());
    }, intervalMs);
    return () => clearInterval(id);
  }, [router, intervalMs]);
  return (
    <span className="live" title="the page refreshes itself every few seconds; every time in the console is UTC" data-testid="live-clock">
      live{last ? ` · ${formatUtcClock(last)}` : ''}
    </span>
  );
}
