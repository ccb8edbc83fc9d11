/**
 * The stand-in receiver over real HTTP (node fetch against a listener on port 0): idempotency,
 * rejections, auth, seeded failure rates, Retry-After, slow answers, going down and up on the same
 * port, per-entity order and the /_receiver demo API. Expected answers come from SPEC §7 and the
 * receiver's contract (receiver.ts header), not from its code.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/harness/wait';
import { InvalidFailurePlanError } from './failure-plan';
import { startReceiver, type Receiver, type ReceiverOptions } from './receiver';

const open: Receiver[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((receiver) => receiver.close()));
});

async function start(options: Partial<ReceiverOptions> = {}): Promise<Receiver> {
  const receiver = await startReceiver({ name: 'erp', ...options });
  open.push(receiver);
  return receiver;
}

interface PostOptions {
  headers?: Record<string, string>;
  raw?: string;
  signal?: AbortSignal;
}

function post(receiver: Receiver, type: string, commandId: string | null, body: unknown, options: PostOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (commandId !== null) headers['idempotency-key'] = commandId;
  return fetch(`${receiver.url}/${type}`, {
    method: 'POST',
    headers,
    body: options.raw ?? JSON.stringify(body),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

async function postJson(receiver: Receiver, type: string, commandId: string | null, body: unknown, options?: PostOptions) {
  const response = await post(receiver, type, commandId, body, options);
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

const order = (orderId: string, version: number) => ({ orderId, customerId: 'C-1', channel: 'web', currency: 'EUR', version, lines: [] });

/** The connection-level cause of a failed fetch (undici wraps it in TypeError('fetch failed')). */
async function connectionError(request: Promise<Response>): Promise<string | undefined> {
  const error = await request.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TypeError);
  return ((error as { cause?: { code?: string } }).cause ?? {}).code;
}

describe('idempotency', () => {
  it('applies a command once and records what took effect', async () => {
    const erp = await start();
    const before = Date.now();
    const answer = await postJson(erp, 'CreateSalesOrder', 'cmd-1', order('O-1', 1), { headers: { 'x-correlation-id': 'corr-1' } });
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ commandId: 'cmd-1', type: 'CreateSalesOrder', applied: true });
    const [delivery, ...rest] = erp.applied();
    expect(rest).toEqual([]);
    expect(delivery).toMatchObject({ commandId: 'cmd-1', type: 'CreateSalesOrder', body: order('O-1', 1), correlationId: 'corr-1' });
    expect(delivery!.at).toBeGreaterThanOrEqual(before);
    expect(delivery!.at).toBeLessThanOrEqual(Date.now());
  });

  it('answers a redelivery 200 without applying it again, also with fields in another order', async () => {
    const erp = await start();
    expect((await postJson(erp, 'CreateSalesOrder', 'cmd-1', order('O-1', 1))).status).toBe(201);
    const again = await postJson(erp, 'CreateSalesOrder', 'cmd-1', order('O-1', 1));
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ commandId: 'cmd-1', type: 'CreateSalesOrder', applied: false, duplicate: true });
    const reordered = { lines: [], version: 1, currency: 'EUR', channel: 'web', customerId: 'C-1', orderId: 'O-1' };
    expect((await postJson(erp, 'CreateSalesOrder', 'cmd-1', reordered)).status).toBe(200);
    expect(erp.applied()).toHaveLength(1);
    expect(erp.conflicts()).toEqual([]);
    expect(erp.attempts().map((attempt) => [attempt.commandId, attempt.status])).toEqual([
      ['cmd-1', 201],
      ['cmd-1', 200],
      ['cmd-1', 200],
    ]);
  });

  it('answers 409 and records a conflict when one key arrives with another body or type', async () => {
    const erp = await start();
    await postJson(erp, 'CreateSalesOrder', 'cmd-1', order('O-1', 1));
    const otherBody = await postJson(erp, 'CreateSalesOrder', 'cmd-1', order('O-1', 2));
    expect(otherBody.status).toBe(409);
    expect(otherBody.body).toMatchObject({ error: 'idempotency_key_reused', commandId: 'cmd-1' });
    const otherType = await postJson(erp, 'UpdateSalesOrder', 'cmd-1', order('O-1', 1));
    expect(otherType.status).toBe(409);
    expect(erp.conflicts()).toEqual([
      { commandId: 'cmd-1', first: order('O-1', 1), second: order('O-1', 2) },
      { commandId: 'cmd-1', first: order('O-1', 1), second: order('O-1', 1) },
    ]);
    expect(erp.applied().map((delivery) => delivery.body)).toEqual([order('O-1', 1)]);
  });

  it('applies one of many concurrent requests under one key', async () => {
    const erp = await start();
    const statuses = await Promise.all(Array.from({ length: 20 }, async () => (await post(erp, 'PostGoodsIssue', 'cmd-c', { orderId: 'O-9' })).status));
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 200)).toHaveLength(19);
    expect(erp.applied()).toHaveLength(1);
  });
});

describe('malformed requests', () => {
  it('refuses a missing Idempotency-Key and bodies that are not JSON objects with 400, applying nothing', async () => {
    const erp = await start();
    expect((await postJson(erp, 'CreateSalesOrder', null, order('O-1', 1))).status).toBe(400);
    for (const raw of ['[1,2]', '"text"', 'null', '42', '{"orderId":', '']) {
      const answer = await postJson(erp, 'CreateSalesOrder', `cmd-${raw}`, undefined, { raw });
      expect(answer.status, raw).toBe(400);
      expect(answer.body.error, raw).toBe('invalid_body');
    }
    expect(erp.applied()).toEqual([]);
    expect(erp.attempts()[0]).toMatchObject({ commandId: null, type: 'CreateSalesOrder', status: 400 });
  });

  it('answers 405 to other methods and 404 off the command route', async () => {
    const erp = await start();
    const get = await fetch(`${erp.url}/CreateSalesOrder`, { headers: { 'idempotency-key': 'k' } });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await post(erp, 'a/b', 'k', {})).status).toBe(404);
    expect((await fetch(`${erp.url}/`, { method: 'POST', headers: { 'idempotency-key': 'k' }, body: '{}' })).status).toBe(404);
    expect(erp.applied()).toEqual([]);
  });
});

describe('configured rejections', () => {
  it('answers the configured 400 / 422 with a JSON error body and applies only other types', async () => {
    const erp = await start({ failure: { reject: { CancelSalesOrder: 422, CreateCreditMemo: 400 } } });
    const cancel = await postJson(erp, 'CancelSalesOrder', 'cmd-x', { orderId: 'O-1', reason: null });
    expect(cancel.status).toBe(422);
    expect(cancel.body).toMatchObject({ commandId: 'cmd-x', type: 'CancelSalesOrder' });
    expect(typeof cancel.body.error).toBe('string');
    expect(typeof cancel.body.message).toBe('string');
    const memo = await postJson(erp, 'CreateCreditMemo', 'cmd-m', { orderId: 'O-1' });
    expect(memo.status).toBe(400);
    expect(memo.body).toMatchObject({ commandId: 'cmd-m', type: 'CreateCreditMemo' });
    expect((await postJson(erp, 'CreateSalesOrder', 'cmd-1', order('O-1', 1))).status).toBe(201);
    expect(erp.applied().map((delivery) => delivery.commandId)).toEqual(['cmd-1']);
  });
});

describe('auth', () => {
  it('requires the configured bearer token', async () => {
    const crm = await start({ name: 'crm', token: 's3cret' });
    const none = await post(crm, 'NotifyShipment', 'cmd-1', { orderId: 'O-1' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await post(crm, 'NotifyShipment', 'cmd-1', { orderId: 'O-1' }, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await post(crm, 'NotifyShipment', 'cmd-1', { orderId: 'O-1' }, { headers: { authorization: 's3cret' } })).status).toBe(401);
    expect(crm.applied()).toEqual([]);
    expect((await post(crm, 'NotifyShipment', 'cmd-1', { orderId: 'O-1' }, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(201);
    expect(crm.applied()).toHaveLength(1);
  });
});

describe('injected failures', () => {
  async function statusesOf(receiver: Receiver, count: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) statuses.push((await post(receiver, 'UpsertCustomer', `cmd-${i}`, { customerId: `C-${i}` })).status);
    return statuses;
  }

  it('answers about errorRate of requests 500, reproducibly from the seed, and never applies those', async () => {
    const erp = await start({ failure: { errorRate: 0.2, seed: 42 } });
    const statuses = await statusesOf(erp, 1000);
    const failed = statuses.filter((status) => status === 500).length;
    // Binomial(1000, 0.2): mean 200, sd ~12.6; this range is ~±4 sd.
    expect(failed).toBeGreaterThanOrEqual(150);
    expect(failed).toBeLessThanOrEqual(250);
    expect(statuses.filter((status) => status !== 500 && status !== 201)).toEqual([]);
    const answered201 = statuses.flatMap((status, i) => (status === 201 ? [`cmd-${i}`] : []));
    expect(erp.applied().map((delivery) => delivery.commandId)).toEqual(answered201);

    const twin = await start({ failure: { errorRate: 0.2, seed: 42 } });
    expect(await statusesOf(twin, 1000)).toEqual(statuses);

    // A failed command was not applied: its retry takes effect (201), it is no duplicate (200).
    const firstFailed = statuses.indexOf(500);
    erp.setFailure({});
    const retry = await post(erp, 'UpsertCustomer', `cmd-${firstFailed}`, { customerId: `C-${firstFailed}` });
    expect(retry.status).toBe(201);
  });

  it('answers 429 with Retry-After (default 1 s) and does not apply', async () => {
    const crm = await start({ name: 'crm', failure: { rate429: 1, retryAfterSeconds: 7 } });
    const throttled = await post(crm, 'UpdateAvailability', 'cmd-1', { sku: 'S', warehouse: 'W', available: 1, atp: 1, asOf: 0 });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
    crm.setFailure({ rate429: 1 });
    expect((await post(crm, 'UpdateAvailability', 'cmd-1', {})).headers.get('retry-after')).toBe('1');
    expect(crm.applied()).toEqual([]);
  });

  it('answers slow requests after slowMs, then normally; one the client gave up on still takes effect', async () => {
    const slowMs = 300;
    const erp = await start({ failure: { slowRate: 1, slowMs } });
    const started = performance.now();
    const answer = await post(erp, 'CreateSalesOrder', 'cmd-1', order('O-1', 1));
    expect(performance.now() - started).toBeGreaterThanOrEqual(slowMs);
    expect(answer.status).toBe(201);

    const gaveUp = post(erp, 'CreateSalesOrder', 'cmd-2', order('O-2', 1), { signal: AbortSignal.timeout(50) });
    await expect(gaveUp).rejects.toThrow();
    await waitFor(() => erp.applied().length === 2, { timeoutMs: 5000, what: 'the abandoned slow request to take effect' });
    erp.setFailure({});
    expect((await post(erp, 'CreateSalesOrder', 'cmd-2', order('O-2', 1))).status).toBe(200);
  });

  it('refuses an invalid plan, from code and over HTTP', async () => {
    const erp = await start();
    expect(() => erp.setFailure({ errorRate: 1.5 })).toThrow(InvalidFailurePlanError);
    const put = await fetch(`${erp.url}/_receiver/failure`, { method: 'PUT', body: JSON.stringify({ errorrate: 0.5 }) });
    expect(put.status).toBe(400);
    expect(await put.json()).toMatchObject({ error: 'invalid_failure_plan', field: 'errorrate' });
  });
});

async function slowPending(receiver: Receiver): Promise<unknown> {
  const summary = (await (await fetch(`${receiver.url}/_receiver`)).json()) as { slowPending?: unknown };
  return summary.slowPending;
}

describe('lifecycle', () => {
  it('setDown refuses connections on the same port, also pooled ones, and setDown(false) serves again', async () => {
    const erp = await start();
    expect((await post(erp, 'CreateSalesOrder', 'cmd-1', order('O-1', 1))).status).toBe(201);
    await erp.setDown(true);
    await erp.setDown(true);
    expect(await connectionError(post(erp, 'CreateSalesOrder', 'cmd-2', order('O-2', 1)))).toBe('ECONNREFUSED');
    expect(await connectionError(fetch(`${erp.url}/_receiver`))).toBe('ECONNREFUSED');
    await erp.setDown(false);
    expect((await post(erp, 'CreateSalesOrder', 'cmd-2', order('O-2', 1))).status).toBe(201);
    expect(erp.applied().map((delivery) => delivery.commandId)).toEqual(['cmd-1', 'cmd-2']);
  });

  it('going down or closing ends pending slow answers unanswered and unapplied', async () => {
    const erp = await start({ failure: { slowRate: 1, slowMs: 60_000 } });
    const pending = post(erp, 'CreateSalesOrder', 'cmd-1', order('O-1', 1));
    await waitFor(async () => (await slowPending(erp)) === 1, { timeoutMs: 5000, what: 'a slow answer pending' });
    await erp.setDown(true);
    await expect(pending).rejects.toThrow();
    await erp.setDown(false);

    const again = post(erp, 'CreateSalesOrder', 'cmd-1', order('O-1', 1));
    await waitFor(async () => (await slowPending(erp)) === 1, { timeoutMs: 5000, what: 'a slow answer pending' });
    const closing = performance.now();
    await erp.close();
    expect(performance.now() - closing).toBeLessThan(5000);
    await expect(again).rejects.toThrow();
    expect(erp.applied()).toEqual([]);
    expect(erp.attempts().map((attempt) => attempt.status)).toEqual([0, 0]);
  });
});

describe('order per entity', () => {
  it('files applied commands under their entity in the order they took effect', async () => {
    const erp = await start();
    const sends: [string, string, Record<string, unknown>][] = [
      ['CreateSalesOrder', 'a1', order('O-1', 1)],
      ['CreateSalesOrder', 'b1', order('O-2', 1)],
      ['PostInventoryAdjustment', 's1', { sku: 'SKU-1', warehouse: 'DC-EAST', delta: -2 }],
      ['UpdateSalesOrder', 'a2', order('O-1', 2)],
      ['UpsertCustomer', 'c1', { customerId: 'C-7', name: 'Acme' }],
      ['CreateSalesOrder', 'a1', order('O-1', 1)], // a redelivery: changes nothing
      ['CancelSalesOrder', 'a3', { orderId: 'O-1', reason: null }],
      ['PostInventoryAdjustment', 's2', { sku: 'SKU-1', warehouse: 'DC-EAST', delta: 5 }],
    ];
    for (const [type, id, body] of sends) await post(erp, type, id, body);
    const byEntity = erp.appliedByEntity();
    const ids = (entity: string) => byEntity.get(entity)?.map((delivery) => delivery.commandId);
    expect(ids('O-1')).toEqual(['a1', 'a2', 'a3']);
    expect(ids('O-2')).toEqual(['b1']);
    expect(ids('SKU-1@DC-EAST')).toEqual(['s1', 's2']);
    expect(ids('C-7')).toEqual(['c1']);
    expect(erp.applied().map((delivery) => delivery.commandId)).toEqual(['a1', 'b1', 's1', 'a2', 'c1', 'a3', 's2']);
  });
});

describe('demo API', () => {
  it('summarises, lists applied commands and changes the failure plan', async () => {
    const crm = await start({ name: 'crm' });
    for (let i = 1; i <= 25; i++) await post(crm, i % 2 === 0 ? 'NotifyShipment' : 'UpdateOrderStatus', `cmd-${i}`, { orderId: `O-${i}` });
    await post(crm, 'UpdateOrderStatus', 'cmd-1', { orderId: 'O-1' });

    const summary = (await (await fetch(`${crm.url}/_receiver`)).json()) as Record<string, unknown>;
    expect(summary).toMatchObject({ name: 'crm', applied: 25, attempts: 26, byType: { UpdateOrderStatus: 13, NotifyShipment: 12 } });
    const last = summary.last as { commandId: string }[];
    expect(last.map((delivery) => delivery.commandId)).toEqual(Array.from({ length: 20 }, (_, i) => `cmd-${i + 6}`));

    const applied = await fetch(`${crm.url}/_receiver/applied`);
    expect(applied.status).toBe(200);
    expect(await applied.json()).toEqual(JSON.parse(JSON.stringify(crm.applied())));

    const put = await fetch(`${crm.url}/_receiver/failure`, { method: 'PUT', body: JSON.stringify({ errorRate: 1 }) });
    expect(put.status).toBe(200);
    expect((await post(crm, 'NotifyShipment', 'cmd-new', { orderId: 'O-new' })).status).toBe(500);
    expect(await (await fetch(`${crm.url}/_receiver/failure`)).json()).toEqual({ errorRate: 1 });
    // The demo API is not a command route: it is not counted, nor failed by the plan.
    expect(crm.attempts()).toHaveLength(27);
  });
});
