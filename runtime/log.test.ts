import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe('log redaction (SPEC §11)', () => {
  it('censors passwords, tokens and client secrets under the names they are logged with', () => {
    const out = capture();
    const log = createLogger({}, out.stream);
    const secrets = ['pw-1', 'tok-2', 'cs-3', 'at-4', 'rt-5', 'api-6', 'bearer-7', 'bearer-8', 'sasl-9', 'cs-10'];
    log.info({
      password: 'pw-1',
      token: 'tok-2',
      clientSecret: 'cs-3',
      oauth: { access_token: 'at-4', refresh_token: 'rt-5' },
      config: { apiToken: 'api-6' },
      req: { headers: { authorization: 'Bearer bearer-7' } },
      headers: { Authorization: 'Bearer bearer-8' },
      kafka: { sasl: { password: 'sasl-9' } },
      form: { client_secret: 'cs-10' },
    }, 'with secrets');
    const line = out.text();
    expect(line).toContain('with secrets');
    for (const secret of secrets) expect(line, secret).not.toContain(secret);
    expect(line.match(/\[redacted\]/g)).toHaveLength(secrets.length);
  });
});
