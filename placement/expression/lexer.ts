/**
 * Turns an expression's source into tokens. Hand-written, one character at a time: no regular
 * expression is ever built from the source, and every error names the column where it starts.
 */
import { expressionError } from './expression-error.js';

export type TokenKind = 'number' | 'string' | 'name' | 'operator' | 'end';

export interface Token {
  kind: TokenKind;
  /** The source text of the token (for 'end': the empty string). */
  text: string;
  /** A number's value or a string's unescaped value. */
  value?: number | string;
  /** 1-based column of the token's first character (for 'end': length + 1). */
  pos: number;
}

/** Longest first, so '<=' is never read as '<' then '='. */
const OPERATORS = ['??', '!=', '<=', '>=', '^=', '=', '<', '>', '&', '|', '!', '+', '-', '*', '/', '(', ')', ',', '[', ']'];

/** Spellings from other languages, refused with the Skybus spelling. */
const MISSPELLED: Record<string, string> = { '==': '=', '&&': '&', '||': '|' };

const isDigit = (c: string) => c >= '0' && c <= '9';
const isLetter = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** Quote a character for an error message (control and odd characters by code). */
export function showChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f ? `U+${code.toString(16).toUpperCase().padStart(4, '0')}` : `'${c}'`;
}

export function tokenize(src: string, label: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (at: number, msg: string): never => { throw expressionError(label, at + 1, msg); };
  while (i < src.length) {
    const c = src[i];
    if (isSpace(c)) { i++; continue; }
    const start = i;
    if (isDigit(c)) {
      while (i < src.length && isDigit(src[i])) i++;
      if (src[i] === '.') {
        i++;
        if (!isDigit(src[i] ?? '')) fail(i, `expected a digit after the decimal point in '${src.slice(start, i)}'`);
        while (i < src.length && isDigit(src[i])) i++;
      }
      if (src[i] === 'e' || src[i] === 'E') {
        i++;
        if (src[i] === '+' || src[i] === '-') i++;
        if (!isDigit(src[i] ?? '')) fail(i, `expected the exponent's digits in '${src.slice(start, i)}'`);
        while (i < src.length && isDigit(src[i])) i++;
      }
      if (isLetter(src[i] ?? '')) fail(i, `unexpected ${showChar(src[i])} right after the number '${src.slice(start, i)}'`);
      const text = src.slice(start, i);
      const value = Number(text);
      if (!Number.isFinite(value)) fail(start, `the number '${text.length > 20 ? text.slice(0, 20) + '...' : text}' is too large`);
      tokens.push({ kind: 'number', text, value, pos: start + 1 });
      continue;
    }
    if (c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= src.length) fail(start, 'unterminated string: no closing \'"\'');
        const d = src[i];
        if (d === '"') { i++; break; }
        if (d === '\\') {
          const e = src[i + 1];
          if (e !== '"' && e !== '\\') fail(i, e === undefined ? 'unterminated string: no closing \'"\'' : `unknown escape '\\${e}' in a string (only \\" and \\\\)`);
          value += e;
          i += 2;
          continue;
        }
        value += d;
        i++;
      }
      tokens.push({ kind: 'string', text: src.slice(start, i), value, pos: start + 1 });
      continue;
    }
    if (isLetter(c)) {
      while (i < src.length && (isLetter(src[i]) || isDigit(src[i]))) i++;
      while (src[i] === '.') {
        i++;
        if (!(isLetter(src[i] ?? '') || isDigit(src[i] ?? ''))) fail(i, `expected a name after '.' in '${src.slice(start, i)}'`);
        while (i < src.length && (isLetter(src[i]) || isDigit(src[i]))) i++;
      }
      tokens.push({ kind: 'name', text: src.slice(start, i), pos: start + 1 });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (Object.prototype.hasOwnProperty.call(MISSPELLED, two)) fail(i, `'${two}' is not an operator: use '${MISSPELLED[two]}'`);
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op === undefined) fail(i, `unexpected character ${showChar(String.fromCodePoint(src.codePointAt(i)!))}`);
    tokens.push({ kind: 'operator', text: op!, pos: start + 1 });
    i += op!.length;
  }
  tokens.push({ kind: 'end', text: '', pos: src.length + 1 });
  return tokens;
}
