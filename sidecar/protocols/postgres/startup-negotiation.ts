// NegotiateProtocolVersion ('v'): the server's answer to a client asking for a newer minor
// protocol version or for `_pq_.` protocol options it does not know. The client then carries on
// with the version given (or hangs up); sidegate speaks 3.0 and supports no `_pq_.` option.
import { MessageBuilder } from './message-framer.js';

export function serializeNegotiateProtocolVersion(newestVersion: number, unsupportedOptions: readonly string[]): Buffer {
  const b = new MessageBuilder(0x76 /* v */).int32(newestVersion).int32(unsupportedOptions.length);
  for (const name of unsupportedOptions) b.cstring(name);
  return b.build();
}
