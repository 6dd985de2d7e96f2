import { ValidationError } from '../../errors/registry.js';

/**
 * The one shape of every parse and type error: a 400 whose message names the expression and the
 * 1-based column, e.g. "requirement: at column 17: expected a value after '>=', found end of input".
 */
export function expressionError(label: string, position: number, message: string): ValidationError {
  return new ValidationError(`${label}: at column ${position}: ${message}`, { field: label, position });
}
