/** What one expression may be, so a stored policy can never exhaust the stack or the placer's time. */
export const MAX_LENGTH = 4096;
/** Parentheses and prefix operators (`!`, `not`, unary `-`) nested inside one another. */
export const MAX_DEPTH = 32;
/** Nodes of the syntax tree, literals in `in` lists included. */
export const MAX_NODES = 256;
