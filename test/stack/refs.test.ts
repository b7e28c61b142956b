// Reference extraction and cycle detection: what the graph and the validator build on.
import { describe, expect, it } from 'vitest';
import { collectReferences, findCycles, resourceDependencies, subVariables } from '../../src/stack/refs.js';

const short = (v: unknown) => collectReferences(v, ['X']).map((r) => [r.kind, r.target, r.attribute, r.path.join('.')]);

describe('collectReferences', () => {
  it.each<[string, unknown, unknown[]]>([
    ['Ref', { Ref: 'A' }, [['Ref', 'A', undefined, 'X.Ref']]],
    ['GetAtt list form', { 'Fn::GetAtt': ['A', 'Arn'] }, [['GetAtt', 'A', 'Arn', 'X.Fn::GetAtt.0']]],
    ['GetAtt dotted form splits at the first dot', { 'Fn::GetAtt': 'C.RedisEndpoint.Address' }, [['GetAtt', 'C', 'RedisEndpoint.Address', 'X.Fn::GetAtt']]],
    [
      'GetAtt with a Ref attribute',
      { 'Fn::GetAtt': ['A', { Ref: 'P' }] },
      [
        ['GetAtt', 'A', undefined, 'X.Fn::GetAtt.0'],
        ['Ref', 'P', undefined, 'X.Fn::GetAtt.1.Ref'],
      ],
    ],
    [
      'Sub variables',
      { 'Fn::Sub': '${A}-${B.Arn}-${AWS::Region}' },
      [
        ['Sub', 'A', undefined, 'X.Fn::Sub'],
        ['Sub', 'B', 'Arn', 'X.Fn::Sub'],
        ['Sub', 'AWS::Region', undefined, 'X.Fn::Sub'],
      ],
    ],
    ['Sub ${!Literal} is not a reference', { 'Fn::Sub': '${!A} and ${B}' }, [['Sub', 'B', undefined, 'X.Fn::Sub']]],
    [
      'Sub map variables shadow template names; map values are searched',
      { 'Fn::Sub': ['${A}-${B}', { A: { Ref: 'C' } }] },
      [
        ['Sub', 'B', undefined, 'X.Fn::Sub.0'],
        ['Ref', 'C', undefined, 'X.Fn::Sub.1.A.Ref'],
      ],
    ],
    [
      'Fn::If names a condition',
      { 'Fn::If': ['Cond', { Ref: 'A' }, { Ref: 'AWS::NoValue' }] },
      [
        ['If', 'Cond', undefined, 'X.Fn::If.0'],
        ['Ref', 'A', undefined, 'X.Fn::If.1.Ref'],
        ['Ref', 'AWS::NoValue', undefined, 'X.Fn::If.2.Ref'],
      ],
    ],
    ['Condition', { 'Fn::Not': [{ Condition: 'C' }] }, [['Condition', 'C', undefined, 'X.Fn::Not.0.Condition']]],
    [
      'nested in lists and objects, in order',
      { a: [{ Ref: 'A' }, { b: { Ref: 'B' } }] },
      [
        ['Ref', 'A', undefined, 'X.a.0.Ref'],
        ['Ref', 'B', undefined, 'X.a.1.b.Ref'],
      ],
    ],
    ['an object with Ref and another key is not a Ref', { Ref: 'A', Other: 1 }, []],
  ])('%s', (_name, value, expected) => {
    expect(short(value)).toEqual(expected);
  });

  it('walks very deep values without recursion', () => {
    let v: unknown = { Ref: 'Deep' };
    for (let i = 0; i < 100_000; i++) v = [v];
    expect(collectReferences(v).map((r) => r.target)).toEqual(['Deep']);
  });
});

describe('subVariables', () => {
  it('trims spaces around names and skips literals', () => {
    expect(subVariables('${ A }${!B}${C}').map((v) => v.name)).toEqual(['A', 'C']);
  });
  it('ignores an unterminated ${', () => {
    expect(subVariables('a ${b')).toEqual([]);
  });
});

describe('resourceDependencies', () => {
  it('lists resources each resource depends on, through every kind of reference', () => {
    const deps = resourceDependencies({
      Parameters: { P: { Type: 'String' } },
      Resources: {
        A: { Type: 'T' },
        B: { Type: 'T', Properties: { x: { Ref: 'A' }, y: { Ref: 'P' }, z: { Ref: 'AWS::Region' } } },
        C: { Type: 'T', DependsOn: ['B'], Properties: { s: { 'Fn::Sub': '${A.Arn}' }, g: { 'Fn::GetAtt': 'B.Id' } } },
      },
    });
    expect([...deps.entries()].map(([k, v]) => [k, v.map((d) => `${d.via}:${d.on}`)])).toEqual([
      ['A', []],
      ['B', ['Ref:A']],
      ['C', ['DependsOn:B', 'Sub:A', 'GetAtt:B']],
    ]);
  });
});

describe('findCycles', () => {
  const g = (o: Record<string, string[]>) => new Map(Object.entries(o));
  it('reports none for a DAG', () => {
    expect(findCycles(g({ A: ['B'], B: ['C'], C: [] }))).toEqual([]);
  });
  it('reports the path that closes a cycle', () => {
    expect(findCycles(g({ A: ['B'], B: ['C'], C: ['A'], D: ['A'] }))).toEqual([['A', 'B', 'C', 'A']]);
  });
  it('reports a self-reference', () => {
    expect(findCycles(g({ A: ['A'] }))).toEqual([['A', 'A']]);
  });
  it('reports one cycle per strongly connected component', () => {
    const cycles = findCycles(g({ A: ['B'], B: ['A'], C: ['D'], D: ['C'], E: [] }));
    expect(cycles).toEqual([
      ['A', 'B', 'A'],
      ['C', 'D', 'C'],
    ]);
  });
  it('handles a long chain without recursion', () => {
    const o: Record<string, string[]> = {};
    for (let i = 0; i < 50_000; i++) o[`R${i}`] = [`R${i + 1}`];
    o.R50000 = ['R0'];
    const cycles = findCycles(g(o));
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toHaveLength(50_002);
  });
});
