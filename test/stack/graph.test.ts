import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildStackGraph, renderGraph, stackWaves } from '../../src/stack/graph.js';
import { evaluateTemplate } from '../../src/stack/evaluate.js';

const seed = JSON.parse(readFileSync(new URL('../../examples/seed/stack.json', import.meta.url), 'utf8'));

describe('the stack graph', () => {
  it('has an edge for Ref, GetAtt, Sub and DependsOn, with how each is made', () => {
    const sg = buildStackGraph({
      Resources: {
        A: { Type: 'AWS::S3::Bucket' },
        B: { Type: 'AWS::S3::Bucket', Properties: { X: { Ref: 'A' }, Y: { 'Fn::GetAtt': ['A', 'Arn'] } } },
        C: { Type: 'AWS::S3::Bucket', Properties: { Z: { 'Fn::Sub': '${B.Arn}-${AWS::Region}-${Param}' } } },
        D: { Type: 'AWS::S3::Bucket', DependsOn: ['C', 'A'] },
      },
    });
    expect(sg.diagnostics).toEqual([]);
    expect(sg.edges).toEqual([
      { from: 'B', to: 'A', via: ['Ref', 'GetAtt'] },
      { from: 'C', to: 'B', via: ['Sub'] },
      { from: 'D', to: 'C', via: ['DependsOn'] },
      { from: 'D', to: 'A', via: ['DependsOn'] },
    ]);
    expect(stackWaves(sg.graph)).toEqual([['A'], ['B'], ['C'], ['D']]);
  });

  it('reports a cycle with its path', () => {
    const sg = buildStackGraph({
      Resources: {
        A: { Type: 'T', Properties: { X: { Ref: 'B' } } },
        B: { Type: 'T', Properties: { X: { 'Fn::GetAtt': ['C', 'Arn'] } } },
        C: { Type: 'T', DependsOn: 'A' },
      },
    });
    expect(sg.diagnostics.map((d) => [d.code, d.message, d.segments])).toEqual([['E3004', 'Circular dependency between resources: A -> B -> C -> A', ['Resources', 'A']]]);
    expect(renderGraph(sg, 'text')).toContain('cycle: A -> B -> C -> A');
  });

  it('built from the evaluated template, drops false conditions and untaken branches', () => {
    const t = {
      Parameters: { Big: { Type: 'String', Default: 'no' } },
      Conditions: { IsBig: { 'Fn::Equals': [{ Ref: 'Big' }, 'yes'] } },
      Resources: {
        Cache: { Type: 'AWS::ElastiCache::CacheCluster', Condition: 'IsBig' },
        Small: { Type: 'AWS::S3::Bucket' },
        App: { Type: 'AWS::EC2::Instance', Properties: { UserData: { 'Fn::If': ['IsBig', { 'Fn::GetAtt': ['Cache', 'RedisEndpoint.Address'] }, { Ref: 'Small' }] } } },
      },
    };
    const raw = buildStackGraph(t);
    expect(raw.edges.map((e) => `${e.from}->${e.to}`)).toEqual(['App->Cache', 'App->Small']);
    const resolved = buildStackGraph(evaluateTemplate(t).template);
    expect(resolved.graph.nodes()).toEqual(['Small', 'App']);
    expect(resolved.edges.map((e) => `${e.from}->${e.to}`)).toEqual(['App->Small']);
  });

  describe('of the seed stack', () => {
    const sg = buildStackGraph(evaluateTemplate(seed, { parameters: { AmiId: 'ami-0123456789abcdef0' } }).template);
    it('creates the network first and the load balancer last', () => {
      const waves = stackWaves(sg.graph);
      expect(waves[0]).toEqual(['MainVpc', 'WebRole']);
      expect(waves.at(-1)).toEqual(['Elb']);
      expect(waves.flat().sort()).toEqual(Object.keys(seed.Resources).sort());
    });
    it('renders as text with waves', () => {
      const text = renderGraph(sg, 'text');
      expect(text.split('\n')[0]).toBe('wave 1');
      expect(text).toMatch(/ec2Instance +AWS::EC2::Instance +<- SubnetA \(GetAtt,Ref\), WebProfile \(Ref\)/);
      expect(text.trimEnd().split('\n').at(-1)).toBe(`${Object.keys(seed.Resources).length} resources, ${sg.edges.length} dependencies, 6 waves`);
    });
    it('renders as dot, arrows in creation order', () => {
      const dot = renderGraph(sg, 'dot');
      expect(dot.startsWith('digraph stack {')).toBe(true);
      expect(dot).toContain('"MainVpc" -> "SubnetA" [label="Ref"];');
      expect(dot).toContain('subgraph wave_6 {');
    });
    it('renders as mermaid', () => {
      const m = renderGraph(sg, 'mermaid');
      expect(m.startsWith('flowchart LR\n')).toBe(true);
      expect(m).toContain('n_ecRedis -->|GetAtt| n_ec2Instance');
    });
  });
});
