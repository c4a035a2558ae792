// A MySQL client's first bytes, for egress: MySQL's server speaks first, so a client to a target
// is handed to the adapter by destination (serverFirst) and never needs this. A client to an
// address no target names is relayed, and what it sends after the server's greeting — its
// HandshakeResponse41 or SSLRequest — is read again before it goes out (captured-egress.ts): a
// guarded protocol to an unnamed address is refused unless a rule relays it by name.
//
// The shape: a 4-byte header (payload length, little-endian, 32 bytes to 64 KiB; sequence id 1),
// then capabilities with CLIENT_PROTOCOL_41, the max packet size, a collation id, and 19 zero
// filler bytes (MariaDB uses the last 4 of MySQL's 23 for its extended capabilities).
import type { OpeningVerdict } from '../../capture/protocol-detection.js';
import { CLIENT_PROTOCOL_41 } from './capabilities.js';

const HEADER = 4;
const FIXED = 4 + 4 + 1;
const FILLER = 19;

export function detectMysqlReply(opening: Buffer): OpeningVerdict {
  if (opening.length >= 3 && opening[2] !== 0) return 'no';
  if (opening.length >= 4 && opening[3] !== 1) return 'no';
  if (opening.length < HEADER) return 'more';
  const length = opening.readUIntLE(0, 3);
  if (length < 32) return 'no';
  if (opening.length < HEADER + FIXED + FILLER) return 'more';
  if ((opening.readUInt32LE(HEADER) & CLIENT_PROTOCOL_41) === 0) return 'no';
  for (let i = HEADER + FIXED; i < HEADER + FIXED + FILLER; i++) if (opening[i] !== 0) return 'no';
  return 'yes';
}
