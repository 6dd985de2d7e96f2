/**
 * A machine's `requirements` map (label -> value, all must match) as an expression, so machine
 * requirements and policy requirements are judged by one evaluator and explained alike.
 */
import type { Expr } from './ast.js';

/** `labels.k1 = "v1" & labels.k2 = "v2" ...` in the map's order; `true` for an empty map. Nodes have pos 0. */
export function fromLabelRequirements(requirements: Readonly<Record<string, string>>): Expr {
  const terms = Object.entries(requirements).map(([key, value]): Expr => ({
    kind: 'binary', op: '=', left: { kind: 'label', key, pos: 0 }, right: { kind: 'string', value, pos: 0 }, pos: 0,
  }));
  return allOf(terms);
}

/** The conjunction of the expressions, left to right; `true` for none. */
export function allOf(terms: readonly Expr[]): Expr {
  if (terms.length === 0) return { kind: 'boolean', value: true, pos: 0 };
  return terms.slice(1).reduce<Expr>((left, right) => ({ kind: 'binary', op: '&', left, right, pos: 0 }), terms[0]);
}
