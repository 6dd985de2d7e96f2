/**
 * The type checker, run before a policy is stored: every attribute known, every operator given
 * operands of the types it takes, and the whole of the type its use needs (a requirement: boolean,
 * a rank: number). Errors are ValidationErrors naming the column of the offending part.
 */
import type { Expr } from './ast.js';
import { ATTRIBUTE_NAMES, attributeType, type ValueType } from './attributes.js';
import { expressionError } from './expression-error.js';
import { printExpression } from './print.js';

/** Where the text of a part starts (a binary node's own pos is its operator's). */
export function startOf(e: Expr): number {
  if (e.kind === 'binary') return startOf(e.left);
  if (e.kind === 'in') return startOf(e.operand);
  return e.pos;
}

function article(t: ValueType): string { return `a ${t}`; }

function shown(e: Expr): string {
  const s = printExpression(e);
  return s.length > 40 ? s.slice(0, 40) + '...' : s;
}

export function typeOf(e: Expr, label: string): ValueType {
  const fail = (pos: number, msg: string): never => { throw expressionError(label, pos, msg); };
  const expect = (operand: Expr, want: ValueType, what: string): void => {
    const got = typeOf(operand, label);
    if (got !== want) fail(startOf(operand), `${what} needs ${article(want)}, but ${shown(operand)} is ${article(got)}`);
  };
  switch (e.kind) {
    case 'number': return 'number';
    case 'string': return 'string';
    case 'boolean': return 'boolean';
    case 'label': return 'string';
    case 'attribute': {
      const t = attributeType(e.name);
      if (t === null) {
        const hint = e.name.startsWith('label.') ? ` (did you mean labels.${e.name.slice('label.'.length)}?)` : '';
        fail(e.pos, `unknown attribute '${e.name}'${hint}; known: ${ATTRIBUTE_NAMES.join(', ')}, labels.<name>`);
      }
      return t!;
    }
    case 'not': expect(e.operand, 'boolean', "'!'"); return 'boolean';
    case 'negate': expect(e.operand, 'number', "'-'"); return 'number';
    case 'in': {
      const t = typeOf(e.operand, label);
      if (t === 'boolean') fail(startOf(e.operand), `'in' needs a number or a string on its left, but ${shown(e.operand)} is a boolean`);
      for (const v of e.values) if (v.kind !== t) fail(v.pos, `every value in the list must be ${article(t)} like ${shown(e.operand)}, but ${shown(v)} is ${article(v.kind)}`);
      return 'boolean';
    }
    case 'binary':
      switch (e.op) {
        case '&': case '|':
          expect(e.left, 'boolean', `'${e.op}'`); expect(e.right, 'boolean', `'${e.op}'`); return 'boolean';
        case '+': case '-': case '*': case '/':
        case '<': case '<=': case '>': case '>=':
          expect(e.left, 'number', `'${e.op}'`); expect(e.right, 'number', `'${e.op}'`);
          return e.op.startsWith('<') || e.op.startsWith('>') ? 'boolean' : 'number';
        case '^=':
          expect(e.left, 'string', "'^=' (starts with)"); expect(e.right, 'string', "'^=' (starts with)"); return 'boolean';
        case '=': case '!=': {
          const l = typeOf(e.left, label);
          const r = typeOf(e.right, label);
          if (l !== r) fail(e.pos, `'${e.op}' compares values of one type, but ${shown(e.left)} is ${article(l)} and ${shown(e.right)} is ${article(r)}`);
          return 'boolean';
        }
        case '??': {
          const l = typeOf(e.left, label);
          if (l === 'boolean') fail(startOf(e.left), `'??' (otherwise) needs a number or a string, but ${shown(e.left)} is a boolean`);
          expect(e.right, l, "'??' (otherwise)");
          return l;
        }
      }
  }
}

/** Throws unless the expression is well typed and of type `want` as a whole. */
export function checkExpression(e: Expr, want: ValueType, label: string, use: string): void {
  const t = typeOf(e, label);
  if (t !== want) throw expressionError(label, startOf(e), `${use} must be ${article(want)}, but ${shown(e)} is ${article(t)}`);
}
