/**
 * The drawn master data: codes in the SPEC pattern, conversions and stock policies that make
 * sense, SKUs that leave room for never-known ones, reproducible by seed.
 */
import { describe, expect, it } from 'vitest';
import { Random } from './random';
import { buildWorld, MAX_SKUS, WAREHOUSE_CODES } from './world';

const CODE = /^[A-Za-z0-9._-]{1,64}$/;
const options = { warehouses: WAREHOUSE_CODES.slice(0, 4), skus: 300, customers: 200, ordersPerHour: 1200 };

describe('buildWorld', () => {
  const world = buildWorld(new Random('w'), options);

  it('is reproducible by seed and differs across seeds', () => {
    expect(JSON.stringify(buildWorld(new Random('w'), options).items)).toBe(JSON.stringify(world.items));
    expect(JSON.stringify(buildWorld(new Random('v'), options).items)).not.toBe(JSON.stringify(world.items));
  });

  it('draws unique SKU-nnnnn codes below SKU-90000, even at the largest catalogue', () => {
    const large = buildWorld(new Random('large'), { ...options, skus: MAX_SKUS });
    const skus = large.items.map((item) => item.sku);
    expect(new Set(skus).size).toBe(MAX_SKUS);
    for (const sku of skus) {
      expect(sku).toMatch(/^SKU-\d{5}$/);
      expect(Number(sku.slice(4))).toBeLessThan(90000);
    }
  });

  it('gives items a base unit, integer pack conversions above 1 and safety stock only where stocked', () => {
    const bases = new Set<string>();
    for (const item of world.items) {
      bases.add(item.baseUom);
      expect(item.description.length).toBeGreaterThan(0);
      expect(item.uomConversions).not.toHaveProperty(item.baseUom);
      for (const [uom, factor] of Object.entries(item.uomConversions)) {
        expect(uom).toMatch(CODE);
        expect(Number.isInteger(factor) && factor > 1).toBe(true);
      }
      expect(item.stockedAt.length).toBeGreaterThan(0);
      for (const [warehouse, quantity] of Object.entries(item.safetyStock)) {
        expect(item.stockedAt).toContain(warehouse);
        expect(Number.isInteger(quantity) && quantity > 0).toBe(true);
      }
      for (const warehouse of item.stockedAt) {
        const policy = item.policy[warehouse];
        expect(policy).toBeDefined();
        expect(policy!.initialStock).toBeGreaterThan(policy!.reorderPoint - (item.safetyStock[warehouse] ?? 0));
        expect(policy!.reorderQuantity).toBeGreaterThan(0);
      }
    }
    expect(bases.has('EA')).toBe(true);
    expect(bases.size).toBeGreaterThan(2);
    expect(world.items.some((item) => Object.keys(item.uomConversions).includes('CS'))).toBe(true);
    expect(world.items.some((item) => Object.keys(item.safetyStock).length === 0)).toBe(true);
  });

  it('gives customers coded ids, a home among the warehouses, and a few credit holds', () => {
    const ids = world.customers.map((c) => c.customerId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const customer of world.customers) {
      expect(customer.customerId).toMatch(CODE);
      expect(options.warehouses).toContain(customer.home);
    }
    const holds = world.customers.filter((c) => c.creditHold).length;
    expect(holds).toBeGreaterThan(0);
    expect(holds / world.customers.length).toBeLessThan(0.12);
  });

  it('makes a few items popular and many slow: the top tenth draws over 30 %', () => {
    const rng = new Random('draws');
    const counts = new Map<string, number>();
    for (let i = 0; i < 30_000; i++) {
      const sku = world.popularItems.draw(rng).sku;
      counts.set(sku, (counts.get(sku) ?? 0) + 1);
    }
    const sorted = [...counts.values()].sort((a, b) => b - a);
    const top30 = sorted.slice(0, 30).reduce((s, n) => s + n, 0);
    expect(top30 / 30_000).toBeGreaterThan(0.3);
  });
});
