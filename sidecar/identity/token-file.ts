// The sidecar's own identity token: the projected ServiceAccount token kubelet mounts into the pod
// (audience `sidegate`) and rotates well before it expires. Re-read whenever the file changes so a
// rotated token is used at once; never cached past a change, never logged.
import { ReloadingFile, FileReadError } from '../../core/files/reloading-file.js';
import { MAX_TOKEN_BYTES } from '../../core/tokens/token-size.js';

export class TokenFile {
  private readonly file: ReloadingFile<string>;

  constructor(readonly path: string) {
    this.file = new ReloadingFile(path, {
      maxBytes: MAX_TOKEN_BYTES,
      parse: (text) => {
        const token = text.trim();
        if (token === '') throw new FileReadError('empty', `token file ${path} is empty`);
        return token;
      },
    });
  }

  /** The current token, whitespace trimmed. Throws a `FileReadError` naming the file (not the token). */
  async read(): Promise<string> {
    try {
      return await this.file.read();
    } catch (err) {
      if (err instanceof FileReadError && !err.message.startsWith('token file')) {
        throw new FileReadError(err.problem, `token file ${err.message}`);
      }
      throw err;
    }
  }
}
