/** Lost-state judgement: Redis watermarks and epoch against the group's committed offsets. */
import { describe, expect, it } from 'vitest';
import { judgeIntegrity, type IntegrityFacts } from './integrity';

function judge(facts: Partial<IntegrityFacts>) {
  return judgeIntegrity({ processor: 'atp', partition: 2, epoch: 'E1', stored: {}, committed: {}, ...facts });
}

describe('judgeIntegrity', () => {
  it.each([
    ['nothing anywhere', { epoch: null, stored: {}, committed: {} }, 'fresh'],
    ['no commits (kafkajs -1) and no state', { stored: {}, committed: { a: '-1', b: null } }, 'fresh'],
    ['commits but Redis empty (flushed)', { epoch: null, stored: {}, committed: { a: '120' } }, 'lost'],
    ['commits, new epoch, partition empty', { epoch: 'E2', stored: {}, committed: { a: '120' } }, 'lost'],
    ['partition from another epoch', { epoch: 'E2', stored: { '@epoch': 'E1', a: '119' }, committed: { a: '120' } }, 'lost'],
    ['partition state but epoch key gone', { epoch: null, stored: { '@epoch': 'E1', a: '119' }, committed: {} }, 'lost'],
    ['a consumed topic without watermark', { stored: { '@epoch': 'E1', a: '119' }, committed: { a: '120', b: '7' } }, 'lost'],
    ['watermark = committed − 1', { stored: { '@epoch': 'E1', a: '119' }, committed: { a: '120' } }, 'ok'],
    ['Redis ahead of the commits', { stored: { '@epoch': 'E1', a: '150' }, committed: { a: '120' } }, 'ok'],
    ['state but nothing committed yet', { stored: { '@epoch': 'E1', a: '3' }, committed: { a: '-1' } }, 'ok'],
    ['Redis older than the commits', { stored: { '@epoch': 'E1', a: '100' }, committed: { a: '120' } }, 'behind'],
  ] as const)('%s → %s', (_name, facts, status) => {
    expect(judge(facts).status).toBe(status);
  });

  it('says which offsets were committed when state is lost, and returns the watermarks without the epoch', () => {
    const lost = judge({ epoch: null, stored: {}, committed: { 'stock.adjusted': '42' } });
    expect(lost.detail).toContain('stock.adjusted@42');
    expect(lost.detail).toContain('rebuild');
    const ok = judge({ stored: { '@epoch': 'E1', a: '5' }, committed: { a: '6' } });
    expect(ok.watermarks).toEqual({ a: '5' });
    expect(ok.partition).toBe(2);
  });
});
