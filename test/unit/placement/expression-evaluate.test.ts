import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ValidationError } from '../../../errors/registry.js';
import { expressionLanguage } from '../../../placement/expression/engine.js';
import {
  evaluateRank, evaluateRequirement, explainRequirement, fromLabelRequirements, parseExpression, parseRank, parseRequirement,
  printExpression, type HostFacts,
} from '../../../placement/expression/index.js';
import { parsePolicyBody } from '../../../placement/policy.js';

const SEED = 20261202;

const host = (over: Partial<HostFacts> = {}): HostFacts => ({
  id: 'h1', name: 'node-1', arch: 'x86_64', labels: { zone: 'b', tier: 'gold', empty: '' },
  cpu: 16, memory: 33554432, used: { cpu: 4, memory: 8388608 }, free: { cpu: 28, memory: 25165824 },
  machines: 3, load: { cpu: 0.5, memory: 0.25 }, machine: { cpu: 2, memory: 4194304 },
  ...over,
});

const req = (src: string, f: HostFacts = host()) => evaluateRequirement(parseRequirement(src), f);
const rank = (src: string, f: HostFacts = host()) => evaluateRank(parseRank(src), f);

function refusal(src: string, parse: (s: string) => unknown): ValidationError {
  try { parse(src); } catch (err) { if (err instanceof ValidationError) return err; throw err; }
  assert.fail(`accepted ${JSON.stringify(src)}`);
}

describe('placement expressions: evaluation', () => {
  it('answers the documented examples', () => {
    assert.equal(req('arch = "x86_64" & labels.zone = "b" & free.cpu >= 4'), true);
    assert.equal(req('arch = "x86_64" & labels.zone = "a" & free.cpu >= 4'), false);
    assert.equal(req('!(labels.tier = "gold") | free.memory > 8388608'), true);
    assert.equal(req('!(labels.tier = "gold") | free.memory > 8388608', host({ free: { cpu: 1, memory: 1024 } })), false);
    assert.equal(req('!(labels.tier = "gold") | free.memory > 8388608', host({ labels: {}, free: { cpu: 1, memory: 1024 } })), true);
    // 28 * 2 + 25165824 / 1048576 - 0.5 * 10 = 56 + 24 - 5
    assert.equal(rank('free.cpu * 2 + free.memory / 1048576 - load.cpu * 10'), 75);
    assert.equal(rank('free.memory - machine.memory * 2'), 25165824 - 8388608);
    assert.equal(req('free.cpu >= machine.cpu & used.memory + machine.memory <= memory & machines < 10'), true);
    assert.equal(req('id = "h1" & name ^= "node-" & cpu = 16'), true);
  });

  it('follows precedence and associativity', () => {
    assert.equal(rank('1 + 2 * 3'), 7);
    assert.equal(rank('10 - 4 - 3'), 3);
    assert.equal(rank('2 * 3 / 4'), 1.5);
    assert.equal(rank('12 / 3 / 2'), 2);
    assert.equal(rank('-2 * 3'), -6);
    assert.equal(rank('- -3'), 3);
    assert.equal(rank('0.1 + 0.2'), 0.1 + 0.2);
    assert.equal(req('true | false & false'), true);
    assert.equal(req('(true | false) & false'), false);
    assert.equal(req('!true | true'), true);
    assert.equal(req('!(true | true)'), false);
    assert.equal(req('not false and false'), false);
    assert.equal(req('not cpu > 100'), true);
    assert.equal(req('1 + 2 = 3 & 2 * 2 > 3'), true);
  });

  it('strings: = and != exact, ^= prefix, in membership', () => {
    assert.equal(req('labels.zone != "a"'), true);
    assert.equal(req('arch ^= "x86"'), true);
    assert.equal(req('arch ^= "X86"'), false);
    assert.equal(req('arch ^= ""'), true);
    assert.equal(req('arch in ("aarch64", "x86_64")'), true);
    assert.equal(req('arch in ("aarch64")'), false);
    assert.equal(req('cpu in (8, 16)'), true);
    assert.equal(req('labels.empty = ""'), true);
    assert.equal(req('name = "a \\"q\\""', host({ name: 'a "q"' })), true);
    assert.equal(req('labels["rack-id"] = "r1"', host({ labels: { 'rack-id': 'r1' } })), true);
    assert.equal(req('labels.topology.zone = "z"', host({ labels: { 'topology.zone': 'z' } })), true);
  });

  it('a missing label is absent: every comparison with it is false, ! of one is true, ?? replaces it', () => {
    const h = host({ labels: {} });
    for (const src of ['labels.x = ""', 'labels.x != "a"', 'labels.x ^= ""', 'labels.x in ("a", "")', 'labels.x = labels.y', 'labels.x != labels.y']) {
      assert.equal(req(src, h), false, src);
    }
    assert.equal(req('!(labels.x = "a")', h), true);
    assert.equal(req('labels.x ?? "none" = "none"', h), true);
    assert.equal(req('labels.zone ?? "none" = "b"'), true);
    // Label keys are own properties only.
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      assert.equal(req(`labels.${key} ?? "absent" = "absent"`, h), true, key);
      assert.equal(req(`labels["${key}"] = "x"`, host({ labels: { [key]: 'x' } })), true, key);
    }
  });

  it('absent load: comparisons false, arithmetic absent, a rank that is absent is 0', () => {
    const h = host({ load: null });
    assert.equal(req('load.cpu < 0.9', h), false);
    assert.equal(req('load.cpu >= 0.9', h), false);
    assert.equal(req('!(load.cpu >= 0.9)', h), true);
    assert.equal(req('(load.cpu ?? 0) < 0.9', h), true);
    assert.equal(req('load.cpu < 0.9'), true);
    assert.equal(rank('load.memory * 10', h), 0);
    assert.equal(rank('free.cpu - load.cpu * 10', h), 0);
    assert.equal(rank('free.cpu - (load.cpu ?? 1) * 10', h), 18);
    assert.equal(rank('free.cpu - load.cpu * 10 ?? -1', h), -1);
    assert.equal(rank('free.cpu - (load.cpu ?? 1) * 10'), 23);
  });

  it('division by zero (and overflow) make the value absent: the whole rank is 0, comparisons false', () => {
    const idle = host({ machines: 0 });
    assert.equal(rank('free.cpu / machines', idle), 0);
    assert.equal(rank('100 - free.cpu / machines', idle), 0);
    assert.equal(rank('0 / 0'), 0);
    assert.equal(rank('(free.cpu / machines ?? 1000) + 1', idle), 1001);
    assert.equal(rank('free.cpu / machines', host({ machines: 4 })), 7);
    assert.equal(req('free.cpu / machines > 1', idle), false);
    assert.equal(req('free.cpu / machines <= 1', idle), false);
    assert.equal(req('!(free.cpu / machines > 1)', idle), true);
    assert.equal(rank('1e308 * 10'), 0);
    assert.equal(rank('-(1e308 * 10) + 1'), 0);
    assert.equal(rank('cpu', host({ cpu: Number.NaN })), 0);
  });

  it('finds type errors at check time, with the column of the offending part', () => {
    const cases: [string, 'requirement' | 'rank', string][] = [
      ['arch = 1', 'requirement', "requirement: at column 6: '=' compares values of one type, but arch is a string and 1 is a number"],
      ['free.cpu & true', 'requirement', "requirement: at column 1: '&' needs a boolean, but free.cpu is a number"],
      ['arch = "x" & labels.zone > "a"', 'requirement', "requirement: at column 14: '>' needs a number, but labels.zone is a string"],
      ['arch in ("a", 1)', 'requirement', 'requirement: at column 15: every value in the list must be a string like arch, but 1 is a number'],
      ['(cpu > 1) in (1)', 'requirement', "requirement: at column 2: 'in' needs a number or a string on its left, but cpu > 1 is a boolean"],
      ['(free.cpu ?? "x") > 1', 'requirement', "requirement: at column 14: '??' (otherwise) needs a number, but \"x\" is a string"],
      ['!cpu', 'requirement', "requirement: at column 2: '!' needs a boolean, but cpu is a number"],
      ['-arch', 'rank', "rank: at column 2: '-' needs a number, but arch is a string"],
      ['cpu ^= "1"', 'requirement', "requirement: at column 1: '^=' (starts with) needs a string, but cpu is a number"],
      ['free.cpu', 'requirement', 'requirement: at column 1: a requirement must be a boolean, but free.cpu is a number'],
      ['free.cpu > 1', 'rank', 'rank: at column 1: a rank must be a number, but free.cpu > 1 is a boolean'],
      ['cpu + label.zone', 'rank', "rank: at column 7: unknown attribute 'label.zone' (did you mean labels.zone?); known: id, name, arch, cpu, memory, used.cpu, used.memory, free.cpu, free.memory, machines, load.cpu, load.memory, machine.cpu, machine.memory, labels.<name>"],
    ];
    for (const [src, kind, message] of cases) {
      assert.doesNotThrow(() => parseExpression(src, kind), src);
      const err = refusal(src, kind === 'rank' ? parseRank : parseRequirement);
      assert.equal(err.message, message, src);
      assert.equal(err.details?.position, Number(/column (\d+)/.exec(message)![1]));
    }
  });

  it('explains which conjunct a host fails', () => {
    const e = parseRequirement('arch = "x86_64" and free.cpu >= 100 and labels.zone = "q"');
    assert.deepEqual(explainRequirement(e, host()), { pass: false, failed: 'free.cpu >= 100' });
    assert.deepEqual(explainRequirement(e, host({ free: { cpu: 200, memory: 0 } })), { pass: false, failed: 'labels.zone = "q"' });
    assert.deepEqual(explainRequirement(e, host({ free: { cpu: 200, memory: 0 }, labels: { zone: 'q' } })), { pass: true });
    assert.deepEqual(explainRequirement(parseRequirement('(arch = "a" | cpu > 99) & true'), host()), { pass: false, failed: 'arch = "a" | cpu > 99' });
  });

  it('machine label requirements become an expression that judges like the label filter', () => {
    const e = fromLabelRequirements({ zone: 'b', 'rack-id': 'r1' });
    assert.equal(printExpression(e), 'labels.zone = "b" & labels["rack-id"] = "r1"');
    assert.equal(printExpression(fromLabelRequirements({})), 'true');
    const keys = fc.constantFrom('zone', 'rack-id', 'tier', 'a.b', 'x"y');
    const values = fc.constantFrom('', 'a', 'b');
    fc.assert(fc.property(fc.dictionary(keys, values), fc.dictionary(keys, values), (requirements, labels) => {
      const expr = fromLabelRequirements(requirements);
      const filter = Object.entries(requirements).every(([k, v]) => labels[k] === v);
      assert.equal(evaluateRequirement(expr, host({ labels })), filter);
      assert.equal(evaluateRequirement(parseRequirement(printExpression(expr)), host({ labels })), filter);
    }), { seed: SEED, numRuns: 200 });
  });

  it('serves as the policy ExpressionEngine: checked before storing, compiled once', () => {
    const doc = parsePolicyBody({ weigher: 'rank', rank: 'free.cpu - (load.cpu ?? 0) * 10', requirements: 'arch = "x86_64"' }, expressionLanguage);
    assert.equal(doc.rank, 'free.cpu - (load.cpu ?? 0) * 10');
    assert.throws(() => parsePolicyBody({ weigher: 'rank', rank: 'free.cpu >' }, expressionLanguage), (err: unknown) => err instanceof ValidationError
      && err.message === "PlacementPolicy.rank: at column 11: expected a value after '>', found end of input"
      && err.details?.field === 'PlacementPolicy.rank' && err.details?.position === 11);
    assert.throws(() => parsePolicyBody({ requirements: 'free.cpu' }, expressionLanguage), /PlacementPolicy.requirements: at column 1: a requirement must be a boolean/);
    assert.equal(expressionLanguage.requirement('labels.zone = "b"')(host()), true);
    assert.equal(expressionLanguage.rank('free.cpu / machines')(host({ machines: 0 })), 0);
  });
});
