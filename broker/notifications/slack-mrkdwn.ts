// Text for Slack's mrkdwn, from strings a requester or a token controls. Slack reads `<…>` as links,
// user and channel mentions (`<!channel>`, `<@U…>`) and `&…;` as entities, so those three
// characters are escaped as Slack documents; nothing else is needed for a string to show as text.
// Lengths are counted after escaping, since Slack's limits apply to what it receives.

export interface EscapedText {
  text: string;
  /** Characters of the input left out to stay within the bound (0 = all of it is there). */
  omitted: number;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** `text` escaped for mrkdwn. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (c) => ENTITIES[c]!);
}

/**
 * `text` escaped, at most `maxChars` long once escaped. For a code block (`code`), runs of
 * backticks are broken with zero-width spaces so the text cannot close the block it is shown in.
 */
export function escapeMrkdwnBounded(text: string, maxChars: number, opts: { code?: boolean } = {}): EscapedText {
  let out = '';
  let used = 0;
  for (const char of text) {
    let piece = ENTITIES[char] ?? char;
    if (opts.code && char === '`' && text[used + 1] === '`') piece += '\u200b';
    if (out.length + piece.length > maxChars) return { text: out, omitted: text.length - used };
    out += piece;
    used += char.length;
  }
  return { text: out, omitted: 0 };
}

/**
 * A mrkdwn link to an http(s) URL, or the label as plain text when `url` is anything else: a CI
 * claim must not turn into a `javascript:` or `slack://` link. `>` would end the link early and `|` would split it.
 */
export function mrkdwnLink(url: string, label: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return escapeMrkdwn(label);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return escapeMrkdwn(label);
  const href = parsed.href.replace(/[<>|]/g, (c) => encodeURIComponent(c)).replace(/&/g, '&amp;');
  return `<${href}|${escapeMrkdwn(label)}>`;
}
