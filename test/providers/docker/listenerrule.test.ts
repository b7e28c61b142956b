// AWS::ElasticLoadBalancingV2::ListenerRule on the real engine: an application load balancer with two
// target groups (a web server each, answering "A" or "B"), rules by path, host, header and query,
// a weighted forward, a fixed response and a redirect, all in the real HAProxy, checked with real
// HTTP requests from the host; priority order, an update, the rule's target group kept from
// deletion, and a delete that restores the default action.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../src/stack/model.js';
import { listenerHandler, listenerRuleHandler, loadBalancerV2Handler, targetGroupHandler, tgBackendName } from '../../../src/providers/docker/elbv2.js';
import { lbContainers, readModel, targetStates } from '../../../src/providers/docker/haproxy.js';
import { instanceHandler } from '../../../src/providers/docker/instance.js';
import { World, buildTestImage, removeImages } from './ctx.js';
import { network, until } from './elb.helpers.js';

const world = new World();
const stack = world.stack();
const TEST = { 'kiln.test': `rules-${stack.name}` };

/** busybox httpd answering every page of /, /api/, /api/secret/, /old/x/ with `name` and the path. */
function siteImage(name: string): Promise<string> {
  const pages = ['', 'api', 'api/secret', 'old/x', 'new/x'].map((p) => `mkdir -p /www/${p}; echo \\"${name} /${p}\\" > /www/${p}/index.html`).join('; ');
  return buildTestImage(`kiln-test/rules-${name.toLowerCase()}:${stack.name}`, `FROM busybox:latest\nCMD ["sh", "-c", "${pages}; echo ok > /www/health; exec httpd -f -p 80 -h /www"]\n`, TEST);
}

interface Answer {
  status: number;
  body: string;
  location?: string;
}

function request(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false, timeout: 3000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString().trim(), ...(res.headers.location ? { location: res.headers.location } : {}) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe('AWS::ElasticLoadBalancingV2::ListenerRule', () => {
  let net: Awaited<ReturnType<typeof network>>;
  const images: Record<string, string> = {};
  beforeAll(async () => {
    images.a = await siteImage('A');
    images.b = await siteImage('B');
    net = await network(stack, 102);
  }, 180_000);
  afterAll(async () => {
    await world.cleanup();
    await removeImages('kiln.test', TEST['kiln.test']);
  });

  it('routes by path, host, header and query in priority order, weighs, answers and redirects in HAProxy', async () => {
    const web = async (id: string, image: string) =>
      (await stack.create(instanceHandler, id, { ImageId: image, InstanceType: 't2.micro', SubnetId: net.subnetA, SecurityGroupIds: [net.webSg] })).physicalId;
    const a = await web('WebA', images.a);
    const b = await web('WebB', images.b);
    const tg = async (id: string, target: string) =>
      (
        await stack.create(targetGroupHandler, id, {
          Port: 80,
          Protocol: 'HTTP',
          VpcId: net.vpc,
          HealthCheckPath: '/health',
          HealthCheckIntervalSeconds: 2,
          HealthCheckTimeoutSeconds: 1,
          HealthyThresholdCount: 2,
          Targets: [{ Id: target }],
        })
      ).physicalId;
    const tgA = await tg('TgA', a);
    const tgB = await tg('TgB', b);
    const alb = await stack.create(loadBalancerV2Handler, 'Alb', { Subnets: [net.subnetA], SecurityGroups: [net.lbSg] });
    const listener = await stack.create(listenerHandler, 'Http', { LoadBalancerArn: alb.physicalId, Port: 80, Protocol: 'HTTP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tgA }] });
    const url = `http://${String(alb.attributes.DNSName)}`;

    const rule = (id: string, props: JsonObject) => stack.create(listenerRuleHandler, id, { ListenerArn: listener.physicalId, ...props });
    const toB = [{ Type: 'forward', TargetGroupArn: tgB }];
    const api = await rule('Api', { Priority: 10, Conditions: [{ Field: 'path-pattern', Values: ['/api/*'] }], Actions: toB });
    expect(api.physicalId).toMatch(/:listener-rule\/app\/[A-Za-z0-9-]+\/[0-9a-f]{16}\/[0-9a-f]{16}\/[0-9a-f]{16}$/);
    expect(api.attributes).toEqual({ RuleArn: api.physicalId, IsDefault: false });
    await rule('Secret', {
      Priority: 5,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/secret/*'] } }],
      Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'application/json', MessageBody: '{"error": "no such thing $HOME #1"}' } }],
    });
    await rule('Admin', {
      Priority: 20,
      Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: ['admin.example.*', 'ops.example.com'] } }],
      Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '403', ContentType: 'text/plain', MessageBody: 'admins only' } }],
    });
    await rule('Canary', {
      Priority: 30,
      Conditions: [
        { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['y*'] } },
        { Field: 'http-request-method', HttpRequestMethodConfig: { Values: ['GET', 'HEAD'] } },
      ],
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: tgA, Weight: 1 },
              { TargetGroupArn: tgB, Weight: 1 },
            ],
          },
        },
      ],
    });
    await rule('Query', { Priority: 40, Conditions: [{ Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'site', Value: 'b' }] } }], Actions: toB });
    await rule('Old', {
      Priority: 50,
      Conditions: [{ Field: 'path-pattern', Values: ['/old/*'] }],
      Actions: [{ Type: 'redirect', RedirectConfig: { Path: '/new/x/', Query: 'from=old', StatusCode: 'HTTP_301' } }],
    });
    await rule('Moved', {
      Priority: 55,
      Conditions: [{ Field: 'path-pattern', Values: ['/moved/*'] }],
      Actions: [{ Type: 'redirect', RedirectConfig: { Path: '/new/x/', StatusCode: 'HTTP_302' } }],
    });
    await until(
      () => targetStates(world, [tgBackendName(tgA), tgBackendName(tgB)]),
      (s) => s.length === 2 && s.every((x) => x.state === 'healthy'),
      30_000,
    );

    expect(await request(`${url}/`)).toMatchObject({ status: 200, body: 'A /' }); // default action
    expect(await request(`${url}/api/`)).toMatchObject({ status: 200, body: 'B /api' });
    // Priority 5 beats 10 though both match; a host rule (20) loses to a path rule (10).
    expect(await request(`${url}/api/secret/`)).toEqual({ status: 404, body: '{"error": "no such thing $HOME #1"}' });
    expect(await request(`${url}/api/`, { Host: 'admin.example.org' })).toMatchObject({ status: 200, body: 'B /api' });
    expect(await request(`${url}/`, { Host: 'ADMIN.example.org:8080' })).toEqual({ status: 403, body: 'admins only' });
    expect(await request(`${url}/`, { Host: 'ops.example.com' })).toMatchObject({ status: 403 });
    expect(await request(`${url}/`, { Host: 'ops.example.co' })).toMatchObject({ status: 200, body: 'A /' });
    expect(await request(`${url}/?site=B`)).toMatchObject({ body: 'B /' }); // query values match case-insensitively
    expect(await request(`${url}/?other=b`)).toMatchObject({ body: 'A /' });
    expect(await request(`${url}/old/x/?q=1`)).toEqual({ status: 301, body: expect.any(String) as unknown as string, location: `http://${String(alb.attributes.DNSName)}/new/x/?from=old` });
    // A custom path keeps the request's query (#{query} by default), and adds no bare "?" without one.
    expect(await request(`${url}/moved/a`)).toMatchObject({ status: 302, location: `http://${String(alb.attributes.DNSName)}/new/x/` });
    expect(await request(`${url}/moved/a?`)).toMatchObject({ status: 302, location: `http://${String(alb.attributes.DNSName)}/new/x/` });
    expect(await request(`${url}/moved/a?k=v&w=1`)).toMatchObject({ status: 302, location: `http://${String(alb.attributes.DNSName)}/new/x/?k=v&w=1` });
    // Weighted forward: both groups answer the canary header, about half each.
    const seen = { A: 0, B: 0 } as Record<string, number>;
    for (let i = 0; i < 40; i++) seen[(await request(`${url}/`, { 'X-Canary': 'Yes' })).body[0]]++;
    expect(seen.A + seen.B).toBe(40);
    expect(Math.min(seen.A, seen.B)).toBeGreaterThan(5);

    // The rules are in the balancer's model and config, in priority order; duplicates are refused.
    const [c] = await lbContainers(world, alb.physicalId);
    const model = await readModel(world, c.id);
    expect(model?.frontends[0].rules?.map((r) => r.priority)).toEqual([5, 10, 20, 30, 40, 50, 55]);
    await expect(rule('Dup', { Priority: 10, Conditions: [{ Field: 'path-pattern', Values: ['/x'] }], Actions: toB })).rejects.toThrow(/PriorityInUse/);
    await expect(rule('Auth', { Priority: 60, Conditions: [{ Field: 'path-pattern', Values: ['/x'] }], Actions: [{ Type: 'authenticate-oidc' }, ...toB] })).rejects.toThrow(
      /authenticate-oidc cannot be realised/,
    );
    await expect(stack.delete(targetGroupHandler, 'TgB')).rejects.toThrow(/ResourceInUse/);

    // Update: /api/* now goes to A; a listener change keeps the rules.
    await stack.update(listenerRuleHandler, 'Api', {
      ListenerArn: listener.physicalId,
      Priority: 10,
      Conditions: [{ Field: 'path-pattern', Values: ['/api/*'] }],
      Actions: [{ Type: 'forward', TargetGroupArn: tgA }],
    });
    expect(await request(`${url}/api/`)).toMatchObject({ body: 'A /api' });
    await stack.update(listenerHandler, 'Http', { LoadBalancerArn: alb.physicalId, Port: 80, Protocol: 'HTTP', DefaultActions: [{ Type: 'forward', TargetGroupArn: tgB }] });
    expect(await request(`${url}/`)).toMatchObject({ body: 'B /' });
    expect(await request(`${url}/api/secret/`)).toMatchObject({ status: 404 });

    // Deleting rules gives their requests back to the default action.
    for (const id of ['Secret', 'Admin', 'Canary', 'Query', 'Old', 'Moved', 'Api']) await stack.delete(listenerRuleHandler, id);
    expect(await request(`${url}/api/secret/`)).toMatchObject({ status: 200, body: 'B /api/secret' });
    expect((await readModel(world, c.id))?.frontends[0].rules).toEqual([]);
    await stack.delete(listenerHandler, 'Http');
    await stack.delete(targetGroupHandler, 'TgA');
    await stack.delete(targetGroupHandler, 'TgB');
    await stack.delete(loadBalancerV2Handler, 'Alb');
  }, 240_000);
});
