/**
 * The CIMI $filter language: a tokeniser and a recursive-descent parser.
 *
 *   expr       := and-expr ( 'or' and-expr )*
 *   and-expr   := primary ( 'and' primary )*
 *   primary    := '(' expr ')' | operand op operand
 *   operand    := attribute | property '[' string ']' | integer | string | boolean | date
 *   op         := '=' | '!=' | '<' | '<=' | '>' | '>='
 *
 * Strings are 'single' or "double" quoted, the quote doubled inside; dates are unquoted ISO-8601
 * (2024-05-01 or 2024-05-01T10:00:00Z); keywords are case-insensitive. Every failure is a
 * BadQueryError whose message gives the 1-based character position where parsing stopped.
 */
import { BadQueryError } from '../../errors/registry.js';
import { FILTER_KEYWORDS, type CompareOp, type FilterExpr, type Operand } from './filter-ast.js';

export const MAX_FILTER_LENGTH = 4096;
const MAX_DEPTH = 64;

type Tok =
  | { t: 'lparen' | 'rparen' | 'lbracket' | 'rbracket' | 'eof'; pos: number }
  | { t: 'op'; op: CompareOp; pos: number }
  | { t: 'ident'; name: string; pos: number }
  | { t: 'int'; value: number; pos: number }
  | { t: 'str'; value: string; pos: number }
  | { t: 'date'; text: string; pos: number };

const DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;

function fail(what: string, pos: number, src: string, param: string): never {
  const found = pos >= src.length ? 'end of input' : `'${src.slice(pos, pos + 10)}'`;
  throw new BadQueryError(`${param}: ${what} at position ${pos + 1} (found ${found})`, { parameter: param, position: pos + 1 });
}

export function tokenise(src: string, param = '$filter'): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    const rest = src.slice(i);
    if (c === '(') { toks.push({ t: 'lparen', pos: i }); i++; continue; }
    if (c === ')') { toks.push({ t: 'rparen', pos: i }); i++; continue; }
    if (c === '[') { toks.push({ t: 'lbracket', pos: i }); i++; continue; }
    if (c === ']') { toks.push({ t: 'rbracket', pos: i }); i++; continue; }
    if (c === '!' ) {
      if (src[i + 1] !== '=') fail("expected '!='", i, src, param);
      toks.push({ t: 'op', op: '!=', pos: i }); i += 2; continue;
    }
    if (c === '<' || c === '>') {
      const op = (src[i + 1] === '=' ? `${c}=` : c) as CompareOp;
      toks.push({ t: 'op', op, pos: i }); i += op.length; continue;
    }
    if (c === '=') { toks.push({ t: 'op', op: '=', pos: i }); i++; continue; }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= src.length) fail('unterminated string', i, src, param);
        if (src[j] === c) {
          if (src[j + 1] === c) { value += c; j += 2; continue; }
          break;
        }
        value += src[j++];
      }
      toks.push({ t: 'str', value, pos: i });
      i = j + 1;
      continue;
    }
    if (c >= '0' && c <= '9') {
      const d = DATE.exec(rest);
      if (d) {
        if (Number.isNaN(Date.parse(d[0]))) fail('invalid date', i, src, param);
        toks.push({ t: 'date', text: d[0], pos: i }); i += d[0].length;
        if (i < src.length && /[A-Za-z0-9_:.]/.test(src[i])) fail('malformed date', i, src, param);
        continue;
      }
    }
    if ((c >= '0' && c <= '9') || (c === '-' && src[i + 1] >= '0' && src[i + 1] <= '9')) {
      const m = /^-?\d+/.exec(rest)!;
      const value = Number(m[0]);
      if (!Number.isSafeInteger(value)) fail('integer out of range', i, src, param);
      i += m[0].length;
      if (i < src.length && /[A-Za-z0-9_.]/.test(src[i])) fail('malformed number', i, src, param);
      toks.push({ t: 'int', value, pos: i - m[0].length });
      continue;
    }
    const id = IDENT.exec(rest);
    if (id) { toks.push({ t: 'ident', name: id[0], pos: i }); i += id[0].length; continue; }
    fail('unexpected character', i, src, param);
  }
  toks.push({ t: 'eof', pos: src.length });
  return toks;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[], private readonly src: string, private readonly param: string) {}

  private peek(): Tok { return this.toks[this.i]; }
  private next(): Tok { return this.toks[this.i++]; }
  private isKeyword(tok: Tok, kw: string): boolean { return tok.t === 'ident' && tok.name.toLowerCase() === kw; }
  private fail(what: string, tok: Tok = this.peek()): never { fail(what, tok.pos, this.src, this.param); }

  parse(): FilterExpr {
    const e = this.expr(0);
    if (this.peek().t !== 'eof') this.fail("expected 'and', 'or' or the end of the expression");
    return e;
  }

  private expr(depth: number): FilterExpr {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    let left = this.andExpr(depth);
    while (this.isKeyword(this.peek(), 'or')) { this.next(); left = { kind: 'or', left, right: this.andExpr(depth) }; }
    return left;
  }

  private andExpr(depth: number): FilterExpr {
    let left = this.primary(depth);
    while (this.isKeyword(this.peek(), 'and')) { this.next(); left = { kind: 'and', left, right: this.primary(depth) }; }
    return left;
  }

  private primary(depth: number): FilterExpr {
    if (this.peek().t === 'lparen') {
      this.next();
      const e = this.expr(depth + 1);
      if (this.peek().t !== 'rparen') this.fail("expected ')'");
      this.next();
      return e;
    }
    const left = this.operand();
    const opTok = this.peek();
    if (opTok.t !== 'op') this.fail('expected a comparison operator (= != < <= > >=)');
    this.next();
    const right = this.operand();
    return { kind: 'cmp', op: opTok.op, left, right };
  }

  private operand(): Operand {
    const tok = this.next();
    switch (tok.t) {
      case 'int': return { kind: 'int', value: tok.value };
      case 'str': return { kind: 'str', value: tok.value };
      case 'date': return { kind: 'date', text: tok.text };
      case 'ident': {
        const lower = tok.name.toLowerCase();
        if (lower === 'true' || lower === 'false') return { kind: 'bool', value: lower === 'true' };
        if (FILTER_KEYWORDS.includes(lower)) this.fail('expected an attribute or a value', tok);
        if (tok.name === 'property' && this.peek().t === 'lbracket') {
          this.next();
          const key = this.next();
          if (key.t !== 'str') this.fail('expected a quoted property key', key);
          if (this.peek().t !== 'rbracket') this.fail("expected ']'");
          this.next();
          return { kind: 'prop', key: key.value };
        }
        return { kind: 'attr', name: tok.name };
      }
      default: this.fail('expected an attribute or a value', tok);
    }
  }
}

export function parseFilter(src: string, param = '$filter'): FilterExpr {
  if (typeof src !== 'string') throw new BadQueryError(`${param} must be given once, as a string`);
  if (src.length > MAX_FILTER_LENGTH) throw new BadQueryError(`${param} is longer than ${MAX_FILTER_LENGTH} characters`);
  return new Parser(tokenise(src, param), src, param).parse();
}
