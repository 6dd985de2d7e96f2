/**
 * The language as the placement policy's ExpressionEngine (placement/policy.ts), ready to replace
 * the refusing stub in placement/expression-engine.ts. Each source is parsed once per compile.
 */
import type { ExpressionEngine } from '../policy.js';
import { evaluateRank, evaluateRequirement, parseRank, parseRequirement } from './index.js';

export const expressionLanguage: ExpressionEngine = {
  checkRequirement: (src, label) => { parseRequirement(src, label); },
  checkRank: (src, label) => { parseRank(src, label); },
  requirement(src) {
    const e = parseRequirement(src);
    return (facts) => evaluateRequirement(e, facts);
  },
  rank(src) {
    const e = parseRank(src);
    return (facts) => evaluateRank(e, facts);
  },
};
