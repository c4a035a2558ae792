#!/usr/bin/env node
// The one `sidegate` command. Subcommands:
//   local                      run the main job on a laptop: example policy, embedded target,
//                              in-process approval broker, spans to a local file
//   sidecar                    run as the pod's sidecar (explicit listeners for now)
//   token                      print a local developer token (local mode's issuer)
//   policy check FILE          validate a policy (errors name file:line)
//   policy test FILE CASES     run policy unit-test cases; non-zero exit on mismatch
//   approvals list|show|approve|deny …   decide held commands
//   audit show|verify [FILE]   print the audit trail as a tree / verify its hash chain
//   webhook                    the admission webhook (injection) over HTTPS
//   drain                      ask the running sidecar to stop accepting and finish (preStop)
//   init                       the pod's init container: install the traffic redirect rules
import { parseArgs } from 'node:util';

// Each command's modules are loaded only when it runs: the sidecar in every CI pod should not
// carry the embedded demo database, the webhook or the operator tools in its memory.

const USAGE = `usage: sidegate <command> [options]

commands:
  local [--policy FILE] [--credentials FILE] [--state-dir DIR] [--upstream HOST:PORT]
  sidecar --policy FILE --credentials FILE [--token-file FILE] [--broker-url URL --broker-token-file FILE]
  token [--state-dir DIR] [--subject SUB]
  policy check FILE
  policy test FILE CASES
  approvals list | show ID | approve ID [--as NAME] [--reason TEXT] | deny ID [--as NAME] [--reason TEXT]
  audit show [FILE] | audit verify [FILE]
  webhook --tls-cert FILE --tls-key FILE [--config FILE] [--port 8443] [--namespaces-file FILE]
  drain [--admin-port 16002]      (the sidecar's preStop hook)
  init [--capture-port 16001] [--uid 7331] [--gid 7331] [--include-ports 5432,3306,22,80,443|*] [--exclude-ports …] [--exclude-cidrs …]
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
  switch (command) {
    case 'local':
      return (await import('../sidecar/cli/local-command.js')).runLocal(rest);
    case 'sidecar':
      return (await import('../sidecar/cli/sidecar-command.js')).runSidecarCommand(rest);
    case 'token': {
      const { mintLocalToken } = await import('../sidecar/local/local-issuer.js');
      const { values } = parseArgs({
        args: rest,
        options: { 'state-dir': { type: 'string', default: '.sidegate' }, subject: { type: 'string' } },
      });
      process.stdout.write((await mintLocalToken(values['state-dir']!, { subject: values.subject })) + '\n');
      return 0;
    }
    case 'policy':
      return (await import('../sidecar/cli/policy-command.js')).runPolicyCommand(rest, io);
    case 'approvals':
      return (await import('../sidecar/approvals/index.js')).runApprovalsCommand(rest, io);
    case 'audit':
      return (await import('../sidecar/cli/audit-command.js')).runAuditCommand(rest, io);
    case 'webhook':
      return (await import('../webhook/cli/webhook-command.js')).runWebhookCommand(rest, io);
    case 'drain':
      return (await import('../sidecar/cli/drain-command.js')).runDrainCommand(rest, io);
    case 'init':
      return (await import('../sidecar/capture/init-command.js')).runInitCommand(rest, io);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`sidegate: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`sidegate: ${err.message}\n`);
    process.exitCode = 1;
  },
);
