/**
 * The checkpoint the aggregator commits with each offset of an observations partition (in the
 * commit's metadata): what the partition's next owner needs to resume exactly, and what tells
 * anyone else which minutes the aggregator has closed for good (a window [m, m + 60 s) with
 * m + 60 s <= the watermark is published, and a later observation for it would be late).
 */

/** What a committed offset carries so the next owner can resume exactly. */
export interface WindowCheckpoint {
  /** Format version. */
  v: 1;
  /** Next offset that had been processed when the commit was made (decimal string). */
  e: string;
  /** Largest event time seen, epoch ms (or null before any). */
  m: number | null;
  /** Watermark, epoch ms (or null before any). */
  w: number | null;
}

/** Parses checkpoint metadata from a committed offset; undefined when absent or unreadable. */
export function parseCheckpoint(metadata: string | null | undefined): WindowCheckpoint | undefined {
  if (!metadata) return undefined;
  try {
    const c = JSON.parse(metadata) as Partial<WindowCheckpoint>;
    if (c.v !== 1 || typeof c.e !== 'string' || !/^\d+$/.test(c.e)) return undefined;
    return { v: 1, e: c.e, m: typeof c.m === 'number' ? c.m : null, w: typeof c.w === 'number' ? c.w : null };
  } catch {
    return undefined;
  }
}
