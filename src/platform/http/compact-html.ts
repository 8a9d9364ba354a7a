/**
 * Removes the indentation and blank lines that templates leave in a page: every run of whitespace
 * that holds a line break becomes one line break, which HTML renders the same. Text inside <pre>,
 * <textarea> and <script> is left exactly as it is (line breaks and spaces matter there, and an
 * inline script's CSP hash covers its text). Used on pages kept for anonymous visitors, where it
 * runs once per page and shrinks every response after.
 */
export function compactHtml(html: string): string {
  const verbatim = /<(pre|textarea|script)\b[\s\S]*?<\/\1>/gi;
  let out = '';
  let from = 0;
  for (const match of html.matchAll(verbatim)) {
    out += collapse(html.slice(from, match.index)) + match[0];
    from = match.index + match[0].length;
  }
  return out + collapse(html.slice(from));
}

function collapse(text: string): string {
  return text.replace(/[ \t\r]*\n\s*/g, '\n');
}
