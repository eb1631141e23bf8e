'use client';

import { axisScale, formatValue, type ChartUnit } from './chart-scale';
import { CartesianGrid, Legend, Line, LineChart, ReferenceArea, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

/** One line of a chart: a field of the rows, its label and colour. */
export interface SeriesLine {
  key: string;
  label: string;
  color: string;
}

/** A stage's part of the time axis (to: null while it lasts). */
export interface ChartStageSpan {
  stage: string;
  from: number;
  to: number | null;
}

const clock = (t: number): string => new Date(t).toISOString().slice(11, 16);

/** Light fills per stage, in stage order. */
export const STAGE_COLORS: Record<string, string> = {
  planned: '#f2f4f7',
  dual_write: '#e0eaff',
  science: '#fef0c7',
  cutover: '#d1fadf',
  ttl_wait: '#e9d7fe',
  decommission: '#fee4e2',
  complete: '#d0d5dd',
};

/**
 * A per-minute line chart (recharts); rows carry `time` in epoch ms and null where a minute has
 * no data, which is drawn as a gap (no line across it, no smoothing). The y-axis fits the data
 * with evenly spaced round ticks that share their decimals (a percent axis is capped at 100 %);
 * every value carries its unit; a band along the time axis shows which stage each part of the
 * chart belongs to. The caller fits the rows' window to the data (fitWindow).
 */
export function TimeSeriesChart({
  title,
  rows,
  lines,
  unit,
  testId,
  stages = [],
}: {
  title: string;
  rows: Record<string, number | null>[];
  lines: SeriesLine[];
  unit: ChartUnit;
  testId: string;
  stages?: ChartStageSpan[];
}) {
  const values = rows.flatMap((r) => lines.map((l) => r[l.key]).filter((v): v is number => typeof v === 'number'));
  const hasData = values.length > 0;
  const axis = axisScale(values, unit);
  const top = axis.top;
  const first = rows[0]?.time ?? 0;
  const last = rows.at(-1)?.time ?? 0;
  const bands = stages
    .map((s) => ({ ...s, x1: Math.max(s.from, first as number), x2: Math.min(s.to ?? (last as number), last as number) }))
    .filter((s) => s.x2 > s.x1);
  const fmt = (v: number): string => formatValue(v, unit);
  const tick = (v: number): string => formatValue(v, unit, axis.decimals);
  return (
    <figure className="chart" data-testid={testId} data-points={rows.length} data-has-data={hasData ? 'yes' : 'no'} data-y-max={top} data-unit={unit}>
      <figcaption>{title}</figcaption>
      {bands.length > 0 ? (
        <div className="stage-legend" aria-label="stages along the time axis">
          <span>stages (UTC):</span>
          {bands.map((b) => (
            <span key={`${b.stage}-${b.from}`}>
              <i style={{ background: STAGE_COLORS[b.stage] ?? '#eee' }} />
              {b.stage.replace('_', ' ')} {clock(b.from)}–{b.to === null ? 'now' : clock(b.to)}
            </span>
          ))}
        </div>
      ) : null}
      {hasData ? (
        <ResponsiveContainer width="100%" height={220}>
          <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" />
            {bands.map((b) => (
              <ReferenceArea
                key={`${b.stage}-${b.from}`}
                x1={b.x1}
                x2={b.x2}
                y1={0}
                y2={top}
                fill={STAGE_COLORS[b.stage] ?? '#eee'}
                fillOpacity={0.55}
                ifOverflow="hidden"
              />
            ))}
            <XAxis dataKey="time" tickFormatter={clock} type="number" domain={['dataMin', 'dataMax']} scale="time" />
            <YAxis tickFormatter={tick} width={72} domain={[0, top]} ticks={axis.ticks} interval={0} allowDataOverflow={unit === 'percent'} />
            <Tooltip
              labelFormatter={(t) => `${new Date(Number(t)).toISOString().slice(0, 16).replace('T', ' ')} UTC`}
              formatter={(v) => (typeof v === 'number' ? fmt(v) : 'no data')}
            />
            <Legend />
            {lines.map((l) => (
              <Line
                key={l.key}
                type="linear"
                dataKey={l.key}
                name={l.label}
                stroke={l.color}
                dot={{ r: 2, fill: l.color }}
                connectNulls={false}
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
