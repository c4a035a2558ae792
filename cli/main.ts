#!/usr/bin/env node
// The one `sidegate` command. Subcommands:
//   local                      run the main job on a laptop: example policy, embedded target,
//                              in-process approval broker, spans to a local file
//   sidecar                    run as the pod's sidecar (explicit listeners and/or transparent capture)
//   token                      print a local developer token (local mode's issuer)
//   policy check FILE          validate a policy as start-up does (errors name file:line)
//   policy test FILE CASES     run policy unit-test cases; non-zero exit on mismatch
//   approvals list|show|approve|deny …   decide held commands
//   audit show|verify [FILE]   print the audit trail as a tree / verify its hash chain
//   webhook                    the admission webhook (injection) over HTTPS
//   broker                     the approval broker over HTTPS (store, API, approvers' page)
//   exchange                   the token exchange over HTTPS (RFC 8693: short-lived target credentials)
//   drain                      ask the running sidecar to stop accepting and finish (preStop)
//   init                       the pod's init container: install the traffic redirect rules
// Every command answers --help/-h on stdout with exit 0; usage errors exit 2 (core/command-line/command-line.ts).
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { EXIT_USAGE, printable, usageError } from '../core/command-line/command-line.js';

// Each command's modules are loaded only when it runs: the sidecar in every CI pod should not
// carry the embedded demo database, the webhook or the operator tools in its memory.

export const USAGE = `usage: sidegate <command> [options]
       sidegate <command> --help      what a command does and its options
       sidegate --version

commands:
  local      [--policy FILE] [--credentials FILE] [--upstream [TARGET=]HOST:PORT] [--state-dir DIR]
  sidecar    --policy FILE --credentials FILE [--token-file FILE] [--capture-port PORT] [--broker-url URL --broker-token-file FILE]
  token      [--state-dir DIR] [--subject SUB]
  policy     check FILE [--credentials FILE] | test FILE CASES
  approvals  login | list | show ID | approve ID [--reason TEXT] | deny ID [--reason TEXT]   (--broker URL, --token-file FILE)
  audit      show [FILE] | verify [FILE]
  webhook    --tls-cert FILE --tls-key FILE [--config FILE] [--port 8443] [--namespaces-file FILE]
  broker     --config FILE --tls-cert FILE --tls-key FILE [--port 8443]
  exchange   --config FILE --tls-cert FILE --tls-key FILE [--port 8443]
  drain      [--admin-port 16002]      (the sidecar's preStop hook)
  init       [--capture-port 16001] [--uid 7331] [--gid 7331] [--include-ports 5432|*] [--exclude-ports …] [--exclude-cidrs …]
`;

const MAIN = { name: 'sidegate', usage: USAGE };

/** The exit code, or -1 when the command keeps running (a server that stops on a signal). */
interface MainIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export async function main(argv: string[], io: MainIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'local':
      return (await import('../sidecar/cli/local-command.js')).runLocal(rest, io);
    case 'sidecar':
      return (await import('../sidecar/cli/sidecar-command.js')).runSidecarCommand(rest, io);
    case 'token':
      return (await import('../sidecar/cli/token-command.js')).runTokenCommand(rest, io);
    case 'policy':
      return (await import('../sidecar/cli/policy-command.js')).runPolicyCommand(rest, io);
    case 'approvals':
      return (await import('../broker/cli/approvals-cli.js')).runApprovalsCommand(rest, io);
    case 'audit':
      return (await import('../sidecar/cli/audit-command.js')).runAuditCommand(rest, io);
    case 'webhook':
      return (await import('../webhook/cli/webhook-command.js')).runWebhookCommand(rest, io);
    case 'broker':
      return (await import('../broker/cli/broker-command.js')).runBrokerCommand(rest, io);
    case 'exchange':
      return (await import('../exchange/cli/exchange-command.js')).runExchangeCommand(rest, io);
    case 'drain':
      return (await import('../sidecar/cli/drain-command.js')).runDrainCommand(rest, io);
    case 'init':
      return (await import('../sidecar/capture/init-command.js')).runInitCommand(rest, io);
    case 'help':
      // `sidegate help local` is `sidegate local --help`.
      return rest.length > 0 ? main([rest[0]!, '--help'], io) : (io.stdout.write(USAGE), 0);
    case '-h':
    case '--help':
      io.stdout.write(USAGE);
      return 0;
    case '-V':
    case '--version':
    case 'version':
      io.stdout.write(`sidegate ${packageVersion()}\n`);
      return 0;
    case undefined:
      return usageError(MAIN, 'missing command', io);
    default:
      return usageError(MAIN, command.startsWith('-') ? `unknown option '${printable(command)}'` : `unknown command "${printable(command)}"`, io);
  }
}

function packageVersion(): string {
  // dist/cli/main.js → the package root's package.json (the image ships it too).
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (err: Error) => {
    // A failed start has already closed what it opened; the process ends once nothing is left.
    process.stderr.write(`sidegate: ${err.message}\n`);
    process.exitCode = err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? EXIT_USAGE : 1;
  },
);
