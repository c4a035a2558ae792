// A secret mounted as a file (a key of a Kubernetes Secret): read bounded, whitespace trimmed (a
// Secret made with `echo` ends in a newline), refused when empty or not a regular file. Messages
// name the file and the problem, never its content; `fail` makes them the caller's own error.
import { open } from 'node:fs/promises';

export async function readSecretFile(path: string, maxBytes: number, fail: (message: string) => Error): Promise<string> {
  let text: string;
  try {
    const handle = await open(path, 'r');
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw fail(`${path}: not a regular file`);
      if (stats.size > maxBytes) throw fail(`${path}: larger than ${maxBytes} bytes`);
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (!(err as NodeJS.ErrnoException).code) throw err;
    throw fail(`${path}: cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
  const secret = text.trim();
  if (secret.length === 0) throw fail(`${path}: empty`);
  return secret;
}
