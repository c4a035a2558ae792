// Every protocol sidegate speaks, registered once. Adding a protocol is adding its folder under
// sidecar/protocols/ and one line here; nothing else compares protocol names.
import type { Protocol } from '../../core/vocabulary.js';
import type { DetectedProtocol } from '../capture/protocol-detection.js';
import type { ProtocolAdapter } from '../pipeline/protocol-adapter.js';
import { postgresAdapter } from './postgres/postgres-adapter.js';
import { mysqlAdapter } from './mysql/mysql-adapter.js';

export const ADAPTERS: readonly ProtocolAdapter[] = [postgresAdapter, mysqlAdapter];

/** The adapter serving targets of `protocol`, if sidegate has one. */
export function adapterFor(protocol: Protocol): ProtocolAdapter | undefined {
  return ADAPTERS.find((a) => a.protocol === protocol);
}

/** The adapter a captured connection's first bytes were recognised by, if any. */
export function adapterForDetection(detection: DetectedProtocol): ProtocolAdapter | undefined {
  return ADAPTERS.find((a) => a.protocol === detection);
}

/** Destination ports captured by default: those of the protocols sidegate has an adapter for. */
export function defaultCapturePorts(): number[] {
  return [...new Set(ADAPTERS.flatMap((a) => a.defaultPorts))].sort((a, b) => a - b);
}
