/**
 * What `tributary dlq redrive` has already sent back, per DLQ partition, so that running the same
 * redrive again sends nothing twice and a record a filter passed over stays reachable.
 *
 * Kept in Kafka as the committed offsets of the consumer group `<groupPrefix>dlq-redrive` (one
 * group per deployment), one per DLQ partition:
 *   offset    `next`: every record below it has been re-driven;
 *   metadata  `tributary.redrive/1 <ranges>`: offsets at or above `next` re-driven one by one
 *             (a filtered redrive sends some records and passes over others), as sorted inclusive
 *             ranges `12-15,20`. `next` moves over ranges that join it.
 * So a record is re-driven iff it is below `next` or in a range; a redrive without `--all`
 * considers only the others. Kafka bounds the metadata (offset.metadata.max.bytes, 4096 by
 * default): `fits` says whether a state can be stored, and a redrive stops before a state that
 * cannot (filters that pick thousands of scattered records; run without --where to move `next`).
 *
 * Unreadable metadata (written by another tool) counts as no ranges: at worst records are sent
 * again, which processors drop by eventId.
 */

export interface Progress {
  next: bigint;
  /** Sorted, disjoint, non-adjacent inclusive ranges, all at or above `next + 1`. */
  sent: [bigint, bigint][];
}

const TAG = 'tributary.redrive/1';
export const MAX_METADATA_BYTES = 4000;

/** From the group's committed offset (`-1`/empty: none) and its metadata. */
export function parseProgress(offset: string | null | undefined, metadata: string | null | undefined): Progress {
  const committed = offset !== null && offset !== undefined && /^\d+$/.test(offset) ? BigInt(offset) : 0n;
  const sent: [bigint, bigint][] = [];
  const text = metadata ?? '';
  if (text.startsWith(`${TAG} `)) {
    for (const range of text.slice(TAG.length + 1).split(',')) {
      const match = /^(\d+)(?:-(\d+))?$/.exec(range.trim());
      if (!match) return { next: committed, sent: [] };
      const from = BigInt(match[1] as string);
      const to = match[2] === undefined ? from : BigInt(match[2]);
      if (to < from) return { next: committed, sent: [] };
      sent.push([from, to]);
    }
  }
  return normalize({ next: committed, sent });
}

export function encodeProgress(progress: Progress): { offset: string; metadata: string | null } {
  const ranges = progress.sent.map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`));
  return { offset: progress.next.toString(), metadata: ranges.length === 0 ? null : `${TAG} ${ranges.join(',')}` };
}

export function fits(progress: Progress): boolean {
  return Buffer.byteLength(encodeProgress(progress).metadata ?? '', 'utf8') <= MAX_METADATA_BYTES;
}

export function isRedriven(progress: Progress, offset: bigint): boolean {
  return offset < progress.next || progress.sent.some(([from, to]) => from <= offset && offset <= to);
}

/** The progress once `offsets` have been re-driven too. */
export function markSent(progress: Progress, offsets: Iterable<bigint>): Progress {
  const sent = [...progress.sent];
  for (const offset of offsets) sent.push([offset, offset]);
  return normalize({ next: progress.next, sent });
}

function normalize(progress: Progress): Progress {
  const ranges = progress.sent.filter(([, to]) => to >= progress.next).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const [from, to] of ranges) {
    const last = merged[merged.length - 1];
    if (last && from <= last[1] + 1n) last[1] = to > last[1] ? to : last[1];
    else merged.push([from, to]);
  }
  let next = progress.next;
  while (merged.length > 0 && (merged[0] as [bigint, bigint])[0] <= next) {
    const [, to] = merged.shift() as [bigint, bigint];
    if (to + 1n > next) next = to + 1n;
  }
  return { next, sent: merged };
}
