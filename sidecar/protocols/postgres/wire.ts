// The PostgreSQL wire layer in one import for the proxy: framing, client and server message
// codecs, the upstream login, SCRAM and CancelRequest.
export * from './message-framer.js';
export * from './frontend-messages.js';
export * from './backend-messages.js';
export * from './scram-client.js';
export * from './upstream-connection.js';
export * from './cancel-request.js';
