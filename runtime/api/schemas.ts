/**
 * Response schemas of the 2xx answers (and /readyz's 503), compiled by Fastify into
 * fast-json-stringify serializers: faster than JSON.stringify on the hot routes, and they pin the
 * answer shapes of SPEC §10: a field not listed here is never sent.
 */

const quantity = { type: 'number' } as const;
const code = { type: 'string' } as const;
const time = { type: ['string', 'null'] } as const;

const atpFields = {
  onHand: quantity,
  reserved: quantity,
  safetyStock: quantity,
  atp: quantity,
  available: quantity,
} as const;

export const atpRowSchema = {
  type: 'object',
  properties: { sku: code, warehouse: code, ...atpFields, asOf: time },
} as const;

export const atpSkuSchema = {
  type: 'object',
  properties: {
    sku: code,
    warehouses: { type: 'array', items: { type: 'object', properties: { warehouse: code, ...atpFields, asOf: time } } },
    total: { type: 'object', properties: atpFields },
  },
} as const;

export const checkSchema = {
  type: 'object',
  properties: {
    lines: {
      type: 'array',
      items: {
        type: 'object',
        properties: { sku: code, warehouse: { type: ['string', 'null'] }, quantity, available: quantity, promisable: { type: 'boolean' } },
      },
    },
  },
} as const;

export const orderSchema = {
  type: 'object',
  properties: {
    orderId: code,
    status: code,
    lines: {
      type: 'array',
      items: {
        type: 'object',
        properties: { lineNo: quantity, sku: code, warehouse: code, ordered: quantity, shipped: quantity, short: quantity },
      },
    },
    updatedAt: { type: 'string' },
  },
} as const;

export const statusSchema = { type: 'object', properties: { status: { type: 'string' } } } as const;

export const readySchema = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    checks: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, ok: { type: 'boolean' }, detail: { type: 'string' } } },
    },
  },
} as const;
