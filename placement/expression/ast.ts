/**
 * The syntax tree of a placement expression (docs/placement-expressions.md). Every node carries
 * `pos`, the 1-based column where it starts in the source (for a binary operator: the column of the
 * operator); 0 marks a node built by code rather than parsed (fromLabelRequirements).
 */
export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | '^=';
export type ArithmeticOp = '+' | '-' | '*' | '/';
export type LogicalOp = '&' | '|';
export type BinaryOp = LogicalOp | ComparisonOp | ArithmeticOp | '??';

export interface NumberLiteral { kind: 'number'; value: number; pos: number }
export interface StringLiteral { kind: 'string'; value: string; pos: number }
export interface BooleanLiteral { kind: 'boolean'; value: boolean; pos: number }
/** A fixed host attribute: `arch`, `free.cpu`, `load.memory`, ... (attributes.ts). */
export interface Attribute { kind: 'attribute'; name: string; pos: number }
/** `labels.<key>` or `labels["<key>"]`: one host label. */
export interface Label { kind: 'label'; key: string; pos: number }
export interface Not { kind: 'not'; operand: Expr; pos: number }
export interface Negate { kind: 'negate'; operand: Expr; pos: number }
export interface Binary { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; pos: number }
/** `operand in ("a", "b")`: membership in a list of literals of one type. */
export interface In { kind: 'in'; operand: Expr; values: (NumberLiteral | StringLiteral)[]; pos: number }

export type Expr = NumberLiteral | StringLiteral | BooleanLiteral | Attribute | Label | Not | Negate | Binary | In;

export const COMPARISON_OPS: readonly ComparisonOp[] = ['=', '!=', '<', '<=', '>', '>=', '^='];

export function isComparisonOp(op: string): op is ComparisonOp {
  return (COMPARISON_OPS as readonly string[]).includes(op);
}
