/**
 * Evaluates a checked expression for one host (docs/placement-expressions.md, "Semantics").
 * Absent values (a missing label, missing load, division by zero, any non-finite result) flow
 * through arithmetic as absent, make every comparison false, and are replaced by `??`'s right side.
 * A requirement is therefore always true or false; a rank that comes out absent is 0.
 * Expressions must have passed check.ts: a wrongly typed tree gives unspecified (but safe) answers.
 */
import type { HostFacts } from '../policy.js';
import type { Expr } from './ast.js';
import { readAttribute, readLabel, type Value } from './attributes.js';

function num(v: Value): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function finite(n: number): number | undefined {
  return Number.isFinite(n) ? n : undefined;
}

function arithmetic(op: '+' | '-' | '*' | '/', l: number, r: number): number | undefined {
  switch (op) {
    case '+': return finite(l + r);
    case '-': return finite(l - r);
    case '*': return finite(l * r);
    case '/': return r === 0 ? undefined : finite(l / r);
  }
}

export function evaluate(e: Expr, f: HostFacts): Value {
  switch (e.kind) {
    case 'number': case 'string': case 'boolean': return e.value;
    case 'attribute': return readAttribute(e.name, f);
    case 'label': return readLabel(e.key, f);
    case 'not': return evaluate(e.operand, f) !== true;
    case 'negate': { const v = num(evaluate(e.operand, f)); return v === undefined ? undefined : finite(-v); }
    case 'in': {
      const v = evaluate(e.operand, f);
      return v !== undefined && e.values.some((x) => x.value === v);
    }
    case 'binary': {
      if (e.op === '&') return evaluate(e.left, f) === true && evaluate(e.right, f) === true;
      if (e.op === '|') return evaluate(e.left, f) === true || evaluate(e.right, f) === true;
      const l = evaluate(e.left, f);
      if (e.op === '??') return l !== undefined ? l : evaluate(e.right, f);
      const r = evaluate(e.right, f);
      if (l === undefined || r === undefined) return e.op === '+' || e.op === '-' || e.op === '*' || e.op === '/' ? undefined : false;
      switch (e.op) {
        case '=': return l === r;
        case '!=': return l !== r;
        case '<': return (l as number) < (r as number);
        case '<=': return (l as number) <= (r as number);
        case '>': return (l as number) > (r as number);
        case '>=': return (l as number) >= (r as number);
        case '^=': return typeof l === 'string' && typeof r === 'string' && l.startsWith(r);
        default: { const a = num(l); const b = num(r); return a === undefined || b === undefined ? undefined : arithmetic(e.op, a, b); }
      }
    }
  }
}

/** Whether the host passes (a requirement is never absent: comparisons with absent values are false). */
export function evaluateRequirement(e: Expr, facts: HostFacts): boolean {
  return evaluate(e, facts) === true;
}

/** The host's rank, higher is better; 0 when it cannot be computed (absent value, division by zero, overflow). */
export function evaluateRank(e: Expr, facts: HostFacts): number {
  const v = evaluate(e, facts);
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
