// How listeners, health checks and targets of the templates become a load balancer model, with AWS's
// defaults where the template says nothing, and user mistakes refused with what and where.
import { describe, expect, it } from 'vitest';
import { EventLog } from '../../../src/core/events.js';
import type { KnownResource, ProviderEvent, ResourceContext } from '../../../src/model/provider.js';
import { classicModel } from '../../../src/providers/docker/elb.js';
import { tgBackend, tgBackendName } from '../../../src/providers/docker/elbv2.js';

function ctxWith(instances: Record<string, string>): ResourceContext {
  const known = (id: string): KnownResource | undefined =>
    instances[id] ? { stack: 's', logicalId: id, type: 'AWS::EC2::Instance', properties: {}, state: { physicalId: id, attributes: { PrivateIp: instances[id] } } } : undefined;
  return {
    stack: 's',
    logicalId: 'Elb',
    type: 'x',
    deployment: 'd',
    signal: new AbortController().signal,
    events: new EventLog<ProviderEvent>(),
    lookup: known,
    resources: () => [],
    allResources: () => [],
  };
}

describe('classic ELB model', () => {
  const ctx = ctxWith({ 'i-0000000000000000a': '10.0.1.4' });
  it('maps listeners to frontends and instance ports to backends, with the configured check', () => {
    const m = classicModel(ctx, 'web', {
      Instances: ['i-0000000000000000a'],
      Listeners: [
        { LoadBalancerPort: '80', InstancePort: '8080', Protocol: 'HTTP' },
        { LoadBalancerPort: 443, InstancePort: 8443, Protocol: 'TCP' },
      ],
      HealthCheck: { Target: 'HTTP:8080/health', Interval: '10', Timeout: '5', HealthyThreshold: '3', UnhealthyThreshold: '4' },
    });
    expect(m.frontends).toEqual([
      { name: 'listener_80', port: 80, mode: 'http', backend: 'port_8080' },
      { name: 'listener_443', port: 443, mode: 'tcp', backend: 'port_8443' },
    ]);
    expect(m.backends[0]).toMatchObject({ static: [{ id: 'i-0000000000000000a', addr: '10.0.1.4', port: 8080 }], discover: { key: 'web', port: 8080 } });
    expect(m.backends[0].health).toEqual({ protocol: 'HTTP', port: 8080, path: '/health', intervalS: 10, timeoutS: 5, healthyThreshold: 3, unhealthyThreshold: 4, matcher: '200' });
  });
  it('uses AWS defaults without a HealthCheck: TCP on the first instance port, 30 s, 5 s, 10 healthy, 2 unhealthy', () => {
    const m = classicModel(ctx, 'web', { Listeners: [{ LoadBalancerPort: 80, InstancePort: 80 }] });
    expect(m.backends[0].health).toMatchObject({ protocol: 'TCP', port: 80, intervalS: 30, timeoutS: 5, healthyThreshold: 10, unhealthyThreshold: 2 });
  });
  it('refuses what AWS refuses, saying where', () => {
    expect(() => classicModel(ctx, 'web', { Listeners: [] })).toThrow(/at least one listener/);
    expect(() =>
      classicModel(ctx, 'web', {
        Listeners: [
          { LoadBalancerPort: 80, InstancePort: 80 },
          { LoadBalancerPort: 80, InstancePort: 81 },
        ],
      }),
    ).toThrow(/Listeners\[1\]: port 80 is used by two listeners/);
    expect(() => classicModel(ctx, 'web', { Listeners: [{ LoadBalancerPort: 80, InstancePort: 80 }], HealthCheck: { Target: 'HTTP:80/', Interval: 5, Timeout: 5 } })).toThrow(
      /Timeout \(5\) must be smaller/,
    );
    expect(() => classicModel(ctx, 'web', { Listeners: [{ LoadBalancerPort: 80, InstancePort: 80 }], Instances: ['i-0000000000000000f'] })).toThrow(
      /Instances\[0\]: the instance 'i-0000000000000000f' does not exist/,
    );
  });
});

describe('target group backend', () => {
  const arn = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
  it('has AWS defaults: path /, 30 s interval, 5 s timeout, 5 healthy, 2 unhealthy, 200, 300 s deregistration delay', () => {
    const b = tgBackend(ctxWith({}), { arn, props: { Port: 8080, Protocol: 'HTTP' } });
    expect(b.name).toBe(tgBackendName(arn));
    expect(b.health).toEqual({ protocol: 'HTTP', path: '/', intervalS: 30, timeoutS: 5, healthyThreshold: 5, unhealthyThreshold: 2, matcher: '200' });
    expect(b).toMatchObject({ mode: 'http', drainS: 300, discover: { key: arn, port: 8080 } });
  });
  it('reads targets by instance id or address, a health check port and a matcher', () => {
    const b = tgBackend(ctxWith({ 'i-0000000000000000a': '10.0.1.4' }), {
      arn,
      props: { Port: 80, Targets: [{ Id: 'i-0000000000000000a' }, { Id: '10.0.2.9', Port: 81 }], HealthCheckPort: '8081', Matcher: { HttpCode: '200-299' } },
    });
    expect(b.static).toEqual([
      { id: 'i-0000000000000000a', addr: '10.0.1.4', port: 80 },
      { id: '10.0.2.9', addr: '10.0.2.9', port: 81 },
    ]);
    expect(b.health).toMatchObject({ port: 8081, matcher: '200-299' });
    expect(() => tgBackend(ctxWith({}), { arn, props: { Matcher: { HttpCode: 'ok' } } })).toThrow(/HTTP codes/);
  });
});
