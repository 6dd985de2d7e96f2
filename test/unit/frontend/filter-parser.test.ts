import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BadQueryError } from '../../../errors/registry.js';
import { COMPARE_OPS, FILTER_KEYWORDS, printFilter, type FilterExpr, type Operand } from '../../../frontend/cimi/filter-ast.js';
import { evalFilter } from '../../../frontend/cimi/filter-eval.js';
import { parseFilter } from '../../../frontend/cimi/filter-parser.js';

const attrName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/).filter((s) => !FILTER_KEYWORDS.includes(s.toLowerCase()));
const isoDate = fc.integer({ min: 0, max: 4102444800000 }).map((ms) => new Date(ms).toISOString());
const operand: fc.Arbitrary<Operand> = fc.oneof(
  attrName.map((name) => ({ kind: 'attr' as const, name })),
  fc.string({ maxLength: 8 }).map((key) => ({ kind: 'prop' as const, key })),
  fc.integer({ min: -1e12, max: 1e12 }).map((value) => ({ kind: 'int' as const, value })),
  fc.string({ maxLength: 12 }).map((value) => ({ kind: 'str' as const, value })),
  fc.boolean().map((value) => ({ kind: 'bool' as const, value })),
  fc.oneof(isoDate, isoDate.map((s) => s.slice(0, 10))).map((text) => ({ kind: 'date' as const, text })),
);
const expr: fc.Arbitrary<FilterExpr> = fc.letrec<{ e: FilterExpr }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(fc.constantFrom(...COMPARE_OPS), operand, operand).map(([op, left, right]): FilterExpr => ({ kind: 'cmp', op, left, right })),
    fc.tuple(fc.constantFrom('and' as const, 'or' as const), tie('e'), tie('e')).map(([kind, left, right]): FilterExpr => ({ kind, left, right })),
  ),
})).e;

function badQuery(src: string): BadQueryError {
  try {
    parseFilter(src);
  } catch (e) {
    assert.ok(e instanceof BadQueryError, `expected BadQueryError, got ${String(e)}`);
    return e;
  }
  assert.fail(`'${src}' parsed`);
}

describe('frontend $filter parser', () => {
  it('parses comparisons, and/or precedence and parentheses', () => {
    assert.deepEqual(parseFilter("state='STARTED' or cpu>=2 and name!=\"x\""), {
      kind: 'or',
      left: { kind: 'cmp', op: '=', left: { kind: 'attr', name: 'state' }, right: { kind: 'str', value: 'STARTED' } },
      right: {
        kind: 'and',
        left: { kind: 'cmp', op: '>=', left: { kind: 'attr', name: 'cpu' }, right: { kind: 'int', value: 2 } },
        right: { kind: 'cmp', op: '!=', left: { kind: 'attr', name: 'name' }, right: { kind: 'str', value: 'x' } },
      },
    });
    const grouped = parseFilter("(state='STARTED' OR cpu>=2) AND memory<1024");
    assert.equal(grouped.kind, 'and');
  });

  it('parses property lookups, dates, booleans, negative integers and doubled quotes', () => {
    assert.deepEqual(parseFilter("property['env']='prod'"), { kind: 'cmp', op: '=', left: { kind: 'prop', key: 'env' }, right: { kind: 'str', value: 'prod' } });
    assert.deepEqual(parseFilter('created > 2024-05-01T10:00:00Z').kind, 'cmp');
    assert.deepEqual((parseFilter('created >= 2024-05-01') as { right: Operand }).right, { kind: 'date', text: '2024-05-01' });
    assert.deepEqual((parseFilter('x = TRUE') as { right: Operand }).right, { kind: 'bool', value: true });
    assert.deepEqual((parseFilter('x > -5') as { right: Operand }).right, { kind: 'int', value: -5 });
    assert.deepEqual((parseFilter("name = 'it''s'") as { right: Operand }).right, { kind: 'str', value: "it's" });
  });

  it('says where a malformed expression fails', () => {
    assert.match(badQuery("state='STARTED' and").message, /position 20/);
    assert.match(badQuery("state='STARTED").message, /unterminated string at position 7/);
    assert.match(badQuery('cpu >> 2').message, /position 6/);
    assert.match(badQuery('(cpu = 2').message, /expected '\)' at position 9/);
    assert.match(badQuery('cpu = 2 cpu').message, /position 9/);
    assert.match(badQuery('cpu # 2').message, /unexpected character at position 5/);
    assert.equal(badQuery('cpu = 2 and').details?.position, 12);
    assert.match(badQuery('and = 1').message, /position 1/);
    assert.match(badQuery('created > 2024-13-45').message, /invalid date/);
    assert.match(badQuery('x = 99999999999999999999').message, /out of range/);
    badQuery('');
    badQuery('('.repeat(200) + 'a=1' + ')'.repeat(200));
  });

  it('property: printing any expression and parsing it back gives the same tree', () => {
    fc.assert(fc.property(expr, (e) => {
      assert.deepEqual(parseFilter(printFilter(e)), e);
    }), { numRuns: 500 });
  });

  it('property: any input either parses or throws BadQueryError, nothing else', () => {
    const alphabet = fc.constantFrom(...'()[]=!<>\'" andorANDOR truefalse property 0123456789-_.:TZxyz\\\t\n'.split(''));
    const junk = fc.oneof(fc.string({ maxLength: 60 }), fc.array(alphabet, { maxLength: 60 }).map((a) => a.join('')),
      expr.chain((e) => fc.nat(printFilter(e).length).map((cut) => printFilter(e).slice(0, cut))));
    fc.assert(fc.property(junk, (src) => {
      try {
        const e = parseFilter(src);
        assert.ok(e.kind === 'cmp' || e.kind === 'and' || e.kind === 'or');
      } catch (err) {
        assert.ok(err instanceof BadQueryError, `non-BadQueryError for ${JSON.stringify(src)}: ${String(err)}`);
        assert.match(err.message, /position \d+|longer than|given once/);
      }
    }), { numRuns: 2000 });
  });

  it('evaluates against a representation', () => {
    const m = { name: 'web-1', cpu: 4, state: 'STARTED', created: '2024-05-02T00:00:00.000Z', properties: { env: 'prod' } };
    const t = (s: string) => evalFilter(parseFilter(s), m);
    assert.equal(t("state='STARTED' and cpu>2"), true);
    assert.equal(t('cpu > 4'), false);
    assert.equal(t("property['env']='prod'"), true);
    assert.equal(t("property['missing']='prod'"), false);
    assert.equal(t('created > 2024-05-01'), true);
    assert.equal(t('created < 2024-05-01T12:00:00Z'), false);
    assert.equal(t("name='x' or (cpu=4 and name!='y')"), true);
    assert.equal(t('nosuch = 1'), false);
    assert.equal(t('nosuch != 1'), true);
    assert.equal(t('2 < cpu'), true);
  });
});
