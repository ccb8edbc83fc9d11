/**
 * What a stand-in receiver remembers, with no I/O: the idempotency table, the commands that took
 * effect in the order they did, every attempt, and every Idempotency-Key reused with another body.
 *
 *   check(commandId, type, body)  'new' | 'duplicate' (same type and body as the first) | 'conflict'
 *                                 (anything else; recorded, since one key must never carry two bodies)
 *   apply(delivery)               takes effect once per key; check then apply run in one synchronous
 *                                 step of the receiver, so two concurrent requests cannot both apply
 *
 * Bodies are compared as canonical JSON (object keys sorted): a sender that re-serialises a payload
 * with its fields in another order sent the same body.
 *
 * Per-entity order: each applied command is filed under the entity it is about — the key of its
 * Kafka record (SPEC §7: orderId, customerId or sku@warehouse) — as read from its payload by
 * `entityOf`, so a test can assert that the commands of one entity took effect in order.
 */

export interface Delivery {
  commandId: string;
  type: string;
  body: unknown;
  correlationId: string | null;
  at: number;
}

export interface Attempt {
  commandId: string | null;
  type: string;
  /** The status answered; 0 when the request got no answer (the receiver closed or went down first). */
  status: number;
  at: number;
}

export interface Conflict {
  commandId: string;
  first: unknown;
  second: unknown;
}

export type Check = { kind: 'new' } | { kind: 'duplicate'; first: Delivery } | { kind: 'conflict'; first: Delivery };

export type EntityOf = (type: string, body: unknown) => string | null;

/**
 * The entity a command is about, as SPEC §7 keys command records: orderId first (order commands
 * also name a customer), then sku@warehouse (stock and availability), then customerId.
 */
export const entityOfPayload: EntityOf = (_type, body) => {
  if (typeof body !== 'object' || body === null) return null;
  const fields = body as Record<string, unknown>;
  if (typeof fields.orderId === 'string') return fields.orderId;
  if (typeof fields.sku === 'string' && typeof fields.warehouse === 'string') return `${fields.sku}@${fields.warehouse}`;
  if (typeof fields.customerId === 'string') return fields.customerId;
  return null;
};

/** JSON with object keys sorted at every level, for comparing bodies by content. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) return inner;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(inner).sort()) sorted[key] = (inner as Record<string, unknown>)[key];
    return sorted;
  });
}

export class Ledger {
  private readonly byKey = new Map<string, { delivery: Delivery; canonical: string }>();
  private readonly effects: Delivery[] = [];
  private readonly attemptLog: Attempt[] = [];
  private readonly conflictLog: Conflict[] = [];
  private readonly entities = new Map<string, Delivery[]>();

  constructor(private readonly entityOf: EntityOf = entityOfPayload) {}

  recordAttempt(attempt: Attempt): void {
    this.attemptLog.push(attempt);
  }

  /** Whether `commandId` is new, a duplicate of what took effect under it, or a conflict (recorded). */
  check(commandId: string, type: string, body: unknown): Check {
    const known = this.byKey.get(commandId);
    if (known === undefined) return { kind: 'new' };
    if (known.delivery.type === type && known.canonical === canonicalJson(body)) return { kind: 'duplicate', first: known.delivery };
    this.conflictLog.push({ commandId, first: known.delivery.body, second: body });
    return { kind: 'conflict', first: known.delivery };
  }

  /** Makes `delivery` take effect; a key that already did is refused (check first). */
  apply(delivery: Delivery): void {
    if (this.byKey.has(delivery.commandId)) throw new Error(`Idempotency-Key ${delivery.commandId} already applied`);
    this.byKey.set(delivery.commandId, { delivery, canonical: canonicalJson(delivery.body) });
    this.effects.push(delivery);
    const entity = this.entityOf(delivery.type, delivery.body);
    if (entity !== null) {
      const list = this.entities.get(entity);
      if (list === undefined) this.entities.set(entity, [delivery]);
      else list.push(delivery);
    }
  }

  applied(): Delivery[] {
    return [...this.effects];
  }

  attempts(): Attempt[] {
    return [...this.attemptLog];
  }

  conflicts(): Conflict[] {
    return [...this.conflictLog];
  }

  /** Applied commands per entity, each list in the order its commands took effect. */
  appliedByEntity(): Map<string, Delivery[]> {
    return new Map([...this.entities].map(([entity, list]) => [entity, [...list]]));
  }

  appliedCount(): number {
    return this.effects.length;
  }

  attemptCount(): number {
    return this.attemptLog.length;
  }
}
