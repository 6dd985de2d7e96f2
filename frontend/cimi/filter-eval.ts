/**
 * Evaluating a $filter against a representation object. Attributes are its top-level values,
 * property['k'] reads its properties map. Numbers compare numerically (a numeric string against a
 * number too), an unquoted date against a date-time string compares instants, other values compare as
 * strings. A missing attribute satisfies only '!=' (against a present value).
 */
import type { CompareOp, FilterExpr, Operand } from './filter-ast.js';

type Val = string | number | boolean | { date: number } | null;

function resolve(o: Operand, obj: Record<string, unknown>): Val {
  switch (o.kind) {
    case 'attr': {
      const v = obj[o.name];
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : null;
    }
    case 'prop': {
      const props = obj.properties as Record<string, unknown> | undefined;
      const v = props && typeof props === 'object' ? props[o.key] : undefined;
      return typeof v === 'string' ? v : null;
    }
    case 'int': case 'str': case 'bool': return o.value;
    case 'date': return { date: Date.parse(o.text) };
  }
}

function cmp<T extends number | string | boolean>(a: T, b: T, op: CompareOp): boolean {
  switch (op) {
    case '=': return a === b;
    case '!=': return a !== b;
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    case '>=': return a >= b;
  }
}

function toInstant(v: Val): number {
  if (v !== null && typeof v === 'object') return v.date;
  if (typeof v === 'string') return Date.parse(v);
  if (typeof v === 'number') return v;
  return NaN;
}

function compare(a: Val, b: Val, op: CompareOp): boolean {
  if (a === null || b === null) return op === '!=' ? a !== b : op === '=' ? a === b : false;
  if ((typeof a === 'object') || (typeof b === 'object')) {
    const x = toInstant(a);
    const y = toInstant(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return op === '!=';
    return cmp(x, y, op);
  }
  if (typeof a === 'number' && typeof b === 'number') return cmp(a, b, op);
  if (typeof a === 'boolean' && typeof b === 'boolean') return cmp(a, b, op);
  if ((typeof a === 'number' && typeof b === 'string' && /^-?\d+(\.\d+)?$/.test(b)) || (typeof b === 'number' && typeof a === 'string' && /^-?\d+(\.\d+)?$/.test(a))) {
    return cmp(Number(a), Number(b), op);
  }
  return cmp(String(a), String(b), op);
}

export function evalFilter(e: FilterExpr, obj: Record<string, unknown>): boolean {
  switch (e.kind) {
    case 'and': return evalFilter(e.left, obj) && evalFilter(e.right, obj);
    case 'or': return evalFilter(e.left, obj) || evalFilter(e.right, obj);
    case 'cmp': return compare(resolve(e.left, obj), resolve(e.right, obj), e.op);
  }
}
