// The pure half of listener rules (lb-rules.ts): AWS conditions and actions read and checked, and the
// HAProxy lines they become. The behaviour through a real HAProxy is listenerrule.test.ts.
import { describe, expect, it } from 'vitest';
import { parseActions, parseCondition, redirectLocations, renderRules, wildcardRegex } from '../../../src/providers/docker/lb-rules.js';

const backend = (arn: string) => `tg_${arn}`;

describe('listener rule conditions', () => {
  it('turn AWS wildcards into anchored expressions, special characters escaped', () => {
    expect(wildcardRegex('/api/*')).toBe('^/api/.*$');
    expect(wildcardRegex('*.example.com')).toBe('^.*\\.example\\.com$');
    expect(wildcardRegex('/v?/a+b')).toBe('^/v./a\\+b$');
  });

  it('read every field with Values or its Config, and refuse what AWS refuses', () => {
    expect(parseCondition({ Field: 'host-header', Values: ['A.example.com'] }, 'C')).toEqual([
      { fetch: 'req.hdr(host),field(1,:)', patterns: ['^A\\.example\\.com$'], match: 'reg', caseInsensitive: true },
    ]);
    expect(parseCondition({ Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'v', Value: '2' }, { Value: 'x*' }] } }, 'C').map((c) => c.fetch)).toEqual(['urlp(v)', 'query']);
    expect(parseCondition({ Field: 'source-ip', SourceIpConfig: { Values: ['10.0.0.0/8'] } }, 'C')[0]).toMatchObject({ fetch: 'src', match: 'ip' });
    expect(() => parseCondition({ Field: 'path-pattern', Values: ['/a', '/b', '/c', '/d', '/e', '/f'] }, 'C')).toThrow(/at most 5 values/);
    expect(() => parseCondition({ Field: 'path-pattern', Values: ['/a b'] }, 'C')).toThrow(/character AWS does not allow/);
    expect(() => parseCondition({ Field: 'http-header', HttpHeaderConfig: { Values: ['x'] } }, 'C')).toThrow(/HttpHeaderName/);
    expect(() => parseCondition({ Field: 'cookie', Values: ['x'] }, 'Conditions[0]')).toThrow(/Conditions\[0\]\.Field 'cookie' is not one of/);
  });
});

describe('listener rule actions', () => {
  it('forward (weighted), fixed-response and redirect; authentication is refused as not local', () => {
    expect(
      parseActions(
        [
          {
            Type: 'forward',
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: 'a', Weight: 3 },
                { TargetGroupArn: 'b', Weight: 0 },
              ],
            },
          },
        ],
        backend,
      ),
    ).toEqual({
      type: 'forward',
      targets: [
        { tgArn: 'a', weight: 3, backend: 'tg_a' },
        { tgArn: 'b', weight: 0, backend: 'tg_b' },
      ],
    });
    expect(parseActions([{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '503' } }], backend)).toEqual({ type: 'fixed-response', status: 503 });
    expect(() => parseActions([{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '600' } }], backend)).toThrow(/2XX, 3XX, 4XX or 5XX/);
    expect(() => parseActions([{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: 'a', Weight: 0 }] } }], backend)).toThrow(/weight above 0/);
    expect(() => parseActions([{ Type: 'authenticate-cognito' }, { Type: 'forward', TargetGroupArn: 'a' }], backend)).toThrow(/authenticate-cognito cannot be realised on the local target/);
  });

  it('redirects keep what AWS keeps by default', () => {
    expect(redirectLocations({ StatusCode: 'HTTP_301' })).toEqual({ location: 'http://%[req.hdr(host)]%[url]' });
    expect(redirectLocations({ Host: 'new.#{host}', Port: '8080', Path: '/x/#{path}', Query: '', StatusCode: 'HTTP_302' })).toEqual({
      location: 'http://new.%[req.hdr(host),field(1,:)]:8080/x/%[path,regsub(^/,)]',
    });
    // A custom path keeps the request's query; without one, AWS adds no "?" (it adds the "?" itself).
    expect(redirectLocations({ Protocol: 'HTTPS', Port: '443', Path: '/100%', StatusCode: 'HTTP_301' })).toEqual({
      location: 'https://%[req.hdr(host),field(1,:)]/100%%?%[query]',
      bare: 'https://%[req.hdr(host),field(1,:)]/100%%',
    });
    // A query with fixed text is never empty: one location.
    expect(redirectLocations({ Path: '/n', Query: '#{query}&v=1', StatusCode: 'HTTP_301' })).toEqual({ location: 'http://%[req.hdr(host)]/n?%[query]&v=1' });
    expect(() => redirectLocations({ Path: 'x', StatusCode: 'HTTP_301' })).toThrow(/must start with \//);
  });
});

describe('rendering', () => {
  it('chooses the rule in priority order first, then acts on the chosen one', () => {
    const lines = renderRules(
      [
        {
          id: 'late',
          priority: 20,
          conditions: [[{ fetch: 'path', patterns: ['^/a$'], match: 'reg', caseInsensitive: false }]],
          action: { type: 'fixed-response', status: 404, body: 'gone "now" $X' },
        },
        {
          id: 'early',
          priority: 10,
          conditions: [[{ fetch: 'method', patterns: ['GET'], match: 'str', caseInsensitive: false }]],
          action: {
            type: 'forward',
            targets: [
              { tgArn: 'a', backend: 'tg_a', weight: 1 },
              { tgArn: 'b', backend: 'tg_b', weight: 3 },
            ],
          },
        },
      ],
      (s) => s,
    );
    expect(lines).toEqual([
      '  # rule early (priority 10)',
      '  acl kiln_r0_c0 method -m str "GET"',
      '  http-request set-var(txn.kiln_rule) str(r0) if !{ var(txn.kiln_rule) -m found } kiln_r0_c0',
      '  # rule late (priority 20)',
      '  acl kiln_r1_c0 path -m reg "^/a\\$"',
      '  http-request set-var(txn.kiln_rule) str(r1) if !{ var(txn.kiln_rule) -m found } kiln_r1_c0',
      '  http-request set-var(txn.kiln_w) rand(4) if { var(txn.kiln_rule) -m str r0 }',
      '  http-request return status 404 string "gone \\"now\\" \\$X" if { var(txn.kiln_rule) -m str r1 }',
      '  use_backend tg_a if { var(txn.kiln_rule) -m str r0 } { var(txn.kiln_w) -m int ge 0 } { var(txn.kiln_w) -m int lt 1 }',
      '  use_backend tg_b if { var(txn.kiln_rule) -m str r0 } { var(txn.kiln_w) -m int ge 1 } { var(txn.kiln_w) -m int lt 4 }',
    ]);
  });
});
