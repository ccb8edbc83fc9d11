import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact';

describe('redactUrl', () => {
  it.each([
    ['redis://:s3cret@cache.example:6380/2', 'redis://:***@cache.example:6380/2'],
    ['rediss://default:s3cret@cache.example:6380', 'rediss://default:***@cache.example:6380'],
    ['https://alice:p%40ss@sr.example/path?x=1', 'https://alice:***@sr.example/path?x=1'],
    ['https://alice:pa:ss@w@sr.example', 'https://alice:***@sr.example'],
    ['https://ghp_token@sr.example', 'https://***@sr.example'],
  ])('masks the password in %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
    expect(redactUrl(url)).not.toMatch(/s3cret|p%40ss|pa:ss|ghp_token/);
  });

  it.each(['http://127.0.0.1:8081', 'redis://127.0.0.1:6379/15', 'https://sr.example/a@b', 'not a url', ''])(
    'leaves %j without credentials as it is',
    (url) => {
      expect(redactUrl(url)).toBe(url);
    },
  );
});
