// Which values an evaluation reports as built from a NoEcho parameter (ResolvedTemplate.derivedSecrets):
// what a string-building intrinsic makes of a secret value, not what a secret only chose.
import { describe, expect, it } from 'vitest';
import { evaluateTemplate } from '../../src/stack/evaluate.js';

const derived = (value: unknown, params: Record<string, string> = { Pw: 'left-part,right-part' }) =>
  (
    evaluateTemplate(
      {
        Parameters: { Pw: { Type: 'String', NoEcho: true }, Region: { Type: 'String', NoEcho: true, Default: 'eu' } },
        Mappings: { Hosts: { eu: { Name: 'eu-host-name' } } },
        Resources: { A: { Type: 'AWS::SNS::Topic', Properties: { TopicName: value } } },
      },
      { parameters: params },
    ).template.derivedSecrets ?? []
  )
    .map((d) => `${d.parameter}:${d.value}`)
    .sort();

describe('values derived from a NoEcho parameter', () => {
  it('are every piece of a Fn::Split of it, and what Fn::Base64 makes of it', () => {
    expect(derived({ 'Fn::Select': [1, { 'Fn::Split': [',', { Ref: 'Pw' }] }] })).toEqual(['Pw:left-part', 'Pw:right-part']);
    expect(derived({ 'Fn::Base64': { Ref: 'Pw' } })).toEqual([`Pw:${Buffer.from('left-part,right-part').toString('base64')}`]);
  });

  it('leave Fn::Sub and Fn::Join out: they hold the secret verbatim, masked there as a part ("u=****")', () => {
    expect(derived({ 'Fn::Sub': 'u=${Pw}' })).toEqual([]);
    expect(derived({ 'Fn::Join': ['-', ['x', { Ref: 'Pw' }]] })).toEqual([]);
  });

  it('go through Fn::If and nest: the outer intrinsic built from a derived value is secret too', () => {
    const v = { 'Fn::If': ['Always', { 'Fn::Base64': { 'Fn::Join': ['', ['k=', { 'Fn::Select': [0, { 'Fn::Split': [',', { Ref: 'Pw' }] }] }]] } }, 'none'] };
    const t = {
      Parameters: { Pw: { Type: 'String', NoEcho: true } },
      Conditions: { Always: { 'Fn::Equals': ['a', 'a'] } },
      Resources: { A: { Type: 'AWS::SNS::Topic', Properties: { TopicName: v } } },
    };
    const r = evaluateTemplate(t, { parameters: { Pw: 'left-part,right-part' } }).template.derivedSecrets!.map((d) => d.value);
    expect(r).toContain(Buffer.from('k=left-part').toString('base64'));
    expect(r).toContain('left-part');
  });

  it('are not what a secret only chose: a Fn::FindInMap value keyed by one, nor anything built from that', () => {
    expect(derived({ 'Fn::Base64': { 'Fn::FindInMap': ['Hosts', { Ref: 'Region' }, 'Name'] } })).toEqual([]);
  });

  it('keep pieces shorter than 4 characters too (they are masked where they are a whole value)', () => {
    expect(derived({ 'Fn::Select': [0, { 'Fn::Split': [',', { Ref: 'Pw' }] }] }, { Pw: 'ab,long-piece' })).toEqual(['Pw:ab', 'Pw:long-piece']);
  });

  it('are what Fn::Sub and Fn::Join build from a secret shorter than 4 characters (a part of a text is not masked)', () => {
    expect(derived({ 'Fn::Sub': 'u=${Pw}' }, { Pw: 'ab' })).toEqual(['Pw:u=ab']);
    expect(derived({ 'Fn::Join': ['-', ['x', { Ref: 'Pw' }]] }, { Pw: 'q' })).toEqual(['Pw:x-q']);
    // Nested: the outer Fn::Join still knows that a short secret went in.
    expect(derived({ 'Fn::Join': ['', ['<', { 'Fn::Join': ['-', ['x', { Ref: 'Pw' }]] }, '>']] }, { Pw: 'q' })).toEqual(['Pw:<x-q>', 'Pw:x-q']);
    // A short piece of a long secret, joined: secret as well.
    expect(derived({ 'Fn::Join': ['=', ['k', { 'Fn::Select': [0, { 'Fn::Split': [',', { Ref: 'Pw' }] }] }]] }, { Pw: 'ab,long-piece' })).toEqual(['Pw:ab', 'Pw:k=ab', 'Pw:long-piece']);
  });

  it('are none when the evaluation masks NoEcho values (render, plan printing)', () => {
    const r = evaluateTemplate(
      { Parameters: { Pw: { Type: 'String', NoEcho: true } }, Resources: { A: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::Base64': { Ref: 'Pw' } } } } } },
      { parameters: { Pw: 'secret-value' }, maskNoEcho: true },
    );
    expect(r.template.derivedSecrets).toEqual([]);
  });
});
