/**
 * The placement expression language (docs/placement-expressions.md): requirements (a host passes
 * or is filtered out) and ranks (higher is better) over a host's facts.
 */
import type { Expr } from './ast.js';
import { checkExpression } from './check.js';
import { parseExpression } from './parser.js';

export type { Expr } from './ast.js';
export type { HostFacts } from '../policy.js';
export { ATTRIBUTE_NAMES } from './attributes.js';
export { MAX_DEPTH, MAX_LENGTH, MAX_NODES } from './limits.js';
export { parseExpression } from './parser.js';
export { printExpression } from './print.js';
export { checkExpression, typeOf } from './check.js';
export { evaluate, evaluateRank, evaluateRequirement } from './evaluate.js';
export { conjuncts, explainRequirement, type RequirementVerdict } from './explain.js';
export { allOf, fromLabelRequirements } from './from-label-requirements.js';

/** A boolean expression, parsed and type-checked; ValidationError (400, details.position) otherwise. */
export function parseRequirement(src: string, label = 'requirement'): Expr {
  const e = parseExpression(src, label);
  checkExpression(e, 'boolean', label, 'a requirement');
  return e;
}

/** A number expression, parsed and type-checked; ValidationError (400, details.position) otherwise. */
export function parseRank(src: string, label = 'rank'): Expr {
  const e = parseExpression(src, label);
  checkExpression(e, 'number', label, 'a rank');
  return e;
}
