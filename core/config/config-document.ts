// What every configuration file of ours shares: YAML read strictly, and a schema's problems with
// it said in one line that names each field and never echoes a value (a value may be a secret's
// path or a URL with a token in it). The webhook's, the broker's and the notifications' parsers
// differ only in their schema and their error type.
import { parse as parseYaml } from 'yaml';

/** zod's issues as "path: message; path: message" ("(root)" for the document itself). */
export function issuesLine(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`).join('; ');
}

/** The YAML document's value; a syntax error becomes `fail`'s error, naming `source`. */
export function yamlDocument(text: string, source: string, fail: (message: string) => Error): unknown {
  try {
    return parseYaml(text);
  } catch (err) {
    throw fail(`${source}: not valid YAML: ${(err as Error).message}`);
  }
}
