/** How the evaluation keeps its test utterances apart from what the assistant is trained or tuned on. */

/** Lower case, letters and digits only: "Pot-hole!" and "pothole" are the same text. */
export function squash(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9£]/g, '');
}

/** Edit distance (insertions, deletions, substitutions and swaps of neighbours) between two strings, or `max + 1` as soon as it must exceed `max`. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let before: number[] = [];
  let prevMin = 0;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      // A swap of two letters ("dya" for "day") is one edit.
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        cur[j] = Math.min(cur[j]!, before[j - 2]! + 1);
      rowMin = Math.min(rowMin, cur[j]!);
    }
    // A swap reaches back two rows, so stop only when two rows in a row are past the limit.
    if (rowMin > max && prevMin > max) return max + 1;
    prevMin = rowMin;
    before = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Test utterances that are the same as, or within a typo or two of, a text they must be kept
 * apart from: same letters and digits once case, spaces and punctuation are gone, or an edit
 * distance of at most one in ten characters.
 */
export function nearDuplicates(tests: string[], others: string[]): Array<[string, string]> {
  const squashed = [...new Set(others.map(squash))];
  const found: Array<[string, string]> = [];
  for (const text of tests) {
    const t = squash(text);
    const max = Math.floor(t.length / 10);
    const match = squashed.find((o) => o === t || (max > 0 && editDistance(t, o, max) <= max));
    if (match !== undefined) found.push([text, match]);
  }
  return found;
}
