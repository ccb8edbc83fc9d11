/** The receiver's memory without HTTP: duplicates, conflicts, per-entity order, canonical bodies. */
import { describe, expect, it } from 'vitest';
import { canonicalJson, entityOfPayload, Ledger, type Delivery } from './ledger';

const delivery = (commandId: string, type: string, body: unknown, at = 1): Delivery => ({ commandId, type, body, correlationId: null, at });

describe('canonicalJson', () => {
  it('ignores object key order at every level but not array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
  });
});

describe('entityOfPayload', () => {
  it.each([
    [{ orderId: 'O-1', customerId: 'C-1' }, 'O-1'],
    [{ sku: 'S-1', warehouse: 'DC-EAST', available: 3 }, 'S-1@DC-EAST'],
    [{ customerId: 'C-1', name: 'Acme' }, 'C-1'],
    [{ sku: 'S-1' }, null],
    [{ orderId: 7 }, null],
    [null, null],
  ])('%j -> %s', (body, entity) => {
    expect(entityOfPayload('Any', body)).toBe(entity);
  });
});

describe('Ledger', () => {
  it('tells new keys, duplicates and conflicts apart, recording only conflicts', () => {
    const ledger = new Ledger();
    expect(ledger.check('k1', 'CreateSalesOrder', { orderId: 'O-1', version: 1 })).toEqual({ kind: 'new' });
    const first = delivery('k1', 'CreateSalesOrder', { orderId: 'O-1', version: 1 });
    ledger.apply(first);
    expect(ledger.check('k1', 'CreateSalesOrder', { version: 1, orderId: 'O-1' })).toEqual({ kind: 'duplicate', first });
    expect(ledger.check('k1', 'CreateSalesOrder', { orderId: 'O-1', version: 2 })).toEqual({ kind: 'conflict', first });
    expect(ledger.check('k1', 'UpdateSalesOrder', { orderId: 'O-1', version: 1 })).toEqual({ kind: 'conflict', first });
    expect(ledger.conflicts()).toEqual([
      { commandId: 'k1', first: { orderId: 'O-1', version: 1 }, second: { orderId: 'O-1', version: 2 } },
      { commandId: 'k1', first: { orderId: 'O-1', version: 1 }, second: { orderId: 'O-1', version: 1 } },
    ]);
    expect(() => ledger.apply(delivery('k1', 'CreateSalesOrder', {}))).toThrow();
    expect(ledger.applied()).toEqual([first]);
  });

  it('keeps the order of effect overall and per entity, and hands out copies', () => {
    const ledger = new Ledger();
    ledger.apply(delivery('a', 'CreateSalesOrder', { orderId: 'O-1' }));
    ledger.apply(delivery('b', 'UpdateAvailability', { sku: 'S', warehouse: 'W' }));
    ledger.apply(delivery('c', 'UpdateSalesOrder', { orderId: 'O-1' }));
    ledger.apply(delivery('d', 'Unknown', { note: 'no entity' }));
    expect(ledger.applied().map((d) => d.commandId)).toEqual(['a', 'b', 'c', 'd']);
    const byEntity = ledger.appliedByEntity();
    expect([...byEntity.keys()]).toEqual(['O-1', 'S@W']);
    expect(byEntity.get('O-1')!.map((d) => d.commandId)).toEqual(['a', 'c']);
    ledger.applied().pop();
    byEntity.get('O-1')!.pop();
    expect(ledger.appliedCount()).toBe(4);
    expect(ledger.appliedByEntity().get('O-1')).toHaveLength(2);
  });

  it('files by a custom entityOf', () => {
    const ledger = new Ledger((type) => type);
    ledger.apply(delivery('a', 'X', {}));
    expect(ledger.appliedByEntity().get('X')!.map((d) => d.commandId)).toEqual(['a']);
  });
});
