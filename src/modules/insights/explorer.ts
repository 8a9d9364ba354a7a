/**
 * The explorer's first line of defence: a small SQL lexer that refuses, with a message an analyst
 * can act on, anything but one read-only query over the analytics schema. The database is the
 * second line (read-only transaction, reader role, search path, timeout): see
 * docs/decisions/insights-explorer.md.
 */

export type Checked = { ok: true; query: string } | { ok: false; message: string };

interface Token {
  kind: 'word' | 'quoted' | 'string' | 'number' | 'punct';
  text: string;
}

const MAX_LENGTH = 5000;
const STARTERS = new Set(['select', 'with', 'table', 'values']);
const WRITES = new Set([
  'insert', 'update', 'delete', 'merge', 'create', 'drop', 'alter', 'truncate', 'grant', 'revoke',
  'copy', 'call', 'do', 'set', 'reset', 'lock', 'vacuum', 'analyze', 'listen', 'notify', 'prepare',
  'execute', 'refresh', 'comment', 'security', 'into', 'cluster', 'reindex', 'discard', 'checkpoint',
  'import', 'load', 'unlisten', 'savepoint', 'rollback', 'commit', 'begin', 'abort', 'release',
]); // prettier-ignore
const FUNCTIONS =
  /^(pg_sleep|pg_read|pg_ls|pg_stat_file|pg_terminate|pg_cancel|pg_reload|pg_rotate|pg_advisory|set_config|current_setting|lo_|dblink|pg_notify|txid_|pg_current|pg_export|query_to_xml|table_to_xml|cursor_to_xml|database_to_xml|schema_to_xml|ts_stat|ts_rewrite)/;

/** Checks an analyst's query; `foreign` holds schema and relation names outside analytics. */
export function checkQuery(input: string, foreign: Set<string>): Checked {
  const query = input.trim().replace(/;\s*$/, '').trim();
  if (!query) return { ok: false, message: 'Enter a query' };
  if (query.length > MAX_LENGTH)
    return { ok: false, message: `Queries must be ${MAX_LENGTH} characters or fewer` };
  let tokens: Token[];
  try {
    tokens = lex(query);
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
  const first = tokens[0];
  if (!first || first.kind !== 'word' || !STARTERS.has(first.text))
    return { ok: false, message: 'Queries must start with SELECT or WITH: the explorer only reads' };
  let depth = 0;
  let expectRelation = false;
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    const next = tokens[i + 1];
    if (tok.kind === 'punct') {
      if (tok.text === ';') return { ok: false, message: 'Write one query at a time, without semicolons' };
      if (tok.text === '(') depth++;
      if (tok.text === ')') depth--;
      continue;
    }
    if (tok.kind !== 'word' && tok.kind !== 'quoted') continue;
    const word = tok.text;
    if (tok.kind === 'word' && WRITES.has(word))
      return { ok: false, message: `The explorer only reads: ${word.toUpperCase()} is not allowed` };
    if (FUNCTIONS.test(word.toLowerCase()) && next?.text === '(')
      return { ok: false, message: `The function ${word} is not available in the explorer` };
    // schema.name: only the analytics schema may be named.
    if (next?.text === '.' && foreign.has(word.toLowerCase()) && isSchemaPosition(tokens, i))
      return { ok: false, message: `Queries may only read the analytics tables, not ${word}` };
    if (tok.kind === 'word' && (word === 'from' || word === 'join')) {
      expectRelation = true;
      continue;
    }
    if (expectRelation) {
      expectRelation = false;
      const qualified = next?.text === '.';
      const isFunction = next?.text === '(';
      if (!qualified && !isFunction && foreign.has(word.toLowerCase()))
        return { ok: false, message: `Queries may only read the analytics tables, not ${word}` };
      // a comma after "relation [as] alias" in a FROM list introduces another relation
      let j = i + (qualified ? 3 : 1);
      if (tokens[j]?.text === 'as') j++;
      if (
        tokens[j] &&
        (tokens[j]!.kind === 'word' || tokens[j]!.kind === 'quoted') &&
        !KEYWORDS.has(tokens[j]!.text)
      )
        j++;
      if (tokens[j]?.text === ',') expectRelation = nextRelationAfterComma(tokens, j);
    }
  }
  if (depth !== 0) return { ok: false, message: 'The brackets in the query do not match' };
  return { ok: true, query };
}

const KEYWORDS = new Set([
  'where', 'group', 'order', 'limit', 'offset', 'having', 'window', 'union', 'intersect', 'except',
  'join', 'left', 'right', 'inner', 'outer', 'full', 'cross', 'on', 'using', 'natural', 'lateral', 'fetch',
]); // prettier-ignore

function isSchemaPosition(tokens: Token[], i: number): boolean {
  // "x.y" after a dot is a column of x; a name before a dot is a schema or an alias.
  return tokens[i - 1]?.text !== '.';
}

function nextRelationAfterComma(tokens: Token[], comma: number): boolean {
  const after = tokens[comma + 1];
  return Boolean(after && (after.kind === 'word' || after.kind === 'quoted'));
}

function lex(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && q[i + 1] === '-') {
      while (i < q.length && q[i] !== '\n') i++;
    } else if (c === '/' && q[i + 1] === '*') {
      const end = q.indexOf('*/', i + 2);
      if (end < 0) throw new Error('A comment in the query is not closed');
      i = end + 2;
    } else if (c === "'" || ((c === 'E' || c === 'e') && q[i + 1] === "'")) {
      let j = c === "'" ? i + 1 : i + 2;
      for (;;) {
        if (j >= q.length) throw new Error('A quoted text in the query is not closed');
        if (q[j] === '\\' && c !== "'") j += 2;
        else if (q[j] === "'" && q[j + 1] === "'") j += 2;
        else if (q[j] === "'") break;
        else j++;
      }
      out.push({ kind: 'string', text: q.slice(i, j + 1) });
      i = j + 1;
    } else if (c === '$' && /^\$[A-Za-z_]*\$/.test(q.slice(i))) {
      const tag = /^\$[A-Za-z_]*\$/.exec(q.slice(i))![0];
      const end = q.indexOf(tag, i + tag.length);
      if (end < 0) throw new Error('A quoted text in the query is not closed');
      out.push({ kind: 'string', text: q.slice(i, end + tag.length) });
      i = end + tag.length;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      for (;;) {
        if (j >= q.length) throw new Error('A quoted name in the query is not closed');
        if (q[j] === '"' && q[j + 1] === '"') {
          text += '"';
          j += 2;
        } else if (q[j] === '"') break;
        else text += q[j++];
      }
      out.push({ kind: 'quoted', text });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < q.length && /[A-Za-z0-9_$]/.test(q[j]!)) j++;
      out.push({ kind: 'word', text: q.slice(i, j).toLowerCase() });
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < q.length && /[0-9.eE]/.test(q[j]!)) j++;
      out.push({ kind: 'number', text: q.slice(i, j) });
      i = j;
    } else {
      out.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return out;
}
