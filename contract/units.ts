/**
 * The unit of time every layer counts minutes in, defined once: metric points, ranges, coverage
 * horizons and gates are whole minutes. Plain data (this file is part of the workflow bundle).
 */

/** One minute in ms. */
export const MINUTE_MS = 60_000;
