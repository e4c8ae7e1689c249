/**
 * Tokenizer for the argument list of a `print fmt:` line, with libtraceevent's token classes
 * (event-parse.c `get_type`/`__read_token`) so that the parser sees what it sees:
 *
 *   item   run of [A-Za-z0-9_]            (numbers and names alike: `0x10`, `10UL`, `REC`)
 *   dquote "…" without the quotes; escapes kept as written; adjacent strings are joined
 *   squote '…' without the quotes
 *   delim  ( ) ,
 *   op     any other printable char; `->`, doubled `+ - | & < >`, and `<op>=` join up
 */
export type TokKind = 'item' | 'dquote' | 'squote' | 'delim' | 'op' | 'none';

export interface Token {
  kind: TokKind;
  text: string;
  /** Character offset in the source (for error messages). */
  pos: number;
}

const isItemChar = (c: string): boolean => /[A-Za-z0-9_]/.test(c);
const isSpace = (c: string): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
const isPrint = (c: string): boolean => c >= ' ' && c <= '~';

export class Lexer {
  private pos = 0;

  constructor(private readonly src: string) {}

  get offset(): number {
    return this.pos;
  }

  /** Next token, skipping white space; kind 'none' at the end or on a non-printable char. */
  next(): Token {
    const s = this.src;
    while (this.pos < s.length && isSpace(s[this.pos])) this.pos++;
    const start = this.pos;
    if (this.pos >= s.length) return {kind: 'none', text: '', pos: start};
    const c = s[this.pos++];
    if (isItemChar(c)) {
      while (this.pos < s.length && isItemChar(s[this.pos])) this.pos++;
      return {kind: 'item', text: s.slice(start, this.pos), pos: start};
    }
    if (c === '"' || c === "'") return this.quoted(c, start);
    if (!isPrint(c)) return {kind: 'none', text: c, pos: start};
    if (c === '(' || c === ')' || c === ',') return {kind: 'delim', text: c, pos: start};
    let text = c;
    const peek = s[this.pos];
    if (c === '-' && peek === '>') {
      this.pos++;
      return {kind: 'op', text: '->', pos: start};
    }
    if ('+-|&<>'.includes(c) && peek === c) {
      text += s[this.pos++];
      if (c === '<' || c === '>') {
        if (s[this.pos] === '=') text += s[this.pos++];
      }
      return {kind: 'op', text, pos: start};
    }
    if ('+-|&<>!='.includes(c) && peek === '=') text += s[this.pos++];
    return {kind: 'op', text, pos: start};
  }

  private quoted(q: string, start: number): Token {
    const s = this.src;
    let text = '';
    for (;;) {
      let last = '';
      let closed = false;
      while (this.pos < s.length) {
        const ch = s[this.pos++];
        if (ch === q && last !== '\\') {
          closed = true;
          break;
        }
        if (!isPrint(ch) && ch !== '\n' && last !== '\\') {
          // libtraceevent ends the token on a non-printable char and drops it.
          closed = true;
          break;
        }
        text += ch;
        last = ch === '\\' && last === '\\' ? '' : ch;
      }
      if (!closed) return {kind: 'none', text, pos: start};
      if (q !== '"') break;
      // Join "a" "b" into one string, as the C preprocessor would have.
      let p = this.pos;
      while (p < s.length && isSpace(s[p])) p++;
      if (s[p] !== '"') break;
      this.pos = p + 1;
    }
    return {kind: q === '"' ? 'dquote' : 'squote', text, pos: start};
  }
}
