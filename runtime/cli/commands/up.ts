/**
 * `tributary up [--demo] [--port N]` (SPEC §9): the main job in one command. The stack (the
 * local one of SPEC §3, started if needed, unless KAFKA_BROKERS, SCHEMA_REGISTRY_URL and
 * REDIS_URL are all set), the topology applied, then every processor and the API in this process
 * until Ctrl-C. `--demo` adds the simulator publishing gently and prints what to try. The local
 * stack keeps running afterwards (`tributary dev down` stops it), like `dev up`.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { createPublisher, type PublishRecord } from '../../../producers/sdk';
import { paced, simulate } from '../../../producers/simulator';
import { startReceiver, type Receiver } from '../../../sinks/receivers/receiver';
import { API, startComponents, type Components } from '../../app/components';
import { resolveConnection } from '../../config/connection';
import { tributaryHome } from '../../config/home';
import { UsageError } from '../../errors';
import { log } from '../../log';
import { namingFromEnv, type Naming } from '../../processor/naming';
import { loadCatalogue } from '../../schemas/catalogue';
import { startLocalStack } from '../../stack/local-stack';
import { applyTopology, withApplyContext } from '../../topology/apply';
import type { Topology } from '../../topology/model';
import { prefixTopology } from '../../topology/prefix';
import { commonRunOptions, loadTopologyOrThrow, parsePort, runUntilSignal, type RunFlags } from './run';

const DEMO_RATE = 20;

interface UpFlags extends RunFlags {
  demo: boolean;
  demoRate: string;
}

export function register(program: Command): void {
  commonRunOptions(
    program
      .command('up')
      .description('the main job: local stack (unless KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL are set), topology applied, every processor and the HTTP API, until Ctrl-C')
      .option('--demo', 'also publish simulated distributor traffic and print what to try', false)
      .addOption(new Option('--demo-rate <n>', 'events per second the demo publishes').default(String(DEMO_RATE))),
  ).action(async (flags: UpFlags) => {
    const rate = Number(flags.demoRate);
    if (!(rate > 0) || !Number.isFinite(rate)) throw new UsageError(`--demo-rate ${flags.demoRate} must be a number of events per second above 0`);
    // The demo's stand-in ERP and CRM, unless real ones are configured; before the topology is
    // read, since its sinks take their URLs from ERP_URL / CRM_URL.
    const receivers = flags.demo ? await startDemoReceivers() : [];
    const topology = loadTopologyOrThrow(flags.file);
    const naming = namingFromEnv(process.env, flags.topicPrefix);
    await ensureStack();
    const connection = resolveConnection();
    await applyQuietly(topology, naming, connection);
    const names = [...topology.processors.map((p) => p.name), ...topology.sinks.map((s) => s.name), API];
    let demo: Demo | undefined;
    await runUntilSignal(
      async () => {
        const components = await startComponents({
          names,
          connection,
          topology,
          naming,
          log,
          port: parsePort(flags.port, '--port'),
          host: flags.host,
          apiToken: process.env.API_TOKEN || undefined,
        });
        if (flags.demo) demo = startDemo(naming, rate);
        return {
          ...components,
          async stop() {
            await demo?.stop();
            await components.stop();
            await Promise.all(receivers.map((r) => r.close()));
          },
        };
      },
      (components) => banner(components, names, demo, naming, receivers),
    );
  });
}

/** Starts the local stack unless all three addresses come from env (`bench` does the same). */
export async function ensureStack(): Promise<void> {
  if (process.env.KAFKA_BROKERS && process.env.SCHEMA_REGISTRY_URL && process.env.REDIS_URL) return;
  const home = tributaryHome();
  process.stderr.write(`local stack (${home}):\n`);
  await startLocalStack({ home, onProgress: (progress) => process.stderr.write(`  ${progress.message}\n`) });
}

async function applyQuietly(topology: Topology, naming: Naming, connection: ReturnType<typeof resolveConnection>): Promise<void> {
  const { plan, applied } = await withApplyContext(connection, (context) => applyTopology(prefixTopology(topology, naming), loadCatalogue(), context, {}));
  process.stderr.write(applied ? `topology: applied ${plan.changes.length} change${plan.changes.length === 1 ? '' : 's'}\n` : 'topology: up to date\n');
}

interface Demo {
  /** A sku and warehouse the demo stocks, to show in the examples. */
  sku: string;
  warehouse: string;
  stop(): Promise<void>;
}

/** The simulator at a gentle pace, with a fresh seed and the clock at now, until stopped. */
function startDemo(naming: Naming, rate: number): Demo {
  const stop = new AbortController();
  const publisher = createPublisher({ topicPrefix: naming.prefix, clientId: 'tributary-demo' });
  const seed = Date.now() % 1_000_000;
  const example = exampleRow(seed);
  const running = (async () => {
    async function* records(): AsyncGenerator<PublishRecord> {
      for await (const event of paced(simulate({ seed, startAt: Date.now() }), rate, stop.signal)) {
        if (stop.signal.aborted) return;
        yield { topic: event.topic, value: event.value } as PublishRecord;
      }
    }
    await publisher.publishMany(records());
  })().catch((error: unknown) => log.error({ err: error }, 'demo traffic stopped'));
  return {
    ...example,
    async stop() {
      stop.abort();
      await running;
      await publisher.close().catch(() => undefined);
    },
  };
}

/** Stand-in receivers for each sink whose URL is not set (sinks/receivers), on free ports. */
async function startDemoReceivers(): Promise<Receiver[]> {
  const started: Receiver[] = [];
  for (const name of ['erp', 'crm']) {
    const variable = `${name.toUpperCase()}_URL`;
    if (process.env[variable]) continue;
    const receiver = await startReceiver({ name, host: '127.0.0.1', port: 0, token: process.env[`${name.toUpperCase()}_TOKEN`] || undefined });
    process.env[variable] = receiver.url;
    started.push(receiver);
  }
  return started;
}

/** The first stocked row of a simulation: its first item and a warehouse it is adjusted in. */
function exampleRow(seed: number): { sku: string; warehouse: string } {
  // The same endless, full-size world the demo publishes; its first stock event comes within the first thousand.
  for (const event of simulate({ seed })) {
    if (event.topic === 'stock.adjusted' || event.topic === 'stock.counted') {
      const value = event.value as { sku: string; warehouse: string };
      return { sku: value.sku, warehouse: value.warehouse };
    }
  }
  return { sku: 'SKU-10001', warehouse: 'DC-EAST' };
}

function banner(components: Components, names: readonly string[], demo: Demo | undefined, naming: Naming, receivers: readonly Receiver[]): string {
  const api = components.url ?? 'http://127.0.0.1:8080';
  const lines = [`tributary: running ${names.join(', ')} — API on ${api} (Ctrl-C to stop; the local stack keeps running: tributary dev down)`];
  if (demo) {
    lines.push(
      `demo: simulated CRM, ecommerce, EDI, ERP and WMS traffic is being published${naming.prefix ? ` under ${naming.prefix}` : ''}. Try:`,
      `  curl -s ${api}/atp/${demo.sku} | jq                  # available-to-promise across warehouses`,
      `  curl -s ${api}/atp/${demo.sku}/${demo.warehouse} | jq          # one warehouse`,
      `  curl -s -XPOST ${api}/atp/check -H 'content-type: application/json' -d '{"lines":[{"sku":"${demo.sku}","warehouse":"${demo.warehouse}","quantity":40}]}' | jq`,
      `  curl -s ${api}/readyz | jq      ·      curl -s ${api}/metrics | grep tributary_records_in`,
      '  tributary topology graph        # what runs where',
      ...receivers.map((r) => `  curl -s ${r.url}/_receiver | jq          # commands the stand-in ${r.name.toUpperCase()} received`),
    );
  }
  return lines.join('\n');
}
