import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ValidationError } from '../../../errors/registry.js';
import type { Expr } from '../../../placement/expression/ast.js';
import {
  ATTRIBUTE_NAMES, MAX_DEPTH, MAX_LENGTH, MAX_NODES, parseExpression, parseRank, parseRequirement, printExpression,
} from '../../../placement/expression/index.js';

const SEED = 20261202;

/** The tree without source positions (what parse ∘ print must preserve). */
function shape(e: Expr): unknown {
  return JSON.parse(JSON.stringify(e, (k, v) => (k === 'pos' ? undefined : v)));
}

const number = fc.double({ min: 0, max: 1e300, noNaN: true, noDefaultInfinity: true }).map((v) => Math.abs(v));
const text = fc.string({ unit: 'binary', maxLength: 6 });
const names = fc.constantFrom(...ATTRIBUTE_NAMES, 'foo', 'x.y_2.z', 'label.zone', 'trueish', 'in2');

const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', maxDepth: 5 },
    number.map((value): Expr => ({ kind: 'number', value, pos: 0 })),
    text.map((value): Expr => ({ kind: 'string', value, pos: 0 })),
    fc.boolean().map((value): Expr => ({ kind: 'boolean', value, pos: 0 })),
    names.map((name): Expr => ({ kind: 'attribute', name, pos: 0 })),
    fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }), fc.constantFrom('zone', 'a.b', 'rack-id', 'and', '1a', '__proto__'))
      .map((key): Expr => ({ kind: 'label', key, pos: 0 })),
    tie('e').map((operand): Expr => ({ kind: 'not', operand, pos: 0 })),
    tie('e').map((operand): Expr => ({ kind: 'negate', operand, pos: 0 })),
    fc.tuple(fc.constantFrom('|', '&', '=', '!=', '<', '<=', '>', '>=', '^=', '+', '-', '*', '/', '??'), tie('e'), tie('e'))
      .map(([op, left, right]): Expr => ({ kind: 'binary', op: op as never, left, right, pos: 0 })),
    fc.tuple(tie('e'), fc.array(fc.oneof(
      number.map((value) => ({ kind: 'number' as const, value, pos: 0 })),
      text.map((value) => ({ kind: 'string' as const, value, pos: 0 })),
    ), { minLength: 1, maxLength: 3 })).map(([operand, values]): Expr => ({ kind: 'in', operand, values, pos: 0 })),
  ),
})).e;

/** Either it parses, or it is a ValidationError at a column inside the input (or just past its end). */
function parsesOrRefuses(src: string, parse: (s: string) => unknown, label: string): void {
  try {
    parse(src);
  } catch (err) {
    assert.ok(err instanceof ValidationError, `not a ValidationError for ${JSON.stringify(src)}: ${String(err)}`);
    const position = err.details?.position;
    assert.equal(typeof position, 'number');
    assert.ok((position as number) >= 1 && (position as number) <= src.length + 1, `position ${position} outside ${JSON.stringify(src)}`);
    assert.ok(err.message.startsWith(`${label}: at column ${position}: `), err.message);
  }
}

function refusal(src: string, parse: (s: string) => unknown = parseRequirement): ValidationError {
  try { parse(src); } catch (err) { if (err instanceof ValidationError) return err; throw err; }
  assert.fail(`accepted ${JSON.stringify(src)}`);
}

describe('placement expressions: syntax', () => {
  it('parse ∘ print is the identity on trees, and printing is stable', () => {
    fc.assert(fc.property(exprArb, (e) => {
      const printed = printExpression(e);
      fc.pre(printed.length <= MAX_LENGTH);
      const back = parseExpression(printed, 'x');
      assert.deepEqual(shape(back), shape(e), printed);
      assert.equal(printExpression(back), printed);
    }), { seed: SEED, numRuns: 600 });
  });

  it('prints the canonical form: symbols, single spaces, parentheses only where needed', () => {
    const cases: [string, string][] = [
      ['arch="x86_64"and labels.zone="b"  and free.cpu>=4', 'arch = "x86_64" & labels.zone = "b" & free.cpu >= 4'],
      ['not labels.tier = "gold" or free.memory > 8388608', '!(labels.tier = "gold") | free.memory > 8388608'],
      ['((free.cpu * 2) + (free.memory / 1048576)) - (load.cpu * 10)', 'free.cpu * 2 + free.memory / 1048576 - load.cpu * 10'],
      ['a - (b - c)', 'a - (b - c)'],
      ['(a | b) & c', '(a | b) & c'],
      ['- - 3', '-(-3)'],
      ['(load.cpu ?? 0.5) * 10', '(load.cpu ?? 0.5) * 10'],
      ['labels["rack-id"] in ( "r1" ,"r2")', 'labels["rack-id"] in ("r1", "r2")'],
      ['labels["zone"] ^= "eu-"', 'labels.zone ^= "eu-"'],
      ['"a \\"q\\" \\\\ b" = name', '"a \\"q\\" \\\\ b" = name'],
      ['1.50 + 1e3 + 2E-2', '1.5 + 1000 + 0.02'],
      ['(a = b) = true', '(a = b) = true'],
    ];
    for (const [src, canonical] of cases) assert.equal(printExpression(parseExpression(src, 'x')), canonical, src);
  });

  it('never crashes on random strings: they parse or give a ValidationError at a column in the input', () => {
    const piece = fc.constantFrom(...'()!&|=<>^?+-*/,[]". \\\t\nabe019_.~#\u00e9'.split(''), 'labels.', 'labels[', 'free.cpu', ' in ', ' and ', ' or ', 'not ', '"x"', '4096', '??', '1e', '\\"');
    fc.assert(fc.property(fc.oneof(fc.string({ unit: piece, maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 })), (src) => {
      parsesOrRefuses(src, parseRequirement, 'requirement');
      parsesOrRefuses(src, parseRank, 'rank');
      parsesOrRefuses(src, (s) => parseExpression(s, 'x'), 'x');
    }), { seed: SEED, numRuns: 1000 });
  });

  it('never crashes on mutated valid expressions; what parses prints and re-parses to itself', () => {
    const mutation = fc.tuple(fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.constantFrom(...'()!&|="<>-\\ ,[]?^'.split(''), 'x', '9', ''));
    fc.assert(fc.property(exprArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), (e, mutations) => {
      let src = printExpression(e);
      fc.pre(src.length <= MAX_LENGTH);
      for (const [at, how, c] of mutations) {
        const i = src.length === 0 ? 0 : at % src.length;
        src = how === 'delete' ? src.slice(0, i) + src.slice(i + 1) : how === 'insert' ? src.slice(0, i) + c + src.slice(i) : src.slice(0, i) + c + src.slice(i + 1);
      }
      parsesOrRefuses(src, parseRequirement, 'requirement');
      parsesOrRefuses(src, parseRank, 'rank');
      let tree: Expr | null = null;
      try { tree = parseExpression(src, 'x'); } catch (err) { assert.ok(err instanceof ValidationError); }
      if (tree) assert.deepEqual(shape(parseExpression(printExpression(tree), 'x')), shape(tree));
    }), { seed: SEED, numRuns: 500 });
  });

  it('refuses 10,000 nested parentheses with the length error, not a stack overflow', () => {
    const src = '('.repeat(10_000) + '1' + ')'.repeat(10_000);
    const err = refusal(src, parseRank);
    assert.equal(err.message, `rank: at column ${MAX_LENGTH + 1}: the expression is longer than ${MAX_LENGTH} characters (20001)`);
    assert.equal(err.details?.position, MAX_LENGTH + 1);
    assert.match(refusal('!'.repeat(100_000) + 'true').message, /longer than 4096 characters/);
  });

  it(`nests at most ${MAX_DEPTH} deep: parentheses and prefix operators`, () => {
    const nest = (n: number) => '('.repeat(n) + 'cpu' + ')'.repeat(n) + ' > 1';
    assert.doesNotThrow(() => parseRequirement(nest(MAX_DEPTH)));
    const err = refusal(nest(MAX_DEPTH + 1));
    assert.equal(err.message, `requirement: at column ${MAX_DEPTH + 1}: the expression nests more than ${MAX_DEPTH} deep (parentheses and prefix operators)`);
    assert.doesNotThrow(() => parseRequirement('!'.repeat(MAX_DEPTH) + 'true'));
    assert.equal(refusal('!'.repeat(MAX_DEPTH + 1) + 'true').details?.position, MAX_DEPTH + 1);
    assert.equal(refusal('-'.repeat(MAX_DEPTH + 1) + '1', parseRank).details?.position, MAX_DEPTH + 1);
    assert.equal(refusal('not '.repeat(MAX_DEPTH + 1) + 'true').details?.position, MAX_DEPTH * 4 + 1);
  });

  it(`has at most ${MAX_NODES} nodes; long flat chains within it are fine`, () => {
    const terms = (n: number) => Array.from({ length: n }, () => 'cpu').join(' + ');
    // n terms and n - 1 '+' nodes.
    const ok = parseRank(terms((MAX_NODES + 1) / 2 | 0));
    assert.equal(printExpression(ok), terms((MAX_NODES + 1) / 2 | 0));
    const err = refusal(terms(MAX_NODES / 2 + 1), parseRank);
    assert.match(err.message, /^rank: at column \d+: the expression has more than 256 parts/);
    const ands = Array.from({ length: 200 }, () => 'true').join(' & ');
    assert.match(refusal(ands).message, /more than 256 parts/);
    assert.match(refusal(`arch in (${Array.from({ length: 300 }, (_, i) => `"a${i}"`).join(', ')})`).message, /more than 256 parts/);
  });

  it('names the column and what was expected', () => {
    const cases: [string, string][] = [
      ['arch = "x86_64" & free.cpu >=', "requirement: at column 30: expected a value after '>=', found end of input"],
      ['', 'requirement: at column 1: expected a value, found end of input'],
      ['free.cpu > 4 4', 'requirement: at column 14: expected an operator or end of input, found the number 4'],
      ['(free.cpu > 4', "requirement: at column 14: expected ')' to close the '(' at column 1, found end of input"],
      ['free.cpu > 4)', "requirement: at column 13: unexpected ')': no '(' is open"],
      ['arch = "x86', 'requirement: at column 8: unterminated string: no closing \'"\''],
      ['arch = "a\\n"', "requirement: at column 10: unknown escape '\\n' in a string (only \\\" and \\\\)"],
      ['1 < cpu < 3', "requirement: at column 9: comparisons do not chain: put parentheses around one, or join them with '&'"],
      ['arch == "x"', "requirement: at column 6: '==' is not an operator: use '='"],
      ['true && false', "requirement: at column 6: '&&' is not an operator: use '&'"],
      ['cpu > 4 # comment', "requirement: at column 9: unexpected character '#'"],
      ['cpu > 1.', "requirement: at column 9: expected a digit after the decimal point in '1.'"],
      ['cpu > 4x', "requirement: at column 8: unexpected 'x' right after the number '4'"],
      ['labels. = "a"', "requirement: at column 8: expected a name after '.' in 'labels.'"],
      ['labels = "a"', "requirement: at column 8: expected '.name' or '[\"name\"]' after 'labels', found '='"],
      ['labels[""] = "a"', 'requirement: at column 8: a label name cannot be empty'],
      ['arch in "a"', "requirement: at column 9: expected '(' and a list of values after 'in', found the string \"a\""],
      ['arch in ("a" "b")', "requirement: at column 14: expected ',' or ')' in the list after 'in' (column 6), found the string \"b\""],
      ['arch in (name)', "requirement: at column 10: expected a number or a string in the list after 'in' (column 6), found 'name'"],
      ['cpu > 1' + '0'.repeat(400), "requirement: at column 7: the number '10000000000000000000...' is too large"],
      ['and = 1', "requirement: at column 1: expected a value, found 'and'"],
    ];
    for (const [src, message] of cases) {
      const err = refusal(src);
      assert.equal(err.message, message, src);
      assert.equal(err.status, 400);
      assert.deepEqual(err.details, { field: 'requirement', position: Number(/column (\d+)/.exec(message)![1]) });
    }
  });
});
