/** One answer as the case page shows it: the question, the answer in words, and any files. */
export interface AnswerRow {
  question: string;
  text: string;
  files: Array<{ id: string; name: string }>;
}

// Answers are stored as the form submitted them: keyed by question id, each either a plain value
// or { question, answer }. Files are objects carrying a file id; everything else is shown as words.
export function answerRows(answers: unknown): AnswerRow[] {
  if (!answers || typeof answers !== 'object') return [];
  return Object.entries(answers as Record<string, unknown>).map(([key, value]) => {
    const wrapped = value && typeof value === 'object' && !Array.isArray(value) && 'answer' in value;
    const question = wrapped
      ? String((value as { question?: unknown }).question ?? humanise(key))
      : humanise(key);
    const answer = wrapped ? (value as { answer: unknown }).answer : value;
    const files: AnswerRow['files'] = [];
    let text = words(answer, files);
    // Structured answers keep their value beside the words: files are found there.
    if (wrapped && 'value' in (value as object)) {
      words((value as unknown as { value: unknown }).value, files);
      if (files.length) text = '';
    }
    return { question, text, files };
  });
}

/** Every file id among a case's answers: only these may be downloaded from the case. */
export function fileIdsOf(answers: unknown): string[] {
  return answerRows(answers).flatMap((row) => row.files.map((f) => f.id));
}

function words(value: unknown, files: AnswerRow['files']): string {
  if (value === null || value === undefined || value === '') return 'Not answered';
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (Array.isArray(value))
    return value
      .map((v) => words(v, files))
      .filter(Boolean)
      .join(', ');
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const id =
      typeof o.fileId === 'string'
        ? o.fileId
        : typeof o.id === 'string' && (o.originalName || o.mediaType)
          ? o.id
          : null;
    if (id && /^[0-9a-f-]{36}$/i.test(id)) {
      files.push({ id, name: String(o.originalName ?? o.name ?? o.filename ?? 'File') });
      return '';
    }
    if ('text' in o && typeof o.text === 'string') return o.text;
    if ('label' in o && typeof o.label === 'string') return o.label;
    return Object.entries(o)
      .map(([k, v]) => `${humanise(k)}: ${words(v, files)}`)
      .join('; ');
  }
  return String(value);
}

function humanise(key: string): string {
  const spaced = key
    .replace(/[_-]+/g, ' ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .trim()
    .toLowerCase();
  return spaced ? spaced[0]!.toUpperCase() + spaced.slice(1) : key;
}
