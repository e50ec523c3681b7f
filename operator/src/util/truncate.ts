// Cutting text to a limit. Two limits exist and must not be confused: the API server and pino
// count UTF-16 characters for condition and log messages (`truncate`), while an Event's fields
// are limited in UTF-8 bytes (`truncateUtf8`), where one character may take up to four.

/**
 * `s` when it has at most `max` UTF-16 code units, else its start ending with `marker`, `max`
 * code units in all. A surrogate pair is never split (the cut moves one unit earlier), so the
 * result stays well-formed when `s` is. When `marker` does not fit in `max`, the text is cut
 * without it.
 */
export function truncate(s: string, max: number, marker = '...'): string {
  if (s.length <= max) return s;
  const tail = marker.length <= max ? marker : '';
  let end = Math.max(0, max - tail.length);
  if (end > 0 && isHighSurrogate(s.charCodeAt(end - 1))) end--;
  return s.slice(0, end) + tail;
}

/**
 * Cuts `s` to at most `maxBytes` UTF-8 bytes on a character boundary, ending with `marker` when
 * cut. Lone surrogates become U+FFFD first, so the result is always valid UTF-8.
 */
export function truncateUtf8(s: string, maxBytes: number, marker = '...'): string {
  const text = s.toWellFormed();
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const tail = Buffer.byteLength(marker, 'utf8') <= maxBytes ? marker : '';
  const budget = maxBytes - Buffer.byteLength(tail, 'utf8');
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + n > budget) break;
    bytes += n;
    end += ch.length;
  }
  return text.slice(0, end) + tail;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
