// Property tests: whatever the template, the engine answers with diagnostics, never an exception.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Evaluator, evaluateTemplate, renderedTemplate } from '../../src/stack/evaluate.js';
import { ConditionTable } from '../../src/stack/conditions.js';
import { checkIntrinsics } from '../../src/stack/intrinsics-check.js';
import { expandLanguageExtensions } from '../../src/stack/langext.js';
import { buildStackGraph, renderGraph } from '../../src/stack/graph.js';
import { RuntimeResolveError, resolveRuntime } from '../../src/stack/runtime.js';
import { checkParameterDefinitions, resolveParameters } from '../../src/stack/params.js';
import type { Json } from '../../src/stack/model.js';

const FNS = [
  'Ref',
  'Fn::GetAtt',
  'Fn::Join',
  'Fn::Sub',
  'Fn::Select',
  'Fn::Split',
  'Fn::FindInMap',
  'Fn::GetAZs',
  'Fn::Base64',
  'Fn::Cidr',
  'Fn::ImportValue',
  'Fn::If',
  'Fn::Equals',
  'Fn::And',
  'Fn::Or',
  'Fn::Not',
  'Condition',
  'Fn::Length',
  'Fn::ToJsonString',
  'Fn::Transform',
  'Fn::Contains',
  'Fn::ForEach::Loop',
  'Fn::Bogus',
];
const NAMES = ['P', 'L', 'N', 'S', 'R1', 'R2', 'C1', 'C2', 'M', 'AWS::Region', 'AWS::NoValue', 'AWS::StackName', 'Nope', '', 'R1.Arn'];

const scalar = fc.oneof(
  fc.constantFrom(...NAMES),
  fc.constantFrom('${P}', '${R1.Arn}', '${!x}', '${', 'a,b,,c', '10.0.0.0/16', '2001:db8::/56', '0', '1', '-1', '300'),
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -5, max: 300 }),
  fc.boolean(),
  fc.constant(null),
);

const { tree } = fc.letrec<{ tree: Json }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('a', 'B', 'Value', 'DefaultValue', 'Name'), tie('tree'), { maxKeys: 3 }),
    fc.tuple(fc.constantFrom(...FNS), tie('tree')).map(([k, v]) => ({ [k]: v }) as Json),
    fc.tuple(fc.constantFrom(...FNS), fc.array(tie('tree'), { maxLength: 4 })).map(([k, v]) => ({ [k]: v }) as Json),
  ),
}));

const template = fc.record({
  Transform: fc.option(fc.constantFrom('AWS::LanguageExtensions', ['AWS::LanguageExtensions'], 'Other'), { nil: undefined }),
  Parameters: fc.constant({
    P: { Type: 'String', Default: 'p' },
    L: { Type: 'CommaDelimitedList', Default: 'a,b' },
    N: { Type: 'Number', Default: '2' },
    S: { Type: 'String', NoEcho: true, Default: 'secret-value' },
  }),
  Mappings: fc.constant({ M: { 'us-east-1': { k: 'v', l: ['x'] } } }),
  Conditions: fc.dictionary(fc.constantFrom('C1', 'C2'), tree, { maxKeys: 2 }),
  Rules: fc.option(fc.dictionary(fc.constantFrom('R'), fc.record({ Assertions: fc.array(fc.record({ Assert: tree }), { maxLength: 2 }) })), { nil: undefined }),
  Resources: fc.record({
    R1: fc.record({ Type: fc.constant('AWS::S3::Bucket'), Properties: fc.dictionary(fc.constantFrom('A', 'B'), tree, { maxKeys: 2 }) }),
    R2: fc.record({
      Type: fc.constant('AWS::S3::Bucket'),
      Condition: fc.option(fc.constantFrom('C1', 'C2', 'Nope'), { nil: undefined }),
      DependsOn: fc.option(fc.oneof(fc.constantFrom('R1', 'R2', 'Nope'), fc.array(fc.constantFrom('R1', 'Nope'))), { nil: undefined }),
      DeletionPolicy: fc.option(tree, { nil: undefined }),
      Properties: fc.dictionary(fc.constantFrom('A', 'B'), tree, { maxKeys: 2 }),
    }),
  }),
  Outputs: fc.dictionary(fc.constantFrom('O1', 'O2'), fc.record({ Value: tree }), { maxKeys: 2 }),
});

const clean = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('the engine on random templates', () => {
  it('evaluation, checks, expansion and the graph never throw', () => {
    fc.assert(
      fc.property(template, (raw) => {
        const t = clean(raw);
        const before = JSON.stringify(t);
        const diags = [...checkIntrinsics(t), ...checkParameterDefinitions(t), ...expandLanguageExtensions(t).diagnostics, ...resolveParameters(t, { P: 'x', Zzz: '1' }).diagnostics];
        const r = evaluateTemplate(t, { maskNoEcho: true });
        const printed = JSON.stringify(renderedTemplate(r.template));
        expect(printed).not.toContain('secret-value');
        for (const d of [...diags, ...r.diagnostics]) {
          expect(typeof d.code).toBe('string');
          expect(d.message).not.toContain('secret-value');
        }
        const g = buildStackGraph(r.template);
        renderGraph(g, 'text');
        expect(JSON.stringify(t)).toBe(before); // inputs are never modified
      }),
      { numRuns: 400 },
    );
  });

  it('evaluating a rendered template again changes nothing', () => {
    fc.assert(
      fc.property(template, (raw) => {
        const t = clean({ ...raw, Transform: undefined, Rules: undefined });
        const once = evaluateTemplate(t);
        if (once.diagnostics.some((d) => d.severity === 'error')) return;
        const printed = renderedTemplate(once.template);
        const twice = evaluateTemplate(clean(printed));
        expect(renderedTemplate(twice.template)).toEqual(printed);
      }),
      { numRuns: 300 },
    );
  });

  it('deploy-time resolution either resolves or throws RuntimeResolveError', () => {
    const ctx = { ref: (id: string) => `phys-${id}`, getAtt: (id: string, a: string) => (a === 'List' ? ['a', 'b'] : `${id}.${a}`) };
    fc.assert(
      fc.property(tree, (v) => {
        try {
          resolveRuntime(clean(v), ctx);
        } catch (e) {
          expect(e).toBeInstanceOf(RuntimeResolveError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('survives deep nesting', () => {
    let v: Json = 'x';
    for (let i = 0; i < 2000; i++) v = { 'Fn::Base64': v };
    const r = evaluateTemplate({ Resources: { R: { Type: 'AWS::S3::Bucket', Properties: { A: v } } } });
    expect(r.diagnostics.map((d) => d.code)).toEqual(['NESTING_TOO_DEEP']);
    expect(() => checkIntrinsics({ Resources: { R: { Type: 'T', Properties: { A: v } } } })).not.toThrow();
  });
});

describe('partial evaluation', () => {
  // Rendering first and resolving the rest at deploy time must give what evaluating everything at
  // once gives, when the resources' values are known from the start.
  const world = { ref: (id: string) => `phys-${id}`, getAtt: (id: string, a: string) => (a === 'List' ? ['l1', 'l2'] : `${id}.${a}`) };
  const refTree = fc.letrec<{ t: Json }>((tie) => ({
    t: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom('plain', '${!lit}', 'a,b', '10.1.0.0/16', '1', 'x${P}y', '${R1}${AWS::Region}', '${R1.Arn}-${V}'),
      fc.constantFrom<Json>({ Ref: 'R1' }, { Ref: 'P' }, { Ref: 'L' }, { 'Fn::GetAtt': ['R1', 'Arn'] }, { 'Fn::GetAtt': ['R1', 'List'] }, { Ref: 'AWS::StackName' }),
      fc.tuple(fc.constantFrom('', ',', '-'), fc.array(tie('t'), { maxLength: 3 })).map(([d, l]) => ({ 'Fn::Join': [d, l] }) as Json),
      fc.tuple(fc.constantFrom('${V}:${R1}', 'a-${V}', '${!x}${V}', '${R1.Arn}'), tie('t')).map(([s, v]) => ({ 'Fn::Sub': [s, { V: v }] }) as Json),
      fc.tuple(fc.nat(2), tie('t')).map(([i, l]) => ({ 'Fn::Select': [i, l] }) as Json),
      tie('t').map((s) => ({ 'Fn::Split': [',', s] }) as Json),
      tie('t').map((s) => ({ 'Fn::Base64': s }) as Json),
      tie('t').map((s) => ({ 'Fn::Cidr': [s, 2, 8] }) as Json),
      fc.tuple(tie('t'), tie('t')).map(([a, b]) => ({ 'Fn::If': ['C1', a, b] }) as Json),
      tie('t').map((s) => ({ 'Fn::Length': s }) as Json),
      tie('t').map((s) => ({ 'Fn::ToJsonString': { k: s } }) as Json),
      tie('t').map((s) => ({ 'Fn::GetAZs': s }) as Json),
      fc.constantFrom<Json>({ Ref: 'AWS::NoValue' }, { 'Fn::If': ['C1', { Ref: 'AWS::NoValue' }, 'n'] }),
      fc.array(tie('t'), { maxLength: 3 }),
    ),
  })).t;

  it('render then resolve equals resolving at once', () => {
    fc.assert(
      fc.property(refTree, fc.boolean(), (expr, cond) => {
        const t = {
          Parameters: { P: { Type: 'String', Default: 'p,q' }, L: { Type: 'CommaDelimitedList', Default: 'x, y' }, On: { Type: 'String', Default: cond ? 'yes' : 'no' } },
          Conditions: { C1: { 'Fn::Equals': [{ Ref: 'On' }, 'yes'] } },
          Resources: { R1: { Type: 'AWS::S3::Bucket' }, R2: { Type: 'AWS::S3::Bucket', Properties: { V: expr } } },
        };
        const pseudo = { stackName: 's', region: 'eu-west-1' };
        // Two phases: render, then deploy-time resolution.
        const rendered = evaluateTemplate(t, { pseudo });
        let twoPhase: { ok: true; v: Json } | { ok: false };
        if (rendered.diagnostics.some((d) => d.severity === 'error')) twoPhase = { ok: false };
        else {
          try {
            twoPhase = { ok: true, v: resolveRuntime(rendered.template.Resources.R2!.Properties, { ...world, pseudo: rendered.template.pseudo }) };
          } catch (e) {
            expect(e).toBeInstanceOf(RuntimeResolveError);
            twoPhase = { ok: false };
          }
        }
        // One phase: every value known from the start.
        const params = resolveParameters(t, {}).values;
        const conditions = new ConditionTable(
          { C1: cond },
          () => undefined,
          () => {},
        );
        const ev = new Evaluator({ parameters: params, pseudo: rendered.template.pseudo, mappings: {}, mask: false, hooks: world, conditions });
        const v = ev.value({ V: expr }, []);
        const onePhase = ev.diagnostics.length ? { ok: false } : { ok: true, v };
        expect(twoPhase).toEqual(onePhase);
      }),
      { numRuns: 600 },
    );
  });
});
