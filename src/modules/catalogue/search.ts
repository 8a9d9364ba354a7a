/**
 * A small in-process search index over live services and topic pages. Typo tolerant through
 * edit distance on words ("recyling" finds recycling, "potholl" finds pothole). It behaves the
 * same on both databases and is rebuilt whenever a service is published.
 */
export interface SearchDocument {
  kind: 'service' | 'topic';
  title: string;
  summary: string;
  href: string;
  /** Weighted text: title words count most, then summary and topic, then description. */
  fields: { text: string; weight: number }[];
}

export interface SearchResult {
  document: SearchDocument;
  score: number;
}

const stopWords = new Set(
  'a an and are as at be by can council do for from how i if in is it my of on or the to what when with you your'.split(
    ' ',
  ),
);

export function words(text: string): string[] {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9\s]/g, ' ')
    .split(/\s+/)
    .filter((w) => w.length > 1 && !stopWords.has(w));
}

/** Optimal string alignment distance (Damerau-Levenshtein with adjacent swaps), stopping past `max`. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const prev2 = new Array<number>(b.length + 1).fill(0);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
      best = Math.min(best, d);
    }
    if (best > max) return max + 1;
    prev2.splice(0, prev2.length, ...prev);
    prev = row;
  }
  return prev[b.length]!;
}

/** How well a query word matches a word of a document: 1 exact, less for a prefix or a typo. */
function wordMatch(query: string, word: string): number {
  if (query === word) return 1;
  if (query.length >= 3 && word.startsWith(query)) return 0.8;
  if (word.length >= 4 && query.startsWith(word)) return 0.7; // plurals: "potholes" finds pothole
  const allowed = query.length >= 8 ? 2 : query.length >= 4 ? 1 : 0;
  if (allowed === 0) return 0;
  const d = editDistance(query, word, allowed);
  return d <= allowed ? 0.7 - 0.1 * d : 0;
}

export class SearchIndex {
  private documents: Array<{ doc: SearchDocument; words: Array<{ word: string; weight: number }> }> = [];
  private vocabulary = new Set<string>();

  replace(documents: SearchDocument[]): void {
    this.documents = documents.map((doc) => {
      const best = new Map<string, number>();
      for (const f of doc.fields)
        for (const w of words(f.text)) best.set(w, Math.max(best.get(w) ?? 0, f.weight));
      return { doc, words: [...best].map(([word, weight]) => ({ word, weight })) };
    });
    this.vocabulary = new Set(this.documents.flatMap((d) => d.words.map((w) => w.word)));
  }

  /** Documents matching every meaningful query word (allowing typos), best first. */
  search(query: string, limit = 30): SearchResult[] {
    const terms = [...new Set(words(query))].slice(0, 10);
    if (terms.length === 0) return [];
    // Words that appear nowhere (after typo tolerance) do not rule everything out.
    const useful = terms.filter((t) => [...this.vocabulary].some((w) => wordMatch(t, w) > 0));
    if (useful.length === 0) return [];
    const results: SearchResult[] = [];
    for (const { doc, words: docWords } of this.documents) {
      let score = 0;
      let matched = 0;
      for (const term of useful) {
        let best = 0;
        for (const { word, weight } of docWords) best = Math.max(best, wordMatch(term, word) * weight);
        if (best > 0) matched++;
        score += best;
      }
      if (matched === useful.length)
        results.push({ document: doc, score: score + (doc.kind === 'service' ? 0.1 : 0) });
    }
    return results
      .sort((a, b) => b.score - a.score || a.document.title.localeCompare(b.document.title))
      .slice(0, limit);
  }
}
