/**
 * The expression language behind policy requirements and ranks (docs/placement-expressions.md;
 * placement/expression), as the policy's ExpressionEngine.
 */
export { expressionLanguage as expressionEngine } from './expression/engine.js';
