// Every string that reaches the approval page passes through here: statements, parameter values,
// CI claims and reasons are written by whoever asked for approval, and the page is where a human
// decides. One function for text and quoted attribute values: it escapes all five characters that
// can end either, so a caller cannot pick the wrong variant.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `text` safe inside element content and inside a double- or single-quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

/**
 * `raw` as a URL fit for an `href`, or undefined: only absolute http(s) URLs, so a CI claim of
 * `javascript:` or `data:` never becomes a link. The answer is the parsed URL's own serialization
 * (escape it like any text).
 */
export function httpUrlOrUndefined(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
}
