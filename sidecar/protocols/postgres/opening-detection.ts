// Whether the first bytes a captured client sent are PostgreSQL's: an SSLRequest, GSSENCRequest,
// CancelRequest or a protocol 3.x StartupMessage, each with the length the server itself accepts.
// Pure; the capture asks it through the adapter contract (ProtocolAdapter.detect).
import type { OpeningVerdict } from '../../capture/protocol-detection.js';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** The server's own limit (MAX_STARTUP_PACKET_LENGTH). */
const MAX_STARTUP_LENGTH = 10000;

export function detectPostgresOpening(data: Buffer): OpeningVerdict {
  if (data.length === 0 || data[0] !== 0x00) return data.length === 0 ? 'more' : 'no';
  if (data.length < 8) return 'more';
  const length = data.readUInt32BE(0);
  const code = data.readUInt32BE(4);
  if ((code === SSL_REQUEST || code === GSSENC_REQUEST) && length === 8) return 'yes';
  if (code === CANCEL_REQUEST && length === 16) return 'yes';
  if (code >>> 16 === 3 && length > 8 && length <= MAX_STARTUP_LENGTH) return 'yes';
  return 'no';
}
