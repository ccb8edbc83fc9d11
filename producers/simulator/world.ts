/**
 * The simulated distributor's master data, drawn once from the seed: warehouses, an item catalogue
 * (SKU codes, base unit, pack conversions, price, popularity, which DCs stock it) and customers
 * (home DC, preferred channel, currency, credit). It also sets each stocked (sku, warehouse)'s
 * replenishment policy from the expected demand, so stock neither runs dry nor piles up and short
 * picks stay the exception they are in a healthy warehouse.
 */
import type { Channel } from './events';
import { Random, WeightedTable } from './random';

export const WAREHOUSE_CODES = [
  'DC-EAST',
  'DC-WEST',
  'DC-CENTRAL',
  'DC-SOUTH',
  'DC-NORTH',
  'DC-GULF',
  'DC-MOUNTAIN',
  'DC-PACIFIC',
] as const;

/** The smallest SKU number a generated catalogue uses; `SKU-9xxxx` is never in the catalogue. */
export const FIRST_SKU_NUMBER = 10000;
export const MAX_SKUS = 10000;
export const MAX_CUSTOMERS = 100000;

export interface StockPolicy {
  /** Expected base units ordered per simulated hour at this DC. */
  demandPerHour: number;
  initialStock: number;
  reorderPoint: number;
  reorderQuantity: number;
}

export interface Item {
  sku: string;
  description: string;
  baseUom: string;
  /** Pack units, smallest first; the base unit is implicit (1) and not listed. */
  uomConversions: Record<string, number>;
  safetyStock: Record<string, number>;
  /** List price of one base unit, in minor currency units. */
  unitPriceMinor: number;
  /** Largest quantity a line in the base unit usually asks for. */
  maxBaseQuantity: number;
  popularity: number;
  stockedAt: string[];
  policy: Record<string, StockPolicy>;
}

export interface Customer {
  customerId: string;
  name: string;
  email: string | null;
  creditLimitMinor: number | null;
  creditHold: boolean;
  home: string;
  channel: Channel;
  currency: string;
}

export interface World {
  warehouses: string[];
  items: Item[];
  itemsBySku: Map<string, Item>;
  customers: Customer[];
  popularItems: WeightedTable<Item>;
  activeCustomers: WeightedTable<Customer>;
}

export interface WorldOptions {
  warehouses: readonly string[];
  skus: number;
  customers: number;
  ordersPerHour: number;
}

/** Mean number of lines per order the scenario draws (see `LINE_COUNT_WEIGHTS`). */
export const LINE_COUNT_WEIGHTS: readonly (readonly [number, number])[] = [
  [1, 35],
  [2, 25],
  [3, 17],
  [4, 11],
  [5, 7],
  [6, 5],
];

/** How an order line picks its unit: none (base implied), the base unit named, or a pack. */
export const UOM_CHOICE_WEIGHTS = { none: 0.45, base: 0.15, firstPack: 0.3, secondPack: 0.08, largestPack: 0.02 } as const;

interface Family {
  baseUom: string;
  nouns: readonly string[];
  variants: readonly string[];
  priceMinor: readonly [number, number];
  maxBaseQuantity: readonly [number, number];
  packs: (rng: Random) => Record<string, number>;
}

const FAMILIES: readonly (readonly [Family, number])[] = [
  [
    {
      baseUom: 'EA',
      nouns: [
        'Hex Bolt', 'Wood Screw', 'Wall Anchor', 'Cable Tie', 'Door Hinge', 'Padlock', 'Drill Bit',
        'Utility Knife', 'Tape Measure', 'LED Bulb', 'Extension Cord', 'Safety Glasses', 'Dust Mask',
        'Paint Brush', 'AA Battery', 'Shipping Box', 'Packing Tape', 'Permanent Marker', 'Pipe Fitting',
        'Circuit Breaker', 'Light Switch', 'Hose Clamp', 'Ball Valve', 'Air Filter', 'Sanding Disc',
      ],
      variants: ['Small', 'Medium', 'Large', 'Heavy Duty', 'Zinc', 'Stainless', '1/2 in', '3/4 in', 'M6', 'M8', 'M10', 'Black', 'White'],
      priceMinor: [35, 4800],
      maxBaseQuantity: [6, 48],
      packs: (rng) => {
        const packs: Record<string, number> = {};
        let unit = 1;
        if (rng.chance(0.6)) {
          unit = rng.pick([6, 10, 12, 20, 25, 50]);
          packs.BX = unit;
        }
        if (rng.chance(0.85)) {
          unit *= unit === 1 ? rng.pick([12, 24, 48, 72]) : rng.pick([4, 6, 10, 12]);
          packs.CS = unit;
        }
        if (rng.chance(0.35)) packs.PAL = unit * rng.int(20, 60);
        return packs;
      },
    },
    70,
  ],
  [
    {
      baseUom: 'KG',
      nouns: ['Rock Salt', 'Cement Mix', 'Grass Seed', 'Long Grain Rice', 'Granulated Sugar', 'Wood Pellets', 'Potting Soil'],
      variants: ['Premium', 'Standard', 'Coarse', 'Fine', 'Organic'],
      priceMinor: [60, 900],
      maxBaseQuantity: [10, 100],
      packs: (rng) => {
        const bag = rng.pick([5, 10, 20, 25]);
        const packs: Record<string, number> = { BAG: bag };
        if (rng.chance(0.5)) packs.PAL = bag * rng.int(30, 50);
        return packs;
      },
    },
    10,
  ],
  [
    {
      baseUom: 'L',
      nouns: ['Hydraulic Oil', 'Antifreeze', 'Hand Sanitizer', 'Floor Cleaner', 'Olive Oil', 'Washer Fluid', 'Degreaser'],
      variants: ['Concentrate', 'Ready To Use', 'Food Grade', 'ISO 46', 'Unscented'],
      priceMinor: [150, 2500],
      maxBaseQuantity: [4, 40],
      packs: (rng): Record<string, number> => (rng.chance(0.2) ? { CS: rng.pick([4, 6, 12]), DRM: 200 } : { CS: rng.pick([4, 6, 12]) }),
    },
    10,
  ],
  [
    {
      baseUom: 'M',
      nouns: ['Copper Wire', 'Garden Hose', 'Polyester Rope', 'Galvanized Chain', 'PVC Conduit', 'Ethernet Cable'],
      variants: ['2.5 mm', '10 mm', '16 mm', 'Cat6', 'Outdoor', 'Red', 'Blue'],
      priceMinor: [30, 900],
      maxBaseQuantity: [10, 100],
      packs: (rng): Record<string, number> => (rng.chance(0.3) ? { RL: rng.pick([25, 50, 100]), SP: 500 } : { RL: rng.pick([25, 50, 100]) }),
    },
    6,
  ],
  [
    {
      baseUom: 'PR',
      nouns: ['Safety Boots', 'Leather Work Gloves', 'Cut Resistant Gloves', 'Rubber Overshoes'],
      variants: ['Size 8', 'Size 9', 'Size 10', 'Size 11', 'Size M', 'Size L', 'Size XL'],
      priceMinor: [800, 9000],
      maxBaseQuantity: [2, 12],
      packs: (rng) => ({ CS: rng.pick([6, 12, 24]) }),
    },
    4,
  ],
];

const COMPANY_FIRST = [
  'Acme', 'Northwind', 'Blue Ridge', 'Summit', 'Harbor', 'Pioneer', 'Redwood', 'Granite', 'Lakeside',
  'Prairie', 'Keystone', 'Coastal', 'Evergreen', 'Ironwood', 'Silver Creek', 'Maple', 'Union', 'Frontier',
];
const COMPANY_TRADE = [
  'Hardware', 'Supply', 'Building Materials', 'Foods', 'Facilities', 'Plumbing', 'Electric',
  'Janitorial', 'Farm & Garden', 'Industrial', 'Marine', 'Auto Parts', 'Restaurant Supply',
];
const COMPANY_SUFFIX = ['Inc', 'LLC', 'Co', 'Corp', 'Ltd', 'Group'];

/** Expected base units of one order line of this item, given the unit mix above. */
export function meanBaseQuantityPerLine(item: Pick<Item, 'uomConversions' | 'maxBaseQuantity'>): number {
  const packs = Object.values(item.uomConversions);
  const baseMean = (1 + item.maxBaseQuantity) / 2;
  const w = UOM_CHOICE_WEIGHTS;
  if (packs.length === 0) return baseMean;
  const first = packs[0] as number;
  const second = packs[1] ?? first;
  const largest = packs[packs.length - 1] as number;
  const total = w.none + w.base + w.firstPack + w.secondPack + w.largestPack;
  return ((w.none + w.base) * baseMean + w.firstPack * 2 * first + w.secondPack * 2 * second + w.largestPack * largest) / total;
}

function meanLineCount(): number {
  let sum = 0;
  let weights = 0;
  for (const [count, weight] of LINE_COUNT_WEIGHTS) {
    sum += count * weight;
    weights += weight;
  }
  return sum / weights;
}

export function buildWorld(rng: Random, options: WorldOptions): World {
  const warehouses = [...options.warehouses];
  const warehouseShare = new Map(warehouses.map((code) => [code, 0.6 + rng.next() * 0.8] as const));

  const items: Item[] = [];
  let skuNumber = FIRST_SKU_NUMBER + rng.int(0, 99);
  const ranks = rng.shuffle(Array.from({ length: options.skus }, (_, i) => i + 1));
  for (let i = 0; i < options.skus; i++) {
    const family = rng.weighted(FAMILIES);
    const stockedAt = warehouses.filter(() => rng.chance(0.92));
    if (stockedAt.length === 0) stockedAt.push(rng.pick(warehouses));
    const item: Item = {
      sku: `SKU-${skuNumber}`,
      description: `${rng.pick(family.nouns)} ${rng.pick(family.variants)}`,
      baseUom: family.baseUom,
      uomConversions: family.packs(rng),
      safetyStock: {},
      unitPriceMinor: rng.int(family.priceMinor[0], family.priceMinor[1]),
      maxBaseQuantity: rng.int(family.maxBaseQuantity[0], family.maxBaseQuantity[1]),
      // Zipf-like: a few fast movers, a long tail of slow ones.
      popularity: 1 / Math.pow(ranks[i] as number, 0.9),
      stockedAt,
      policy: {},
    };
    items.push(item);
    skuNumber += rng.int(1, 7);
  }

  const customers: Customer[] = [];
  let customerNumber = 100000 + rng.int(0, 999);
  for (let i = 0; i < options.customers; i++) {
    const first = rng.pick(COMPANY_FIRST);
    const trade = rng.pick(COMPANY_TRADE);
    const name = `${first} ${trade} ${rng.pick(COMPANY_SUFFIX)}`;
    const domain = `${first}${trade}`.toLowerCase().replace(/[^a-z]/g, '');
    customers.push({
      customerId: `C-${customerNumber}`,
      name,
      email: rng.chance(0.8) ? `${rng.pick(['orders', 'purchasing', 'ap', 'buyer'])}@${domain}.example.com` : null,
      creditLimitMinor: rng.chance(0.8) ? rng.int(50, 5000) * 10000 : null,
      creditHold: rng.chance(0.04),
      home: rng.weighted([...warehouseShare]),
      channel: rng.weighted<Channel>([
        ['ECOMMERCE', 45],
        ['CRM', 28],
        ['EDI', 20],
        ['MARKETPLACE', 7],
      ]),
      currency: rng.weighted([
        ['USD', 85],
        ['CAD', 10],
        ['EUR', 5],
      ]),
    });
    customerNumber += rng.int(1, 9);
  }

  setStockPolicies(rng, items, warehouseShare, options.ordersPerHour);

  return {
    warehouses,
    items,
    itemsBySku: new Map(items.map((item) => [item.sku, item])),
    customers,
    popularItems: new WeightedTable(items.map((item) => [item, item.popularity] as const)),
    // Customers on credit hold still order, just much less.
    activeCustomers: new WeightedTable(customers.map((c) => [c, c.creditHold ? 0.2 : 0.5 + rng.next()] as const)),
  };
}

function setStockPolicies(rng: Random, items: Item[], warehouseShare: Map<string, number>, ordersPerHour: number): void {
  const totalPopularity = items.reduce((sum, item) => sum + item.popularity, 0);
  const linesPerHour = ordersPerHour * meanLineCount();
  for (const item of items) {
    const stockedShare = item.stockedAt.reduce((sum, w) => sum + (warehouseShare.get(w) ?? 0), 0);
    const perLine = meanBaseQuantityPerLine(item);
    const largestPack = Math.max(1, ...Object.values(item.uomConversions));
    const keepsSafetyStock = rng.chance(0.75);
    for (const warehouse of item.stockedAt) {
      const share = (warehouseShare.get(warehouse) ?? 0) / stockedShare;
      const demandPerHour = linesPerHour * (item.popularity / totalPopularity) * share * perLine;
      const safety = keepsSafetyStock ? Math.max(1, Math.round(demandPerHour * rng.int(2, 6))) : 0;
      if (safety > 0) item.safetyStock[warehouse] = safety;
      item.policy[warehouse] = {
        demandPerHour,
        initialStock: Math.max(largestPack, Math.ceil(demandPerHour * 36)) + safety + rng.int(0, 20),
        reorderPoint: Math.ceil(demandPerHour * 10) + safety,
        reorderQuantity: Math.max(largestPack, Math.ceil(demandPerHour * 24), 10),
      };
    }
  }
}
