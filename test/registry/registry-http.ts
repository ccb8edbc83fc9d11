/**
 * Raw HTTP access to a schema registry for the conformance tests: what a client without a
 * library sees (status, parsed body, content type). Also Avro schema builders for the tests.
 */
export interface HttpAnswer<T = unknown> {
  status: number;
  body: T;
  contentType: string | null;
  text: string;
}

export const SR_JSON = 'application/vnd.schemaregistry.v1+json';

export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = SR_JSON,
): Promise<HttpAnswer<T>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? { accept: SR_JSON } : { accept: SR_JSON, 'content-type': contentType },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // `/schema` endpoints and odd errors may not be JSON; keep the text.
  }
  return { status: response.status, body: parsed as T, contentType: response.headers.get('content-type'), text };
}

export function orderSchema(fields: Record<string, unknown>[] = [], name = 'Order'): string {
  return JSON.stringify({
    type: 'record',
    name,
    namespace: 'test.tributary',
    doc: 'An order, for registry tests.',
    fields: [{ name: 'orderId', type: 'string', doc: 'the order id' }, ...fields],
  });
}

export const enc = encodeURIComponent;
