// `sidegate token`: a fresh developer token from local mode's issuer, for psql's password.
import { resolve } from 'node:path';
import { parseCommandLine, type CommandLineIo } from '../../core/command-line/command-line.js';
import { mintLocalToken } from '../local/local-issuer.js';

export const TOKEN_USAGE = `usage: sidegate token [--state-dir DIR] [--subject SUB]

Prints a developer token (a JWT valid for 12 hours) signed by local mode's own issuer
(https://sidegate.local, audience "sidegate"), for use as the password through \`sidegate local\`.

options:
  --state-dir DIR   where local mode keeps its issuer key (default .sidegate)
  --subject SUB     the token's sub claim (default developer:$USER)
  -h, --help        this text
`;

export async function runTokenCommand(args: string[], io: CommandLineIo): Promise<number> {
  const parsed = parseCommandLine(
    args,
    { name: 'sidegate token', usage: TOKEN_USAGE, options: { 'state-dir': { type: 'string', default: '.sidegate' }, subject: { type: 'string' } } },
    io,
  );
  if (typeof parsed === 'number') return parsed;
  io.stdout.write((await mintLocalToken(resolve(parsed.values['state-dir']), { subject: parsed.values.subject })) + '\n');
  return 0;
}
