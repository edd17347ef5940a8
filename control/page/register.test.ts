import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { pageErrors, registerFleetPage } from './index.js';

test('serves the page with its Faro URL escaped and a CSP that allows only that origin', async () => {
  const app = Fastify();
  registerFleetPage(app, { faroUrl: 'https://collector.example:9201/faro/collect?x="<b>', version: '1.2.3' });
  const res = await app.inject({ method: 'GET', url: '/' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/html/);
  assert.match(res.body, /<meta name="fleetscope-faro-url" content="https:\/\/collector\.example:9201\/faro\/collect\?x=&quot;&lt;b&gt;">/);
  assert.match(res.body, /<meta name="fleetscope-version" content="1\.2\.3">/);
  const csp = String(res.headers['content-security-policy']);
  assert.match(csp, /connect-src 'self' https:\/\/collector\.example:9201;/);
  assert.match(csp, /script-src 'self';/);
  assert.equal(res.headers['referrer-policy'], 'no-referrer');
  assert.doesNotMatch(res.body, /<script>|style="/, 'no inline script or style for the CSP to block');
});

test('serves the page scripts and vendored libraries with ETags, and nothing else', async () => {
  const app = Fastify();
  registerFleetPage(app);
  for (const [path, type] of [['/ui/app.js', /javascript/], ['/ui/style.css', /css/], ['/ui/vendor/uPlot.iife.min.js', /javascript/], ['/ui/vendor/uPlot.min.css', /css/], ['/ui/vendor/faro-web-sdk.iife.js', /javascript/]] as const) {
    const res = await app.inject({ method: 'GET', url: path });
    assert.equal(res.statusCode, 200, path);
    assert.match(String(res.headers['content-type']), type, path);
    const again = await app.inject({ method: 'GET', url: path, headers: { 'if-none-match': String(res.headers.etag) } });
    assert.equal(again.statusCode, 304, path);
  }
  assert.match((await app.inject({ method: 'GET', url: '/ui/vendor/faro-web-sdk.iife.js' })).body, /GrafanaFaroWebSdk/);
  assert.equal((await app.inject({ method: 'GET', url: '/' })).body.includes('content=""'), true, 'no Faro URL: the page sends no telemetry');
  for (const path of ['/ui/index.html', '/ui/%2e%2e/package.json', '/ui/vendor/', '/ui/nope.js', '/ui/../register.js']) {
    const res = await app.inject({ method: 'GET', url: path });
    assert.equal(res.statusCode, 404, path);
    // A `..` the URL parser resolves never reaches the route (Fastify's own 404); the rest get ours.
    if (!/\.\.|%2e%2e/i.test(path)) assert.equal(res.json().code, 'FS_CONTROL_PAGE_NOT_FOUND', path);
  }
  assert.equal(pageErrors.FS_CONTROL_PAGE_NOT_FOUND.status, 404);
});

test('a missing assets directory fails at registration, naming it', () => {
  assert.throws(() => registerFleetPage(Fastify(), { assetsDir: '/nonexistent/ui' }), /FS_CONTROL_PAGE_ASSETS_MISSING|fleet page assets not found: cannot read \/nonexistent\/ui/);
});
