// The pure half of the load balancer data plane: HAProxy configuration from a model, health check
// targets and matchers, and HAProxy's stats read as AWS target states.
import { describe, expect, it } from 'vitest';
import { freshMembers, leavingMembers, matcherRegex, parseClassicTarget, parseStat, renderHaproxyConfig, admitCommands, targetState, type LbModel } from '../../../src/providers/docker/haproxy.js';

const model = (members: Array<[string, string]>): LbModel => ({
  frontends: [{ name: 'listener_80', port: 80, mode: 'http', backend: 'port_8080' }],
  backends: [
    {
      name: 'port_8080',
      mode: 'http',
      health: { protocol: 'HTTP', port: 8081, path: '/health', intervalS: 5, timeoutS: 2, healthyThreshold: 2, unhealthyThreshold: 3, matcher: '200-202' },
      static: [],
      members: members.map(([id, addr]) => ({ id, addr, port: 8080 })),
      drainS: 10,
    },
  ],
});

describe('HAProxy configuration', () => {
  it('renders a listener, its backend, the health check and seamless-reload plumbing', () => {
    const cfg = renderHaproxyConfig(
      model([
        ['i-a', '10.0.1.4'],
        ['i-b', '10.0.1.5'],
      ]),
      new Set(['port_8080/i-b']),
    );
    expect(cfg).toContain('stats socket /run/haproxy/admin.sock mode 600 level admin expose-fd listeners');
    expect(cfg).toContain('load-server-state-from-file global');
    expect(cfg).toMatch(/frontend listener_80\n  mode http\n  bind :80\n  option forwardfor\n  default_backend port_8080/);
    expect(cfg).toContain('http-check send meth GET uri /health ver HTTP/1.1');
    expect(cfg).toContain('http-check expect rstatus ^(200|201|202)$');
    // rise/fall keep the AWS thresholds; checks at most 1 s apart, every 100 ms while changing state
    expect(cfg).toContain('server i-a 10.0.1.4:8080 check inter 1s rise 2 fall 3 fastinter 100 downinter 100 port 8081\n');
    // A member new in this configuration is left out: the runtime API adds it as "initial".
    expect(cfg).not.toContain('i-b');
  });
  it('adds new members at run time as "initial": in MAINT, then DOWN until rise good checks', () => {
    const cmds = admitCommands(
      model([
        ['i-a', '10.0.1.4'],
        ['i-b', '10.0.1.5'],
      ]),
      new Set(['port_8080/i-b']),
    );
    expect(cmds).toEqual([
      'add server port_8080/i-b 10.0.1.5:8080 check inter 1s rise 2 fall 3 fastinter 100 downinter 100 port 8081',
      'enable health port_8080/i-b',
      'set server port_8080/i-b state drain',
      'set server port_8080/i-b health down',
      'set server port_8080/i-b state ready',
    ]);
  });
  it('stays a valid configuration without listeners (an ALB before its first Listener)', () => {
    expect(renderHaproxyConfig({ frontends: [], backends: [] })).toContain('listen kiln_idle');
  });
  it('tells new and leaving members apart by id and address', () => {
    const before = model([
      ['i-a', '10.0.1.4'],
      ['i-b', '10.0.1.5'],
    ]);
    const after = model([
      ['i-b', '10.0.1.5'],
      ['i-c', '10.0.1.4'],
    ]);
    expect([...freshMembers(before, after)]).toEqual(['port_8080/i-c']);
    expect(leavingMembers(before, after).map((l) => l.member.id)).toEqual(['i-a']);
    expect([...freshMembers(undefined, before)].sort()).toEqual(['port_8080/i-a', 'port_8080/i-b']);
  });
});

describe('health checks', () => {
  it('reads classic targets', () => {
    expect(parseClassicTarget('HTTP:80/cgi-bin/health')).toEqual({ protocol: 'HTTP', port: 80, path: '/cgi-bin/health' });
    expect(parseClassicTarget('tcp:5000')).toEqual({ protocol: 'TCP', port: 5000 });
    expect(() => parseClassicTarget('HTTP:80')).toThrow(/need a path/);
    expect(() => parseClassicTarget('TCP:80/x')).toThrow(/no path/);
    expect(() => parseClassicTarget('80')).toThrow(/PROTOCOL:PORT/);
  });
  it('turns matchers into status regexes', () => {
    expect(matcherRegex('200')).toBe('^(200)$');
    expect(matcherRegex('200,302')).toBe('^(200|302)$');
    expect(() => matcherRegex('2xx')).toThrow(/HTTP codes/);
  });
});

describe('target states', () => {
  const csv = [
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status',
    'b,i-up,0,0,3,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,1,0,,1,2,1,,0,,2,0,,0,L7OK',
    'b,i-new,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1,1,0,0,0,1,0,,1,2,2,,0,,2,0,,0,* INI',
    'b,i-bad,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN 1/2,1,1,0,0,0,1,0,,1,2,3,,0,,2,0,,0,L4CON',
    'b,i-out,0,0,1,0,,0,0,0,,0,,0,0,0,0,DRAIN,1,1,0,0,0,1,0,,1,2,4,,0,,2,0,,0,L7OK',
    'b,BACKEND,0,0,4,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,,0,1,0,,1,2,0,,0,,1,0,,0,',
  ].join('\n');
  it('maps HAProxy status to AWS target health (initial, healthy, unhealthy, draining)', () => {
    const rows = parseStat(csv);
    expect(rows.map((r) => [r.server, targetState(r), r.sessions])).toEqual([
      ['i-up', 'healthy', 3],
      ['i-new', 'initial', 0],
      ['i-bad', 'unhealthy', 0],
      ['i-out', 'draining', 1],
    ]);
    expect(targetState({ status: 'MAINT', checkStatus: '' })).toBe('unused');
  });
});
