// The embedded credential source: a YAML/JSON file that only the sidecar can read, mapping
// credential keys (CredentialRef `{ source: 'file', key }`) to target logins. Re-read when it
// changes, so rotating a password needs no restart. A file readable by group or others is refused:
// in a pod that means a mis-set Secret `defaultMode`, on a laptop a file anyone could read.
import type { BigIntStats } from 'node:fs';
import type { Principal, TargetSpec } from '../../core/vocabulary.js';
import { CredentialError, SecretCredential, unsupportedSource, type CredentialSource } from './credential-source.js';
import { CredentialsDocumentError, parseCredentialsDocument } from './credentials-document.js';
import { FileReadError, ReloadingFile } from '../../core/files/reloading-file.js';

export interface CredentialsFileOptions {
  /** Accept a file readable by group/others. For tests only. */
  allowInsecureMode?: boolean;
}

const MAX_CREDENTIALS_FILE_BYTES = 1024 * 1024;

export class CredentialsFile implements CredentialSource {
  private readonly file: ReloadingFile<Map<string, SecretCredential>>;

  constructor(
    readonly path: string,
    opts: CredentialsFileOptions = {},
  ) {
    this.file = new ReloadingFile(path, {
      maxBytes: MAX_CREDENTIALS_FILE_BYTES,
      check: (stats: BigIntStats) => {
        const mode = Number(stats.mode) & 0o777;
        if (!opts.allowInsecureMode && (mode & 0o077) !== 0) {
          throw new CredentialError(
            'insecure-file',
            `credentials file ${path} is accessible by group or others (mode ${mode.toString(8).padStart(4, '0')}); make it readable by the sidecar only (chmod 600)`,
          );
        }
      },
      parse: (text) => {
        try {
          return parseCredentialsDocument(text);
        } catch (err) {
          const detail = err instanceof CredentialsDocumentError ? err.message : 'unparsable';
          throw new CredentialError('invalid', `credentials file ${path} is invalid: ${detail}`);
        }
      },
    });
  }

  async credentialsFor(target: TargetSpec, _principal: Principal): Promise<SecretCredential> {
    if (target.credentials.source !== 'file') throw unsupportedSource(target.credentials.source);
    const key = target.credentials.key;
    const entries = await this.load();
    const found = entries.get(key);
    if (!found) {
      throw new CredentialError('missing-key', `credentials file ${this.path} has no entry "${key}" (needed by target ${target.name})`);
    }
    return found;
  }

  /** Whether the file has an entry for this key (start-up checks every target has one). */
  async hasEntry(key: string): Promise<boolean> {
    return (await this.load()).has(key);
  }

  /** Loads (or re-checks) the file now, so a broken file is reported at startup. */
  async check(): Promise<void> {
    await this.load();
  }

  private async load(): Promise<Map<string, SecretCredential>> {
    try {
      return await this.file.read();
    } catch (err) {
      if (err instanceof CredentialError) throw err;
      const detail = err instanceof FileReadError ? err.message : `${this.path} could not be read`;
      throw new CredentialError('unavailable', `credentials file ${detail}`);
    }
  }
}
