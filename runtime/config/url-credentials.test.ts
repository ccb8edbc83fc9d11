import { describe, expect, it } from 'vitest';
import { splitCredentials } from './url-credentials';

describe('splitCredentials', () => {
  it('moves user and password to a Basic header and strips them from the URL', () => {
    // base64("sr-user:p@ss word") computed independently: printf 'sr-user:p@ss word' | base64
    expect(splitCredentials('https://sr-user:p%40ss%20word@registry.example:8081/')).toEqual({
      base: 'https://registry.example:8081',
      authorization: 'Basic c3ItdXNlcjpwQHNzIHdvcmQ=',
    });
  });

  it('leaves a URL without credentials as it is', () => {
    expect(splitCredentials('http://127.0.0.1:8081')).toEqual({ base: 'http://127.0.0.1:8081' });
  });

  it('leaves something that is not a URL alone for the caller to report', () => {
    expect(splitCredentials('not a url')).toEqual({ base: 'not a url' });
  });
});
