// A fetch for JWKS documents that refuses oversized bodies. jose reads the response with
// `response.json()`, which would buffer whatever a misbehaving (or hijacked) endpoint sends.
import type { FetchImplementation } from 'jose';

export class ResponseTooLarge extends Error {
  override readonly name = 'ResponseTooLarge';
}

export function boundedFetch(maxBytes: number): FetchImplementation {
  return async (url, options) => {
    const response = await fetch(url, options);
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > maxBytes) {
      await response.body?.cancel();
      throw new ResponseTooLarge(`response larger than ${maxBytes} bytes`);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > maxBytes) {
          await reader.cancel();
          throw new ResponseTooLarge(`response larger than ${maxBytes} bytes`);
        }
        chunks.push(value);
      }
    }
    return new Response(Buffer.concat(chunks), { status: response.status, headers: response.headers });
  };
}
