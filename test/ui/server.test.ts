// `kiln ui`'s server over a state directory deployed with the fake provider: who may ask it what,
// that it changes nothing, that no NoEcho value is in anything it serves, and that a kiln process's
// feed reaches the event stream as it happens.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { startUi, type UiServer } from '../../src/ui/server.js';
import { FakeProvider } from '../../src/providers/fake/index.js';
import { closeAllStates } from '../../src/state/db.js';
import { client } from '../docker.js';
import { openLiveFeed } from '../../src/ui/feed.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-ui-server-'));
const state = join(dir, 'state');
const env = { ...process.env, KILN_PROVIDER: 'fake', KILN_FAKE_STORE: join(dir, 'fake.json') };
const SECRET = 'n0echo-Vx93-sekrit';

async function kiln(...args: string[]) {
  const io = memoryIO({ cwd: dir, env });
  const code = await main([...args, '--state-dir', state], io);
  return { code, out: io.stdout, err: io.stderr };
}

writeFileSync(
  join(dir, 'web.json'),
  JSON.stringify({
    Parameters: { Password: { Type: 'String', NoEcho: true }, Greeting: { Type: 'String', Default: 'hello' } },
    Resources: {
      Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16', Tags: [{ Key: 'pw', Value: { Ref: 'Password' } }] } },
      Web: { Type: 'Test::Fake::Resource', Properties: { Value: { 'Fn::Sub': '${Greeting} ${Password} ${Vpc}' }, Delay: 150 } },
      Broken: { Type: 'Test::Fake::Resource', Properties: { Fail: { 'Fn::If': ['Never', true, false] } } },
    },
    Conditions: { Never: { 'Fn::Equals': ['a', 'b'] } },
    Outputs: { Url: { Value: 'http://127.0.0.1:9/' }, Echo: { Value: { 'Fn::Sub': 'pw=${Password}' } }, Said: { Value: { 'Fn::GetAtt': ['Web', 'Value'] } } },
  }),
);

let ui: UiServer;
let base: string;
beforeAll(async () => {
  expect((await kiln('deploy', 'web.json', '--stack', 'web', '--param', `Password=${SECRET}`, '--yes')).code).toBe(0);
  ui = await startUi({ stateDir: state, host: '127.0.0.1', port: 0, provider: async () => new FakeProvider({ file: join(dir, 'fake.json') }), docker: client });
  base = `http://127.0.0.1:${ui.port}`;
});
afterAll(async () => {
  await ui?.close();
  closeAllStates();
  rmSync(dir, { recursive: true, force: true });
});

/** A raw request (fetch would not let a test set Host). */
function get(path: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: o.method ?? 'GET', headers: o.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Waits (up to 5 s) until `ok` holds. */
async function until(ok: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100 && !(await ok()); i++) await new Promise((r) => setTimeout(r, 50));
}

describe('who may ask kiln ui what', () => {
  test('a request without the token, or with a wrong one, is refused with 403 and a reason', async () => {
    for (const path of [
      '/',
      '/stacks/web',
      '/stacks/web?part=graph',
      '/stacks/web/deployments/d-1',
      '/api/stacks',
      '/api/stacks/web',
      '/api/stacks/web/drift',
      '/api/events',
      '/history',
      '/builds',
      '/worker.js',
      '/favicon.ico',
      '/nothing',
    ]) {
      const r = await get(path);
      expect(r.status, path).toBe(403);
      expect(r.body).toContain('missing or wrong token');
      expect(r.body).not.toContain('web');
    }
    expect((await get(`/api/stacks?token=${ui.token.slice(0, -1)}x`)).status).toBe(403);
    expect((await get('/api/stacks', { headers: { Cookie: `kiln-ui-${ui.port}=nope` } })).status).toBe(403);
  });

  test('the token once in the URL sets an HttpOnly cookie of this port that works from then on', async () => {
    const first = await get(`/?token=${ui.token}`);
    expect(first.status).toBe(200);
    expect(String(first.headers['set-cookie'])).toBe(`kiln-ui-${ui.port}=${ui.token}; Path=/; HttpOnly; SameSite=Strict`);
    expect((await get('/api/stacks', { headers: { Cookie: `other=1; kiln-ui-${ui.port}=${ui.token}` } })).status).toBe(200);
  });

  test('a Host header naming another site is refused (DNS rebinding), even with the token', async () => {
    const r = await get(`/api/stacks?token=${ui.token}`, { headers: { Host: `evil.example:${ui.port}` } });
    expect(r.status).toBe(403);
    expect(r.body).toContain('Host header refused');
    expect((await get(`/api/stacks?token=${ui.token}`, { headers: { Host: `localhost:${ui.port}` } })).status).toBe(200);
  });

  test('it is read-only: any method but GET and HEAD is 405', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await get(`/api/stacks/web?token=${ui.token}`, { method });
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
  });

  test('a broken %-escape in the address is a 400 page that says so, not a server error', async () => {
    const r = await get(`/stacks/%E0%A4%A?token=${ui.token}`);
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body).toContain('/stacks/%E0%A4%A is not an address of this server (a broken %-escape).');
  });

  test('a stack name that cannot be one (a NUL, a slash, 300 characters) is a 400 page that says why; a path with more parts is a 404 page', async () => {
    const long = 'a'.repeat(300);
    for (const [path, quoted] of [
      ['/stacks/%00', '"\\u0000"'],
      ['/stacks/a%2Fb', '"a/b"'],
      ['/stacks/9lives', '"9lives"'],
      [`/stacks/${long}`, `"${'a'.repeat(60)}…" (300 characters)`],
      ['/stacks/%00/deployments/d-1', '"\\u0000"'],
      ['/history?stack=a%2F..', '"a/.."'],
    ] as const) {
      const r = await get(`${path}${path.includes('?') ? '&' : '?'}token=${ui.token}`);
      expect(r.status, path).toBe(400);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.body, path).toContain('<title>Bad stack name · kiln</title>');
      expect(r.body, path).toContain(`${quoted.replace(/"/g, '&quot;')} is not a stack name: a stack name is 1 to 128 characters, a letter first, then letters, digits and hyphens.`);
      expect(r.body).not.toContain(long);
    }
    for (const path of ['/api/stacks/%00', `/api/stacks/${long}/drift`]) {
      const r = await get(`${path}?token=${ui.token}`);
      expect(r.status, path).toBe(400);
      expect(r.body).toMatch(/^kiln ui: ".*"( \(300 characters\))? is not a stack name/);
    }
    const slashes = await get(`/stacks/a/b?token=${ui.token}`);
    expect(slashes.status).toBe(404);
    expect(slashes.body).toContain('Nothing at /stacks/a/b.');
    // The server is still there, and a good name still works.
    expect((await get(`/stacks/web?token=${ui.token}`)).status).toBe(200);
  });

  test('HEAD of the event stream answers its headers and ends', async () => {
    const r = await get(`/api/events?token=${ui.token}`, { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(r.body).toBe('');
  });

  test('pages carry a CSP that allows only their own nonce-bearing scripts and their own origin', async () => {
    const r = await get(`/stacks/web?token=${ui.token}`);
    const csp = String(r.headers['content-security-policy']);
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(r.body.match(/<script[^>]*>/g)!.every((s) => s.includes(`nonce="${nonce}"`))).toBe(true);
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    // Nothing is loaded from elsewhere (the only outside links are the outputs' URLs, to click).
    expect(r.body).not.toMatch(/src="https?:|<link[^>]+href="https?:|@import/);
  });
});

describe('what kiln ui shows', () => {
  test('a stack: status, outputs with clickable URLs, parameters with the NoEcho one masked, resources', async () => {
    const d = JSON.parse((await get(`/api/stacks/web?token=${ui.token}`)).body);
    expect(d.stack.status).toBe('CREATE_COMPLETE');
    expect(d.parameters).toEqual([{ name: 'Password' }, { name: 'Greeting', value: 'hello' }]);
    expect(d.outputs.Echo.value).toBe('pw=****');
    expect(d.resources.map((r: { logicalId: string; status: string }) => `${r.logicalId} ${r.status}`).sort()).toEqual(['Broken CREATE_COMPLETE', 'Vpc CREATE_COMPLETE', 'Web CREATE_COMPLETE']);
    expect(d.edges).toEqual([{ from: 'Web', to: 'Vpc', via: ['Sub'] }]);
    const page = (await get(`/stacks/web?token=${ui.token}`)).body;
    expect(page).toContain('<a href="http://127.0.0.1:9/" target="_blank" rel="noopener noreferrer" class="ext">http://127.0.0.1:9/</a>');
    expect(page).toMatch(/<td class="k">Password<\/td><td><span class="masked">\*\*\*\*<\/span>/);
  });

  test('no NoEcho value is in any page or answer, nor the salted hash state keeps of it', async () => {
    const paths = [
      '/',
      '/stacks/web',
      '/stacks/web?part=body',
      '/stacks/web?part=graph',
      '/history',
      '/builds',
      '/api/stacks',
      '/api/stacks/web',
      '/api/stacks/web/drift',
      '/api/history',
      '/api/builds',
    ];
    const bodies = await Promise.all(paths.map((p) => get(`${p}${p.includes('?') ? '&' : '?'}token=${ui.token}`)));
    const deployments = JSON.parse((await get(`/api/history?token=${ui.token}`)).body);
    expect(deployments).toHaveLength(1);
    for (const [i, b] of bodies.entries()) {
      expect(b.status, paths[i]).toBe(200);
      expect(b.body, paths[i]).not.toContain(SECRET);
      expect(b.body, paths[i]).not.toMatch(/"(hash|salt)"/);
    }
  });

  test('history lists each deployment with what it changed; an unknown deployment is a 404 page', async () => {
    const h = JSON.parse((await get(`/api/history?token=${ui.token}`)).body);
    expect(h[0].changes.map((c: { change: string; logicalId: string }) => `${c.change} ${c.logicalId}`).sort()).toEqual(['create Broken', 'create Vpc', 'create Web']);
    expect((await get(`/stacks/web/deployments/${h[0].id}?token=${ui.token}`)).body).toContain('class="kt"');
    expect((await get(`/stacks/web/deployments/d-nope?token=${ui.token}`)).status).toBe(404);
  });

  test('a stack nobody deployed yet is a page that waits for one', async () => {
    const r = await get(`/stacks/later?token=${ui.token}`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('Waiting for a <code>kiln deploy</code>');
  });
});

describe('the live feed', () => {
  test('a deploy from another kiln process reaches the event stream as it happens, then ends', async () => {
    const received: Array<{ kind: string; event?: { logicalId: string; status: string; reason: string | null } }> = [];
    let raw = '';
    const stream = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${base}/api/events?token=${ui.token}`, (res) => resolve(res));
      req.on('error', reject);
      req.end();
    });
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    stream.setEncoding('utf8');
    const ended = new Promise<void>((resolve) =>
      stream.on('data', (chunk: string) => {
        raw += chunk;
        for (const m of chunk.split('\n').filter((l) => l.startsWith('data: '))) {
          const msg = JSON.parse(m.slice(6));
          received.push(msg);
          if (msg.kind === 'end') resolve();
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
    // Broken's condition turns true: the update fails there and rolls back.
    writeFileSync(join(dir, 'web2.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(dir, 'web.json'), 'utf8')), Conditions: { Never: { 'Fn::Equals': ['a', 'a'] } } }));
    const r = await kiln('deploy', 'web2.json', '--stack', 'web', '--param', `Password=${SECRET}`, '--yes');
    expect(r.code).toBe(1);
    await ended;
    stream.destroy();
    expect(received[0]!.kind).toBe('hello');
    expect(received.map((m) => m.kind)).toEqual(expect.arrayContaining(['run', 'plan', 'event', 'end']));
    const statuses = received.filter((m) => m.kind === 'event').map((m) => `${m.event!.logicalId} ${m.event!.status}`);
    expect(statuses).toEqual(expect.arrayContaining(['web UPDATE_IN_PROGRESS', 'Broken UPDATE_FAILED', 'web UPDATE_ROLLBACK_COMPLETE']));
    expect(received.find((m) => m.event?.status === 'UPDATE_FAILED')!.event!.reason).toBe('Fake failure requested (update of Broken)');
    expect(raw).not.toContain(SECRET);
    // The run is over: the page's stack shows where it ended.
    const d = JSON.parse((await get(`/api/stacks/web?token=${ui.token}`)).body);
    expect(d.stack.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(d.resources.find((x: { logicalId: string }) => x.logicalId === 'Broken').failed).toBe('Fake failure requested (update of Broken)');
  });

  test('drift is not checked while a run changes the stack (the pages ask again when it ends)', async () => {
    const drift = async () => JSON.parse((await get(`/api/stacks/web/drift?token=${ui.token}`)).body);
    expect((await drift()).resources.length).toBeGreaterThan(0);
    const feed = openLiveFeed({ stateDir: state, stack: 'web', command: 'deploy' });
    await until(async () => (await drift()).running === true);
    expect(await drift()).toEqual({ stack: 'web', resources: [], running: true });
    feed.close('complete');
    await until(async () => (await drift()).running === undefined);
    expect((await drift()).resources.map((r: { logicalId: string }) => r.logicalId).sort()).toEqual(['Broken', 'Vpc', 'Web']);
  });

  test('a second kiln ui on the same state directory is refused while the first runs', async () => {
    await expect(startUi({ stateDir: state, host: '127.0.0.1', port: 0, provider: async () => new FakeProvider(), docker: client })).rejects.toThrow(/another `kiln ui` already serves the state/);
  });
});

describe('kiln ui on the command line', () => {
  test('a bad --port or an unexpected argument is a usage error that says what is wrong', async () => {
    const io = memoryIO({ cwd: dir, env });
    expect(await main(['ui', '--port', 'eighty'], io)).toBe(2);
    expect(io.stderr).toBe('kiln: ui: --port eighty: expected a port number (0-65535)\n');
    const io2 = memoryIO({ cwd: dir, env });
    expect(await main(['ui', 'extra'], io2)).toBe(2);
    expect(io2.stderr).toContain('ui: unexpected argument extra');
  });

  test('--help says what the page shows and that it is read-only and loopback-only', async () => {
    const io = memoryIO({ cwd: dir, env });
    expect(await main(['ui', '--help'], io)).toBe(0);
    expect(io.stdout).toContain('Usage: kiln ui [--port N] [--host H] [--state-dir DIR]');
    expect(io.stdout).toContain('read-only');
    expect(io.stdout).toContain('127.0.0.1');
  });
});
