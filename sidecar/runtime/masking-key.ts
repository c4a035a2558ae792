// The key of the `hash` masking strategy, from where the policy's `maskingKey` says: an
// environment variable or a file (a mounted Secret). Missing or empty is a start-up error: a
// keyed hash without its key would have to either fail every masked row or hash with no secret.
import { readFile } from 'node:fs/promises';
import type { Policy } from '../../policies/index.js';

export async function loadMaskingKey(policy: Policy, env: NodeJS.ProcessEnv): Promise<Buffer | undefined> {
  const ref = policy.maskingKey();
  if (!ref) return undefined;
  if ('env' in ref) {
    const v = env[ref.env];
    if (!v) throw new Error(`masking key: environment variable ${ref.env} is not set`);
    return Buffer.from(v, 'utf8');
  }
  let text: string;
  try {
    text = (await readFile(ref.file, 'utf8')).trim();
  } catch (err) {
    throw new Error(`masking key: ${ref.file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (text === '') throw new Error(`masking key: ${ref.file} is empty`);
  return Buffer.from(text, 'utf8');
}
