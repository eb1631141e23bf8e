import type { Outage } from '../lib/data';

/** A placeholder the size of a panel, shown while that panel's data loads (the rest of the page is already usable). */
export function PanelSkeleton({ label, lines = 3 }: { label: string; lines?: number }) {
  return (
    <div className="skeleton" role="status" aria-live="polite" data-testid="panel-skeleton">
      <span className="muted">Loading {label}…</span>
      {Array.from({ length: lines }, (_, i) => (
        <div key={i} className="skeleton-line" />
      ))}
    </div>
  );
}

/** A route's loading page: its heading, muted, over one panel skeleton (the navigation stays usable). */
export function PageSkeleton({ title, label, lines }: { title: string; label: string; lines: number }) {
  return (
    <>
      <h1 className="muted">{title}</h1>
      <section className="card">
        <PanelSkeleton label={label} lines={lines} />
      </section>
    </>
  );
}

/** One line naming what a panel could not reach (the page-level banner covers the rest). */
export function PanelOutage({ outages }: { outages: Outage[] }) {
  if (outages.length === 0) return null;
  return (
    <p className="pill bad" role="alert" data-testid="panel-outage">
      {outages.map((o) => `${o.service} is unreachable: ${o.message}`).join('; ')}
    </p>
  );
}
