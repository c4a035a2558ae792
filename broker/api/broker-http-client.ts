// One call to the broker API with a bearer token: JSON in, JSON out, a deadline on every call
// (a broker that accepts and never answers must not hold a command forever), and a bounded answer.
// Failures are BrokerCallError: `status` is the broker's HTTP status, absent when it was not
// reached. Messages never contain the token.

const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export class BrokerCallError extends Error {
  constructor(
    message: string,
    /** HTTP status the broker answered with; undefined when it could not be reached or timed out. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'BrokerCallError';
  }
}

export interface BrokerCall {
  baseUrl: string;
  token: string;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** Gives up after this long (the answer included). */
  timeoutMs: number;
  /** Caller's own cancellation (for example: the held client disconnected). */
  signal?: AbortSignal;
}

export async function callBroker<T>(call: BrokerCall): Promise<T> {
  const deadline = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal ? AbortSignal.any([call.signal, deadline]) : deadline;
  let res: Response;
  try {
    // Concatenated, not resolved: a broker behind a path prefix keeps its prefix.
    res = await fetch(call.baseUrl.replace(/\/+$/, '') + call.path, {
      method: call.method,
      headers: { authorization: `Bearer ${call.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal,
    });
  } catch {
    if (call.signal?.aborted) throw new BrokerCallError('cancelled');
    throw new BrokerCallError(deadline.aborted ? `the approval broker at ${call.baseUrl} did not answer in time` : `cannot reach the approval broker at ${call.baseUrl}`);
  }
  const json = await readBoundedJson(res, signal);
  if (!res.ok) {
    const error = json && typeof json === 'object' && typeof (json as { error?: unknown }).error === 'string' ? (json as { error: string }).error : undefined;
    throw new BrokerCallError(error ?? `the approval broker answered ${res.status}`, res.status);
  }
  if (json === undefined) throw new BrokerCallError('the approval broker answered with something that is not JSON', res.status);
  return json as T;
}

async function readBoundedJson(res: Response, signal: AbortSignal): Promise<unknown> {
  if (Number(res.headers.get('content-length') ?? 0) > MAX_ANSWER_BYTES || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > MAX_ANSWER_BYTES) return undefined;
      chunks.push(chunk);
    }
  } catch {
    throw new BrokerCallError(signal.aborted ? 'the approval broker did not answer in time' : 'the approval broker closed the connection', res.status);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
