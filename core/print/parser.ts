/**
 * Parser for the arguments of a `print fmt`, producing the same trees libtraceevent 1.7 builds
 * (event-parse.c process_arg / process_op / process_paren …), quirks included, because the
 * text trace-cmd prints follows those trees, not C semantics:
 *
 * - Operators associate to the right at equal priority: `a - b - c` is `a - (b - c)`.
 * - A parenthesised right operand with a looser operator is rotated: `a * (b + c)` becomes
 *   `(a * b) + c`, and `a * -b` becomes `(a * 0) - b`.
 * - `(x)` followed by an item, string or `(` is a cast of the next primary only.
 * - Array indexes and the value of `?:`'s else branch are single primaries.
 * - `__get_dynamic_array(x)[i]` and unknown helper functions fail the whole event.
 *
 * A failed parse throws `DecodeError('bad-print-fmt')`; the renderer then prints the event the
 * way libtraceevent prints a failed event ("[FAILED TO PARSE]" and its fields).
 */
import {DecodeError} from '../errors.ts';
import type {EventFormat, FieldDef} from '../format/event-format.ts';
import {Lexer, type Token} from './lexer.ts';
import {binaryOp} from './binary-ops.ts';

/** Node kinds; `code` below is libtraceevent's enum tep_print_arg_type value. */
export type ArgKind =
  | 'null'
  | 'atom'
  | 'field'
  | 'flags'
  | 'symbol'
  | 'hex'
  | 'intarray'
  | 'type'
  | 'string'
  | 'bstring'
  | 'dynarray'
  | 'op'
  | 'func'
  | 'bitmask'
  | 'dynarraylen'
  | 'hexstr'
  | 'cpumask';

export const ARG_KIND_CODE: Record<ArgKind, number> = {
  null: 0,
  atom: 1,
  field: 2,
  flags: 3,
  symbol: 4,
  hex: 5,
  intarray: 6,
  type: 7,
  string: 8,
  bstring: 9,
  dynarray: 10,
  op: 11,
  func: 12,
  bitmask: 13,
  dynarraylen: 14,
  hexstr: 15,
  cpumask: 16,
};

export interface FlagSym {
  /** Value as libtraceevent keeps it (an atom's text or a folded number). */
  value: string;
  str: string;
  /** eval_flag's number for `value`, filled on first use (see evaluate.ts flagValue). */
  num?: bigint;
}

/** One node. Fields are reused across kinds, see the comments; nodes are mutable while parsing. */
export class Arg {
  kind: ArgKind = 'null';
  /** atom/bstring: text; field/string/bitmask/cpumask/dynarray*: field name; op: operator;
   *  type: the cast's type; flags: delimiter. */
  text = '';
  field: FieldDef | undefined = undefined;
  /** op: left; type: item; flags/symbol: value; hex/intarray: data. */
  left: Arg | undefined = undefined;
  /** op: right; hex: size; intarray: count. */
  right: Arg | undefined = undefined;
  /** intarray: element size. */
  third: Arg | undefined = undefined;
  prio = 0;
  syms: FlagSym[] = [];
  hasDelim = false;
  /** An atom's number-context value, cached for the registry generation `cachedGen`. */
  cachedNum = 0n;
  cachedGen = -1;

  assign(o: Arg): void {
    this.kind = o.kind;
    this.text = o.text;
    this.field = o.field;
    this.left = o.left;
    this.right = o.right;
    this.third = o.third;
    this.prio = o.prio;
    this.syms = o.syms;
    this.hasDelim = o.hasDelim;
    this.cachedGen = -1;
  }

  clone(): Arg {
    const a = new Arg();
    a.assign(this);
    return a;
  }
}

const MAX_DEPTH = 400;

const BINARY_OPS = new Set([
  '>>',
  '<<',
  '&',
  '|',
  '&&',
  '||',
  '-',
  '+',
  '*',
  '^',
  '/',
  '%',
  '<',
  '>',
  '<=',
  '>=',
  '==',
  '!=',
]);

/** libtraceevent's get_op_prio (smaller binds tighter); -1 for unknown. */
export function opPriority(op: string): number {
  switch (op) {
    case '~':
    case '!':
      return 4;
    case '*':
    case '/':
    case '%':
      return 6;
    case '+':
    case '-':
      return 7;
    case '<<':
    case '>>':
      return 8;
    case '<':
    case '>':
    case '<=':
    case '>=':
      return 9;
    case '==':
    case '!=':
      return 10;
    case '&':
      return 11;
    case '^':
      return 12;
    case '|':
      return 13;
    case '&&':
      return 14;
    case '||':
      return 15;
    case '?':
      return 16;
    case '++':
    case '--':
      return 3;
    default:
      return -1;
  }
}

export interface ParsedPrintFmt {
  /** The format string (escapes still as written). */
  format: string;
  args: Arg[];
}

export class PrintFmtParser {
  private readonly lex: Lexer;

  constructor(
    src: string,
    private readonly event: EventFormat,
    private readonly longSize: number,
  ) {
    this.lex = new Lexer(src);
  }

  private fail(detail: string, at?: Token): never {
    const ev = `${this.event.system}:${this.event.name}`;
    throw new DecodeError(
      'bad-print-fmt',
      `${detail} in print fmt of ${ev}`,
      at?.pos ?? this.lex.offset,
      `${ev} print fmt`,
    );
  }

  private expect(t: Token, kind: Token['kind'], text?: string): void {
    if (t.kind !== kind || (text !== undefined && t.text !== text)) {
      this.fail(`expected ${text ?? kind}, got '${t.text}'`, t);
    }
  }

  private anyField(name: string): FieldDef | undefined {
    return this.event.fieldByName.get(name);
  }

  /** tep_find_field: event fields only. */
  private eventField(name: string): FieldDef | undefined {
    return this.event.fields.find((f) => f.name === name);
  }

  parse(): ParsedPrintFmt {
    const first = this.lex.next();
    this.expect(first, 'dquote');
    const args: Arg[] = [];
    let t = this.lex.next();
    if (t.kind === 'none') return {format: first.text, args};
    this.expect(t, 'delim', ',');
    for (;;) {
      const a = new Arg();
      t = this.parseArg(a);
      args.push(a);
      if (t.kind === 'op') {
        // libtraceevent goes on to the next argument after an operator expression whatever
        // token ended it (normally ','), and stops only at the end of the input.
        if (this.processOp(a, t).kind === 'none') break;
        continue;
      }
      if (t.kind === 'delim' && t.text === ',') continue;
      break;
    }
    return {format: first.text, args};
  }

  private depth = 0;

  private parseArg(a: Arg): Token {
    return this.argToken(a, this.lex.next());
  }

  /** Real formats nest a few dozen levels; hostile input must not exhaust the stack. */
  private enter(at: Token): void {
    if (++this.depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`, at);
  }

  private argToken(a: Arg, t: Token): Token {
    this.enter(t);
    try {
      return this.argTokenInner(a, t);
    } finally {
      this.depth--;
    }
  }

  private argTokenInner(a: Arg, t: Token): Token {
    switch (t.kind) {
      case 'item': {
        if (t.text === 'REC') return this.entry(a);
        let atom = t.text;
        let n = this.lex.next();
        if (n.kind === 'delim' && n.text === '(') return this.func(a, atom, t);
        while (n.kind === 'item') {
          atom += ` ${n.text}`;
          n = this.lex.next();
        }
        a.kind = 'atom';
        a.text = atom;
        return n;
      }
      case 'dquote':
      case 'squote':
        a.kind = 'atom';
        a.text = t.text;
        return this.lex.next();
      case 'delim':
      case 'op':
        if (t.kind === 'delim' && t.text === '(') return this.paren(a);
        // A leading operator is unary; ')' and ',' get here too and fail as bad operators,
        // as in libtraceevent.
        a.kind = 'op';
        a.text = t.text;
        a.left = undefined;
        return this.processOp(a, t);
      default:
        return this.fail(`unexpected '${t.text}'`, t);
    }
  }

  private entry(a: Arg): Token {
    const arrow = this.lex.next();
    // `(REC)->field`: hand the ')' back to paren(), which resumes here.
    if (arrow.kind === 'delim' && arrow.text === ')')
      return {kind: 'item', text: ')', pos: arrow.pos};
    this.expect(arrow, 'op', '->');
    const name = this.lex.next();
    this.expect(name, 'item');
    a.kind = 'field';
    a.text = name.text;
    a.field = this.anyField(name.text);
    return this.lex.next();
  }

  private processOp(a: Arg, t: Token): Token {
    this.enter(t);
    try {
      return this.processOpInner(a, t);
    } finally {
      this.depth--;
    }
  }

  private processOpInner(a: Arg, t: Token): Token {
    let right: Arg | undefined;
    let n: Token;
    if (a.kind === 'op' && a.left === undefined) {
      if (!'~!+-'.includes(t.text[0]) || t.text.length !== 1)
        this.fail(`bad op token ${t.text}`, t);
      a.left = new Arg();
      right = new Arg();
      a.right = right;
      a.prio = 0;
      n = this.parseArg(right);
    } else if (t.text === '?') {
      const left = a.clone();
      a.kind = 'op';
      a.text = '?';
      a.left = left;
      a.right = undefined;
      a.prio = 0;
      n = this.cond(a);
    } else if (BINARY_OPS.has(t.text)) {
      const left = a.clone();
      a.kind = 'op';
      a.text = t.text;
      a.left = left;
      a.right = undefined;
      a.prio = opPriority(t.text);
      n = this.lex.next();
      if (t.text === '*' && n.kind === 'delim' && n.text === ')') {
        // `(type *)`: a pointer type, not a multiplication.
        if (left.kind !== 'atom') this.fail('bad pointer type', t);
        a.assign(left);
        a.text = `${left.text} *`;
        return n;
      }
      right = new Arg();
      n = this.argToken(right, n);
      if (right.kind === 'op' && opPriority(a.text) < opPriority(right.text)) {
        // libtraceevent's rotation: the right operand's operator becomes the root.
        a.right = right.left;
        const tmp = a.clone();
        a.assign(right);
        right.assign(tmp);
        a.left = right;
      } else {
        a.right = right;
      }
    } else if (t.text === '[') {
      const left = a.clone();
      a.kind = 'op';
      a.text = '[';
      a.left = left;
      a.prio = 0;
      const idx = new Arg();
      const close = this.parseArg(idx);
      this.expect(close, 'op', ']');
      a.right = idx;
      n = this.lex.next();
    } else {
      return this.fail(`unknown op '${t.text}'`, t);
    }
    if (n.kind === 'op' && n.text !== ':') {
      const p = opPriority(n.text);
      if (p > a.prio) return this.processOp(a, n);
      if (!right) return this.fail(`unknown op '${n.text}'`, n);
      return this.processOp(right, n);
    }
    return n;
  }

  private cond(top: Arg): Token {
    const colon = new Arg();
    const left = new Arg();
    const right = new Arg();
    colon.kind = 'op';
    colon.left = left;
    colon.right = right;
    let t = this.parseArg(left);
    while (t.kind === 'op' && t.text !== ':') t = this.processOp(left, t);
    this.expect(t, 'op', ':');
    colon.text = ':';
    t = this.parseArg(right);
    top.right = colon;
    return t;
  }

  private paren(a: Arg): Token {
    let t = this.parseArg(a);
    if (t.kind === 'op') t = this.processOp(a, t);
    if (t.kind === 'item' && t.text === ')') return this.entry(a);
    this.expect(t, 'delim', ')');
    t = this.lex.next();
    if (
      t.kind === 'item' ||
      t.kind === 'dquote' ||
      t.kind === 'squote' ||
      (t.kind === 'delim' && t.text === '(')
    ) {
      if (a.kind !== 'atom') this.fail('cast of a non-type', t);
      const item = new Arg();
      a.kind = 'type';
      // a.text already holds the type name
      a.left = item;
      return this.argToken(item, t);
    }
    return t;
  }

  /** An argument followed by more operators, up to `delim`. */
  private delimited(delim: string): Arg {
    const a = new Arg();
    let t = this.parseArg(a);
    while (t.kind === 'op') t = this.processOp(a, t);
    this.expect(t, 'delim', delim);
    return a;
  }

  private fieldName(): Token {
    const t = this.lex.next();
    this.expect(t, 'item');
    const close = this.lex.next();
    this.expect(close, 'delim', ')');
    return t;
  }

  private func(a: Arg, name: string, at: Token): Token {
    switch (name) {
      case '__print_flags':
      case '__print_symbolic': {
        const isFlags = name === '__print_flags';
        const value = new Arg();
        let t = this.parseArg(value);
        if (t.kind === 'op') t = this.processOp(value, t);
        if (isFlags) while (t.kind === 'op') t = this.processOp(value, t);
        this.expect(t, 'delim', ',');
        a.kind = isFlags ? 'flags' : 'symbol';
        a.left = value;
        a.text = '';
        a.hasDelim = false;
        if (isFlags) {
          t = this.lex.next();
          if (t.kind === 'item' || t.kind === 'dquote' || t.kind === 'squote') {
            a.text = t.text;
            a.hasDelim = true;
            t = this.lex.next();
          }
          this.expect(t, 'delim', ',');
        }
        a.syms = [];
        t = this.symList(a.syms);
        this.expect(t, 'delim', ')');
        return this.lex.next();
      }
      case '__print_hex':
      case '__print_hex_str':
        a.kind = name === '__print_hex' ? 'hex' : 'hexstr';
        a.left = this.delimited(',');
        a.right = this.delimited(')');
        return this.lex.next();
      case '__print_array':
        a.kind = 'intarray';
        a.left = this.delimited(',');
        a.right = this.delimited(',');
        a.third = this.delimited(')');
        return this.lex.next();
      case '__get_str':
      case '__get_rel_str':
      case '__get_bitmask':
      case '__get_rel_bitmask':
      case '__get_cpumask':
      case '__get_rel_cpumask':
      case '__get_dynamic_array_len':
      case '__get_rel_dynamic_array_len': {
        const f = this.fieldName();
        a.kind = name.includes('str')
          ? 'string'
          : name.includes('bitmask')
            ? 'bitmask'
            : name.includes('cpumask')
              ? 'cpumask'
              : 'dynarraylen';
        a.text = f.text;
        a.field = a.kind === 'dynarraylen' ? this.eventField(f.text) : this.anyField(f.text);
        if (a.kind === 'dynarraylen' && !a.field) this.fail(`no field ${f.text}`, f);
        return this.lex.next();
      }
      case '__get_dynamic_array':
      case '__get_rel_dynamic_array':
      case '__get_sockaddr':
      case '__get_sockaddr_rel': {
        const f = this.fieldName();
        a.kind = 'dynarray';
        a.text = f.text;
        a.field = this.eventField(f.text);
        if (!a.field) this.fail(`no field ${f.text}`, f);
        const t = this.lex.next();
        if (t.kind === 'op' && t.text === '[') this.fail('indexing a dynamic array', t);
        return t;
      }
      case '__builtin_expect': {
        const inner = this.delimited(',');
        this.delimited(')');
        a.assign(inner);
        return this.lex.next();
      }
      case 'sizeof':
        return this.sizeOf(a);
      default:
        return this.fail(`function ${name} not defined`, at);
    }
  }

  private symList(out: FlagSym[]): Token {
    let t: Token;
    do {
      t = this.lex.next();
      this.expect(t, 'op', '{');
      const v = new Arg();
      t = this.parseArg(v);
      if (t.kind === 'op') t = this.processOp(v, t);
      this.expect(t, 'delim', ',');
      const value = foldToText(v);
      if (value === undefined) this.fail('flag value is not a constant', t);
      const s = new Arg();
      t = this.parseArg(s);
      this.expect(t, 'op', '}');
      const str = foldToText(s);
      if (str === undefined) this.fail('flag name is not a constant', t);
      out.push({value, str, num: undefined});
      t = this.lex.next();
    } while (t.kind === 'delim' && t.text === ',');
    return t;
  }

  private sizeOf(a: Arg): Token {
    a.kind = 'atom';
    let t = this.lex.next();
    let done = false;
    if (t.text === 'unsigned') {
      t = this.lex.next();
      if (t.kind !== 'item') done = true;
    }
    if (done || t.text === 'int') {
      a.text = '4';
    } else if (t.text === 'long') {
      t = this.lex.next();
      if (t.text === 'long') {
        a.text = '8';
      } else {
        a.text = String(this.longSize);
        done = true;
      }
    } else if (t.text === 'REC') {
      this.expect(this.lex.next(), 'op', '->');
      const name = this.lex.next();
      this.expect(name, 'item');
      const f = this.anyField(name.text);
      if (!f || f.arrayLen >= 0) this.fail(`sizeof of ${name.text}`, name);
      a.text = String(f.size);
    } else {
      this.fail(`sizeof(${t.text})`, t);
    }
    if (!done) t = this.lex.next();
    this.expect(t, 'delim', ')');
    return this.lex.next();
  }
}

/** libtraceevent arg_eval: an atom's own text, or a constant expression folded to decimal. */
function foldToText(a: Arg): string | undefined {
  if (a.kind === 'atom') return a.text;
  if (a.kind !== 'type' && a.kind !== 'op') return undefined;
  const v = foldSigned(a);
  return v === undefined ? undefined : v.toString();
}

function strtoll(text: string): bigint {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(text);
  if (!m) return 0n;
  let v = BigInt(
    m[2].length > 1 && m[2][0] === '0' && !/[xX]/.test(m[2]) ? `0o${m[2].slice(1)}` : m[2],
  );
  if (m[1] === '-') v = -v;
  return BigInt.asIntN(64, v);
}

/** arg_num_eval: signed 64-bit constant folding; undefined where libtraceevent gives up. */
function foldSigned(a: Arg): bigint | undefined {
  const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);
  switch (a.kind) {
    case 'atom':
      return strtoll(a.text);
    case 'type': {
      const v = a.left ? foldSigned(a.left) : undefined;
      return v === undefined ? undefined : s64(castValue(BigInt.asUintN(64, v), a.text, false));
    }
    case 'op': {
      const op = a.text;
      const r = a.right ? foldSigned(a.right) : undefined;
      if (r === undefined) return undefined;
      if (op === '~') return s64(~r);
      const unary = !a.left || a.left.kind === 'null';
      if (unary && (op === '-' || op === '+')) return s64(op === '-' ? -r : r);
      const l = a.left ? foldSigned(a.left) : undefined;
      if (l === undefined) return undefined;
      return binaryOp(op, l, r, s64);
    }
    default:
      return undefined;
  }
}

/** libtraceevent eval_type_str: what a cast does to a value (only masks, never sign-extends). */
export function castValue(val: bigint, type: string, pointer: boolean): bigint {
  if (type.length < 2) return val;
  if (pointer) {
    if (!type.endsWith('*')) return val;
    return castValue(val, type.slice(0, -2), false);
  }
  if (type.endsWith('*')) return val;
  if (type.startsWith('struct')) return val;
  switch (type) {
    case 'u8':
    case 's8':
      return val & 0xffn;
    case 'u16':
    case 's16':
      return val & 0xffffn;
    case 'u32':
    case 's32':
      return val & 0xffffffffn;
    case 'u64':
    case 's64':
      return val;
  }
  const t = type.startsWith('unsigned ') ? type.slice(9) : type;
  if (t === 'char') return val & 0xffn;
  if (t === 'short') return val & 0xffffn;
  if (t === 'int') return val & 0xffffffffn;
  return val;
}

export {strtoll};
