/**
 * The canonical text of an expression: symbols (& | !) rather than words, single spaces around
 * binary operators, parentheses only where precedence needs them (and around a comparison under
 * '!'), labels as `labels.key` when the key is a plain name, else `labels["key"]`.
 * parseExpression(printExpression(e)) is e again, positions aside.
 */
import type { Expr } from './ast.js';

/** Binding strength, loosest first (docs/placement-expressions.md, "Precedence"). */
const LEVEL = { or: 1, and: 2, not: 3, comparison: 4, coalesce: 5, additive: 6, multiplicative: 7, negate: 8, primary: 9 } as const;

function level(e: Expr): number {
  switch (e.kind) {
    case 'not': return LEVEL.not;
    case 'negate': return LEVEL.negate;
    case 'in': return LEVEL.comparison;
    case 'binary':
      switch (e.op) {
        case '|': return LEVEL.or;
        case '&': return LEVEL.and;
        case '+': case '-': return LEVEL.additive;
        case '*': case '/': return LEVEL.multiplicative;
        case '??': return LEVEL.coalesce;
        default: return LEVEL.comparison;
      }
    default: return LEVEL.primary;
  }
}

export function printString(s: string): string {
  let out = '"';
  for (const c of s) out += c === '"' || c === '\\' ? '\\' + c : c;
  return out + '"';
}

const isNameChar = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_';

/** A key the lexer reads back whole after `labels.`: name characters in dot-separated, non-empty parts. */
function plainKey(key: string): boolean {
  return key.split('.').every((part) => part.length > 0 && [...part].every(isNameChar));
}

function wrap(e: Expr, parens: boolean): string {
  return parens ? `(${printExpression(e)})` : printExpression(e);
}

export function printExpression(e: Expr): string {
  switch (e.kind) {
    case 'number': return String(e.value);
    case 'string': return printString(e.value);
    case 'boolean': return String(e.value);
    case 'attribute': return e.name;
    case 'label': return plainKey(e.key) ? `labels.${e.key}` : `labels[${printString(e.key)}]`;
    case 'not': return `!${wrap(e.operand, level(e.operand) <= LEVEL.comparison)}`;
    case 'negate': return `-${wrap(e.operand, level(e.operand) <= LEVEL.negate)}`;
    case 'in': return `${wrap(e.operand, level(e.operand) <= LEVEL.comparison)} in (${e.values.map(printExpression).join(', ')})`;
    case 'binary': {
      const p = level(e);
      // Left-associative: a left operand of the same level needs no parentheses, a right one does.
      // Comparisons do not chain, so any comparison operand of a comparison is parenthesized.
      const leftParens = p === LEVEL.comparison ? level(e.left) <= p : level(e.left) < p;
      return `${wrap(e.left, leftParens)} ${e.op} ${wrap(e.right, level(e.right) <= p)}`;
    }
  }
}
