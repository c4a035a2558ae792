// Cutting user-controlled text to a length a notification channel accepts, saying how much was
// left out so a reader never mistakes a prefix for the whole statement.

export interface BoundedText {
  text: string;
  /** Characters left out (0 = the text is whole). */
  omitted: number;
}

/** `text` cut to at most `max` UTF-16 units, never splitting a surrogate pair. */
export function boundText(text: string, max: number): BoundedText {
  if (text.length <= max) return { text, omitted: 0 };
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return { text: text.slice(0, end), omitted: text.length - end };
}
