'use client';

import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

/** One line of a chart: a field of the rows, its label and colour. */
export interface SeriesLine {
  key: string;
  label: string;
  color: string;
}

const clock = (t: number): string => new Date(t).toISOString().slice(11, 16);

/** A per-minute line chart (recharts); rows carry `time` in epoch ms. */
export function TimeSeriesChart({
  title,
  rows,
  lines,
  unit,
  testId,
  percent = false,
}: {
  title: string;
  rows: Record<string, number | null>[];
  lines: SeriesLine[];
  unit?: string;
  testId: string;
  percent?: boolean;
}) {
  const hasData = rows.some((r) => lines.some((l) => r[l.key] !== null && r[l.key] !== undefined));
  const fmt = (v: number): string => (percent ? `${(v * 100).toFixed(2)}%` : `${v}${unit ?? ''}`);
  return (
    <figure className="chart" data-testid={testId} data-points={rows.length} data-has-data={hasData ? 'yes' : 'no'}>
      <figcaption>{title}</figcaption>
      {hasData ? (
        <ResponsiveContainer width="100%" height={220}>
          <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="time" tickFormatter={clock} type="number" domain={['dataMin', 'dataMax']} scale="time" />
            <YAxis tickFormatter={fmt} width={70} />
            <Tooltip labelFormatter={(t) => new Date(Number(t)).toISOString()} formatter={(v) => (typeof v === 'number' ? fmt(v) : String(v))} />
            <Legend />
            {lines.map((l) => (
              <Line
                key={l.key}
                type="monotone"
                dataKey={l.key}
                name={l.label}
                stroke={l.color}
                dot={rows.filter((r) => r[l.key] !== null && r[l.key] !== undefined).length <= 3 ? { r: 3 } : false}
                connectNulls
                isAnimationActive={false}
              />
            ))}
          </LineChart>
        </ResponsiveContainer>
      ) : (
        <p className="muted">No data in this window yet.</p>
      )}
    </figure>
  );
}
