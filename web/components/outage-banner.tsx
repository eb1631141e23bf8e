import type { Outage } from '../lib/data';

/** A banner naming every dependency the console could not reach (the page still renders what it has). */
export function OutageBanner({ outages }: { outages: Outage[] }) {
  if (outages.length === 0) return null;
  return (
    <div className="banner" role="alert" data-testid="outage-banner">
      <strong>Some data is unavailable.</strong>
      <ul>
        {outages.map((o) => (
          <li key={o.service}>
            {o.service} is unreachable: {o.message}. Figures from it are missing below; the page retries by itself.
          </li>
        ))}
      </ul>
    </div>
  );
}
