/** `serve.ts` as a demo runs it: a child process that prints both URLs, serves, and exits 0 on SIGTERM. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/harness/wait';

const script = fileURLToPath(new URL('./serve.ts', import.meta.url));

describe('serve.ts', () => {
  it('prints ERP_URL and CRM_URL, serves both with the tokens from the environment, stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, ERP_TOKEN: 'erp-token', CRM_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit');
    try {
      const urls = await waitFor(
        () => {
          const erp = /^ERP_URL=(\S+)$/m.exec(stdout)?.[1];
          const crm = /^CRM_URL=(\S+)$/m.exec(stdout)?.[1];
          return erp && crm ? { erp, crm } : null;
        },
        { timeoutMs: 15_000, what: `both URLs on stdout (stderr: ${stderr})` },
      );
      expect(await (await fetch(`${urls.erp}/_receiver`)).json()).toMatchObject({ name: 'erp', applied: 0 });
      expect(await (await fetch(`${urls.crm}/_receiver`)).json()).toMatchObject({ name: 'crm', applied: 0 });
      const command = { method: 'POST', headers: { 'idempotency-key': 'k1' }, body: JSON.stringify({ orderId: 'O-1' }) };
      expect((await fetch(`${urls.erp}/CancelSalesOrder`, command)).status).toBe(401);
      expect((await fetch(`${urls.erp}/CancelSalesOrder`, { ...command, headers: { ...command.headers, authorization: 'Bearer erp-token' } })).status).toBe(201);
      // An empty CRM_TOKEN means no token, not the empty token.
      expect((await fetch(`${urls.crm}/NotifyShipment`, command)).status).toBe(201);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await exited;
    expect(code, stderr).toBe(0);
  });
});
