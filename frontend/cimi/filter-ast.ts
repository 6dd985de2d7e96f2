/** The $filter expression tree, and its canonical printed form (which parses back to the same tree). */
export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export const COMPARE_OPS: readonly CompareOp[] = ['=', '!=', '<', '<=', '>', '>='];

export type Operand =
  | { kind: 'attr'; name: string }
  | { kind: 'prop'; key: string }
  | { kind: 'int'; value: number }
  | { kind: 'str'; value: string }
  | { kind: 'bool'; value: boolean }
  /** An unquoted ISO-8601 date or date-time, kept as written. */
  | { kind: 'date'; text: string };

export type FilterExpr =
  | { kind: 'cmp'; op: CompareOp; left: Operand; right: Operand }
  | { kind: 'and' | 'or'; left: FilterExpr; right: FilterExpr };

export const FILTER_KEYWORDS = ['and', 'or', 'true', 'false'];

function quote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function printOperand(o: Operand): string {
  switch (o.kind) {
    case 'attr': return o.name;
    case 'prop': return `property[${quote(o.key)}]`;
    case 'int': return String(o.value);
    case 'str': return quote(o.value);
    case 'bool': return o.value ? 'true' : 'false';
    case 'date': return o.text;
  }
}

export function printFilter(e: FilterExpr): string {
  if (e.kind === 'cmp') return `${printOperand(e.left)} ${e.op} ${printOperand(e.right)}`;
  return `(${printFilter(e.left)}) ${e.kind} (${printFilter(e.right)})`;
}
