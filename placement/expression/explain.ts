/**
 * Which part of a requirement a host failed: the first failing conjunct of the top-level '&'
 * chain, printed canonically (for placement explain output).
 */
import type { HostFacts } from '../policy.js';
import type { Expr } from './ast.js';
import { evaluateRequirement } from './evaluate.js';
import { printExpression } from './print.js';

/** The operands of a chain of '&', left to right (`a & b & c` -> [a, b, c]); [e] for anything else. */
export function conjuncts(e: Expr): Expr[] {
  return e.kind === 'binary' && e.op === '&' ? [...conjuncts(e.left), ...conjuncts(e.right)] : [e];
}

export interface RequirementVerdict {
  pass: boolean;
  /** When the host fails: the first conjunct it fails, e.g. `free.cpu >= 4`. */
  failed?: string;
}

export function explainRequirement(e: Expr, facts: HostFacts): RequirementVerdict {
  const failed = conjuncts(e).find((c) => !evaluateRequirement(c, facts));
  return failed ? { pass: false, failed: printExpression(failed) } : { pass: true };
}
