/**
 * docs/catalogue.md is generated from the schemas and committed: it must equal what the generator
 * renders now (STYLE.md: consistency between code and docs is tested, not trusted).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from './catalogue';
import { fieldSections, REGENERATE_COMMAND, renderCatalogue } from './catalogue-doc';

const committed = readFileSync(new URL('../../docs/catalogue.md', import.meta.url), 'utf8');
const rendered = renderCatalogue(loadCatalogue());

describe('docs/catalogue.md', () => {
  it('is up to date with schemas/*.avsc', () => {
    expect(committed === rendered, `docs/catalogue.md is stale: run ${REGENERATE_COMMAND}`).toBe(true);
  });

  it('has one section per topic', () => {
    const sections = [...rendered.matchAll(/^## (\S+)$/gm)].map((m) => m[1]);
    expect(sections).toEqual(loadCatalogue().topics().map((t) => t.topic));
  });

  it('flattens nested fields and shows types, presence and docs', () => {
    const created = rendered.split(/^## /m).find((s) => s.startsWith('order.created\n'))!;
    expect(created).toContain('| `meta.eventId` | `string` | required |');
    expect(created).toContain('| `meta.occurredAt` | `timestamp-millis (long, epoch ms)` | required |');
    expect(created).toMatch(/\| `lines\[\]\.sku` \| `string` \| required \| Ordered SKU/);
    expect(created).toContain('| `lines[].uom` | `string` | optional (null) |');
    expect(created).toContain('| `currency` | `string` | default `"USD"` |');
    expect(created).toContain('| `channel` | `enum Channel: CRM, ECOMMERCE, EDI, MARKETPLACE` | required |');
    expect(created).toContain('- key: `orderId`');
    expect(created).toContain('- from: CRM, ECOMMERCE, EDI');
    expect(created).toContain('- subject: `order.created-value`');
  });

  it('documents each command payload in its own table', () => {
    const erp = rendered.split(/^## /m).find((s) => s.startsWith('erp.commands\n'))!;
    expect(erp).toContain('### `payload`: CreateSalesOrderPayload');
    expect(erp).toContain('### `payload`: UpsertCustomerPayload');
    expect(erp).toContain('| `PostCycleCount` | `sku@warehouse` |');
    const update = erp.split('### ').find((s) => s.startsWith('`payload`: UpdateSalesOrderPayload'))!;
    // A line record referenced by name is expanded like the one defined in place.
    expect(update).toContain('| `lines[].quantity` | `int` | required |');
  });

  it('gives the same rows as data (schemas show prints them): the record, then one section per payload branch', () => {
    const sections = fieldSections(loadCatalogue().require('erp.commands').schema);
    expect(sections[0]!.branch).toBeUndefined();
    expect(sections[0]!.rows.map((r) => r.path)).toContain('commandId');
    const create = sections.find((s) => s.branch?.name === 'CreateSalesOrderPayload')!;
    expect(create.branch!.path).toBe('payload');
    expect(create.rows).toContainEqual(expect.objectContaining({ path: 'lines[].quantity', type: 'int', presence: 'required' }));
  });
});
