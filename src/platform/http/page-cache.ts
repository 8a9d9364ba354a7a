/** Stands in for the visitor's CSRF token in a cached page; each response gets its own token. */
export const CSRF_PLACEHOLDER = '__kiln_csrf_token__';

/**
 * Pages as visitors without a session see them, kept for a few seconds. Such a page depends only
 * on its address and on published content, and most of its cost is rendering the GOV.UK
 * templates. Only routes that opt in (`config: { pageCache: true }`) are kept; publishing
 * content clears the cache, and other processes catch up within the time-to-live.
 */
export class PageCache<Parts = Buffer[]> {
  private readonly entries = new Map<string, { parts: Parts; until: number }>();

  constructor(
    private readonly ttlMs = 10_000,
    private readonly maxEntries = 500,
  ) {}

  /**
   * The page split around its CSRF placeholders, so a visitor's token is joined in without a
   * search; kept as UTF-8 bytes, so a response costs no encoding.
   */
  get(url: string): Parts | undefined {
    const entry = this.entries.get(url);
    if (!entry) return undefined;
    if (entry.until < Date.now()) {
      this.entries.delete(url);
      return undefined;
    }
    return entry.parts;
  }

  set(url: string, parts: Parts): void {
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(url, { parts, until: Date.now() + this.ttlMs });
  }

  clear(): void {
    this.entries.clear();
  }
}
