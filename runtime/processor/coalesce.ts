/**
 * Outputs a newer one of the same batch makes worthless are not produced (issue 7: "fold repeated
 * updates to one key in memory before writing", what Kafka Streams' record cache does for a
 * KTable). A declaration names the identity under which only the newest output counts
 * (`ProcessorDeclaration.latestOnly`): the key of a compacted topic (`atp.changed`,
 * `order.status`), or a record carrying an absolute value (a RESERVATION: this order's whole
 * reservation at the row). Of the outputs sharing an identity within one applied batch only the
 * last is kept, at its own place, so per key the order is unchanged and the last value is always
 * sent; outputs without an identity (commands, stock movements) are all kept.
 *
 * Under a trickle a batch holds a record or two and nothing is dropped; during a catch-up, a
 * rebuild or a burst a hot ATP row changes dozens of times per batch and is sent once.
 */
export function keepLatest<T>(items: readonly T[], identityOf: (item: T) => string | undefined): { kept: T[]; dropped: T[] } {
  const last = new Map<string, number>();
  items.forEach((item, i) => {
    const identity = identityOf(item);
    if (identity !== undefined) last.set(identity, i);
  });
  if (last.size === 0) return { kept: [...items], dropped: [] };
  const kept: T[] = [];
  const dropped: T[] = [];
  items.forEach((item, i) => {
    const identity = identityOf(item);
    if (identity === undefined || last.get(identity) === i) kept.push(item);
    else dropped.push(item);
  });
  return { kept, dropped };
}
