/**
 * Recursive-descent parser for placement expressions (grammar: docs/placement-expressions.md).
 * Only parentheses and prefix operators recurse without consuming a loop; both count against
 * MAX_DEPTH, and every node counts against MAX_NODES, so no input can overflow the stack.
 * Parsing checks syntax only; types and attribute names are check.ts's.
 */
import type { BinaryOp, Expr, NumberLiteral, StringLiteral } from './ast.js';
import { isComparisonOp } from './ast.js';
import { expressionError } from './expression-error.js';
import { tokenize, type Token } from './lexer.js';
import { MAX_DEPTH, MAX_LENGTH, MAX_NODES } from './limits.js';

/** Words with a meaning of their own; anything else that looks like a name is an attribute. */
const WORD_OPERATORS: Record<string, string> = { and: '&', or: '|', not: '!' };

function describe(t: Token): string {
  switch (t.kind) {
    case 'end': return 'end of input';
    case 'number': return `the number ${t.text}`;
    case 'string': return `the string ${t.text.length > 30 ? t.text.slice(0, 30) + '..."' : t.text}`;
    case 'name': return `'${t.text}'`;
    case 'operator': return `'${t.text}'`;
  }
}

class Parser {
  private at = 0;
  private depth = 0;
  private nodes = 0;
  constructor(private readonly tokens: Token[], private readonly label: string) {}

  private get tok(): Token { return this.tokens[this.at]; }
  private fail(pos: number, msg: string): never { throw expressionError(this.label, pos, msg); }

  /** The token as an operator: symbols as they are, and/or/not as &, |, !. */
  private opOf(t: Token): string | null {
    if (t.kind === 'operator') return t.text;
    if (t.kind === 'name' && Object.prototype.hasOwnProperty.call(WORD_OPERATORS, t.text)) return WORD_OPERATORS[t.text];
    return null;
  }
  private isWord(t: Token, w: string): boolean { return t.kind === 'name' && t.text === w; }
  private next(): Token { return this.tokens[this.at++]; }

  private node<E extends Expr>(e: E): E {
    if (++this.nodes > MAX_NODES) this.fail(e.pos, `the expression has more than ${MAX_NODES} parts (operators, values and names); split it or simplify it`);
    return e;
  }
  private enter(pos: number): void {
    if (++this.depth > MAX_DEPTH) this.fail(pos, `the expression nests more than ${MAX_DEPTH} deep (parentheses and prefix operators)`);
  }
  private leave(): void { this.depth--; }

  parse(): Expr {
    const e = this.or();
    const t = this.tok;
    if (t.kind !== 'end') {
      this.fail(t.pos, t.kind === 'operator' && t.text === ')' ? "unexpected ')': no '(' is open" : `expected an operator or end of input, found ${describe(t)}`);
    }
    return e;
  }

  private binaryLoop(ops: readonly string[], operand: () => Expr): Expr {
    let left = operand();
    for (let op = this.opOf(this.tok); op !== null && ops.includes(op); op = this.opOf(this.tok)) {
      const t = this.next();
      const right = operand();
      left = this.node({ kind: 'binary', op: op as BinaryOp, left, right, pos: t.pos });
    }
    return left;
  }

  private or(): Expr { return this.binaryLoop(['|'], () => this.and()); }
  private and(): Expr { return this.binaryLoop(['&'], () => this.not()); }

  private not(): Expr {
    if (this.opOf(this.tok) !== '!') return this.comparison();
    const t = this.next();
    this.enter(t.pos);
    const operand = this.not();
    this.leave();
    return this.node({ kind: 'not', operand, pos: t.pos });
  }

  private comparison(): Expr {
    const left = this.coalesce();
    const t = this.tok;
    let e: Expr;
    if (this.isWord(t, 'in')) {
      this.next();
      e = this.node({ kind: 'in', operand: left, values: this.list(t), pos: t.pos });
    } else if (t.kind === 'operator' && isComparisonOp(t.text)) {
      this.next();
      const right = this.coalesce();
      e = this.node({ kind: 'binary', op: t.text, left, right, pos: t.pos });
    } else {
      return left;
    }
    const after = this.tok;
    if ((after.kind === 'operator' && isComparisonOp(after.text)) || this.isWord(after, 'in')) {
      this.fail(after.pos, `comparisons do not chain: put parentheses around one, or join them with '&'`);
    }
    return e;
  }

  /** `( literal {, literal} )` after `in`. */
  private list(inTok: Token): (NumberLiteral | StringLiteral)[] {
    const open = this.tok;
    if (open.kind !== 'operator' || open.text !== '(') this.fail(open.pos, `expected '(' and a list of values after 'in', found ${describe(open)}`);
    this.next();
    const values: (NumberLiteral | StringLiteral)[] = [];
    for (;;) {
      const t = this.tok;
      if (t.kind === 'number') values.push(this.node({ kind: 'number', value: t.value as number, pos: t.pos }));
      else if (t.kind === 'string') values.push(this.node({ kind: 'string', value: t.value as string, pos: t.pos }));
      else this.fail(t.pos, `expected a number or a string in the list after 'in' (column ${inTok.pos}), found ${describe(t)}`);
      this.next();
      const sep = this.tok;
      if (sep.kind === 'operator' && sep.text === ',') { this.next(); continue; }
      if (sep.kind === 'operator' && sep.text === ')') { this.next(); return values; }
      this.fail(sep.pos, `expected ',' or ')' in the list after 'in' (column ${inTok.pos}), found ${describe(sep)}`);
    }
  }

  private coalesce(): Expr { return this.binaryLoop(['??'], () => this.additive()); }
  private additive(): Expr { return this.binaryLoop(['+', '-'], () => this.multiplicative()); }
  private multiplicative(): Expr { return this.binaryLoop(['*', '/'], () => this.unary()); }

  private unary(): Expr {
    const t = this.tok;
    if (t.kind !== 'operator' || t.text !== '-') return this.primary();
    this.next();
    this.enter(t.pos);
    const operand = this.unary();
    this.leave();
    return this.node({ kind: 'negate', operand, pos: t.pos });
  }

  private primary(): Expr {
    const t = this.tok;
    const prev = this.at > 0 ? this.tokens[this.at - 1] : null;
    switch (t.kind) {
      case 'number': this.next(); return this.node({ kind: 'number', value: t.value as number, pos: t.pos });
      case 'string': this.next(); return this.node({ kind: 'string', value: t.value as string, pos: t.pos });
      case 'name': {
        if (t.text === 'true' || t.text === 'false') { this.next(); return this.node({ kind: 'boolean', value: t.text === 'true', pos: t.pos }); }
        if (Object.prototype.hasOwnProperty.call(WORD_OPERATORS, t.text) || t.text === 'in') break;
        this.next();
        if (t.text === 'labels') return this.bracketLabel(t);
        if (t.text.startsWith('labels.')) return this.node({ kind: 'label', key: t.text.slice('labels.'.length), pos: t.pos });
        return this.node({ kind: 'attribute', name: t.text, pos: t.pos });
      }
      case 'operator':
        if (t.text === '(') {
          this.next();
          this.enter(t.pos);
          const e = this.or();
          this.leave();
          const close = this.tok;
          if (close.kind !== 'operator' || close.text !== ')') this.fail(close.pos, `expected ')' to close the '(' at column ${t.pos}, found ${describe(close)}`);
          this.next();
          return e;
        }
        break;
      case 'end': break;
    }
    this.fail(t.pos, prev ? `expected a value after '${prev.text.length > 30 ? prev.text.slice(0, 30) + '...' : prev.text}', found ${describe(t)}` : `expected a value, found ${describe(t)}`);
  }

  /** `labels["key"]`, for keys that are not plain names (with '-', '/', ...). */
  private bracketLabel(name: Token): Expr {
    const open = this.tok;
    if (open.kind !== 'operator' || open.text !== '[') this.fail(open.pos, `expected '.name' or '["name"]' after 'labels', found ${describe(open)}`);
    this.next();
    const key = this.tok;
    if (key.kind !== 'string') this.fail(key.pos, `expected a label name in double quotes after 'labels[', found ${describe(key)}`);
    if (key.value === '') this.fail(key.pos, 'a label name cannot be empty');
    this.next();
    const close = this.tok;
    if (close.kind !== 'operator' || close.text !== ']') this.fail(close.pos, `expected ']' after the label name, found ${describe(close)}`);
    this.next();
    return this.node({ kind: 'label', key: key.value as string, pos: name.pos });
  }
}

/**
 * The syntax tree of an expression, without checking types (parseRequirement and parseRank do
 * both). Throws a ValidationError naming `label` and the column for any syntax error or limit.
 */
export function parseExpression(src: string, label: string): Expr {
  if (src.length > MAX_LENGTH) throw expressionError(label, MAX_LENGTH + 1, `the expression is longer than ${MAX_LENGTH} characters (${src.length})`);
  return new Parser(tokenize(src, label), label).parse();
}
