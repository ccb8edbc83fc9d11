/**
 * Runs the stand-in ERP and CRM receivers side by side for a demo, until SIGINT / SIGTERM:
 *
 *   npx tsx sinks/receivers/serve.ts [--host 127.0.0.1] [--erp-port 0] [--crm-port 0]
 *
 * Port 0 (the default) takes a free port. Prints `ERP_URL=…` and `CRM_URL=…` lines on stdout,
 * ready to export for the sinks. Each receiver requires the bearer token the sinks send when
 * ERP_TOKEN / CRM_TOKEN is set. Watch and steer them with GET /_receiver and
 * PUT /_receiver/failure (see receiver.ts).
 */
import { parseArgs } from 'node:util';
import { startReceiver, type Receiver } from './receiver';

function portOf(text: string, flag: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${flag}: not a port: ${text}`);
  return port;
}

async function serve(argv: string[]): Promise<Receiver[]> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      'erp-port': { type: 'string', default: '0' },
      'crm-port': { type: 'string', default: '0' },
    },
  });
  const erp = await startReceiver({ name: 'erp', host: values.host, port: portOf(values['erp-port'], '--erp-port'), token: process.env.ERP_TOKEN || undefined });
  const crm = await startReceiver({ name: 'crm', host: values.host, port: portOf(values['crm-port'], '--crm-port'), token: process.env.CRM_TOKEN || undefined }).catch(
    async (error: unknown) => {
      await erp.close();
      throw error;
    },
  );
  return [erp, crm];
}

try {
  const receivers = await serve(process.argv.slice(2));
  for (const receiver of receivers) process.stdout.write(`${receiver.name.toUpperCase()}_URL=${receiver.url}\n`);
  const stop = () => {
    void Promise.all(receivers.map((receiver) => receiver.close())).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  process.stderr.write(`receivers: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
