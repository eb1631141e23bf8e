/**
 * A small worker pool: stores write many points at once, but never more than a cap in flight,
 * so a large batch cannot overload the database or exhaust the client's connections.
 */

/**
 * Calls fn for every item with at most `limit` calls in flight. After the first failure no new
 * call starts; the in-flight ones are allowed to settle, then that first failure is thrown.
 */
export async function forEachConcurrent<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        await fn(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker());
  await Promise.all(workers);
  if (failure !== undefined) throw failure.error;
}
