// The embedded credential source: a YAML/JSON file only the sidecar can read, mapping target
// keys to logins. Reloaded when it changes. RFC 8693 token exchange (CredentialRef source
// 'token-exchange') plugs in beside it as another CredentialSource.
import { readFile, stat } from 'node:fs/promises';
import { inspect } from 'node:util';
import { parse } from 'yaml';
import type { Principal, TargetSpec } from '../../policies/model.js';

/** A target login. Secret: its JSON and inspect forms never show the password. */
export class SecretCredential {
  constructor(
    readonly username: string,
    readonly password: string,
  ) {}
  toJSON() {
    return { username: this.username, password: '[REDACTED]' };
  }
  toString() {
    return `SecretCredential(${this.username})`;
  }
  [inspect.custom]() {
    return `SecretCredential { username: ${JSON.stringify(this.username)}, password: [REDACTED] }`;
  }
}

export interface CredentialSource {
  credentialsFor(target: TargetSpec, principal: Principal): Promise<SecretCredential>;
}

export class CredentialsFile implements CredentialSource {
  private cached?: { mtimeMs: number; entries: Map<string, SecretCredential> };

  constructor(
    readonly path: string,
    private readonly opts: { allowInsecureMode?: boolean } = {},
  ) {}

  async credentialsFor(target: TargetSpec, _principal: Principal): Promise<SecretCredential> {
    if (target.credentials.source !== 'file') {
      throw new Error(`target "${target.name}" uses credential source "${target.credentials.source}", which is not supported yet`);
    }
    const key = target.credentials.key;
    const entries = await this.load();
    const found = entries.get(key);
    if (!found) throw new Error(`no credentials for "${key}" in ${this.path}`);
    return found;
  }

  private async load(): Promise<Map<string, SecretCredential>> {
    let st;
    try {
      st = await stat(this.path);
    } catch {
      throw new Error(`credentials file ${this.path} does not exist`);
    }
    if (!this.opts.allowInsecureMode && (st.mode & 0o077) !== 0) {
      throw new Error(`credentials file ${this.path} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    if (st.size > 1024 * 1024) throw new Error(`credentials file ${this.path} is larger than 1 MiB`);
    if (this.cached && this.cached.mtimeMs === st.mtimeMs) return this.cached.entries;
    let doc: unknown;
    try {
      doc = parse(await readFile(this.path, 'utf8'));
    } catch {
      throw new Error(`credentials file ${this.path} is not valid YAML or JSON`);
    }
    const targets = (doc as { targets?: Record<string, unknown> } | null)?.targets;
    if (!targets || typeof targets !== 'object') throw new Error(`credentials file ${this.path} has no "targets" map`);
    const entries = new Map<string, SecretCredential>();
    for (const [key, value] of Object.entries(targets)) {
      const v = value as { username?: unknown; password?: unknown };
      if (typeof v?.username !== 'string' || typeof v?.password !== 'string') {
        throw new Error(`credentials for "${key}" in ${this.path} need a username and a password`);
      }
      entries.set(key, new SecretCredential(v.username, v.password));
    }
    this.cached = { mtimeMs: st.mtimeMs, entries };
    return entries;
  }
}
