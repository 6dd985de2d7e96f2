/**
 * The expression language behind policy requirements and ranks (docs/placement-expressions.md),
 * adapted to the policy's ExpressionEngine. Until the language lands, expressions are refused with a
 * clear 400 rather than silently ignored.
 */
import { ValidationError } from '../errors/registry.js';
import type { ExpressionEngine } from './policy.js';

const refuse = (label: string): never => { throw new ValidationError(`${label}: expressions are not supported by this version`, { field: label }); };

export const expressionEngine: ExpressionEngine = {
  checkRequirement: (_src, label) => refuse(label),
  checkRank: (_src, label) => refuse(label),
  requirement: () => () => true,
  rank: () => () => 0,
};
