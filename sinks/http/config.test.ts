import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/errors';
import { sinkSettings, type HttpSinkSpec } from './config';


const spec: HttpSinkSpec = {
  name: 'crm',
  input: 'crm.commands',
  url: 'http://127.0.0.1:9000/api/',
  rateLimit: 20,
  maxRetryMs: 900_000,
  timeoutMs: 10_000,
  concurrency: 4,
  group: 'tributary.crm',
  description: '',
  at: { line: 1, column: 1 },
  refs: {},
};

describe('sinkSettings', () => {
  it('takes the topology entry and the SPEC defaults', () => {
    const settings = sinkSettings(spec);
    expect(settings).toMatchObject({ url: 'http://127.0.0.1:9000/api', rateLimit: 20, burst: 2, concurrency: 4, maxRetryMs: 900_000, coalesce: { UpdateAvailability: 1_000 } });
    // SIGTERM must finish within 10 s (SPEC §12).
    expect(settings.stopGraceMs).toBeLessThan(10_000);
  });

  it('takes coalescing windows per command type from the entry', () => {
    expect(sinkSettings({ ...spec, coalesce: { UpdateAvailability: 250, NotifyShipment: 0 } }).coalesce).toEqual({ UpdateAvailability: 250, NotifyShipment: 0 });
  });

  it.each([
    [{ url: '' }, 'CRM_URL'],
    [{ url: 'ftp://x' }, 'http(s)'],
    [{ url: 'https://user:pw@crm.example.com' }, 'credentials'],
    [{ rateLimit: 0 }, 'rateLimit'],
    [{ coalesce: { UpdateAvailability: -5 } }, 'coalesce.UpdateAvailability'],
  ])('refuses %j', (change, words) => {
    expect(() => sinkSettings({ ...spec, ...change })).toThrow(ConfigError);
    expect(() => sinkSettings({ ...spec, ...change })).toThrow(words);
  });
});
