// GET /api/v1/sites pages with `limit` and `continue` (the fleet page and
// scripts list 10^4 sites without one 5 MB answer): pages in name order, no
// site twice or missed while sites come and go, filters before paging, and
// bad parameters refused with 400.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateTokenKeys } from '../wire/index.js';
import { ControlPlane, buildServer, parseControlConfig } from '../control/index.js';

const OP = 'operator-token-0123456789';

test('the site list pages with limit and continue', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-control-paging-'));
  await writeFile(join(dir, 'token.key'), generateTokenKeys().privateKeyPem);
  const cp = await ControlPlane.open(parseControlConfig({ store: 'state', artifacts: { dir: 'artifacts' }, keys: { token_private_key: 'token.key' }, operators: [{ name: 'o', token: OP, role: 'operator' }] }, 'paging.yml', dir));
  const app = await buildServer(cp);
  try {
    const site = (tenant: string, name: string) => ({ key: `sites/${name}`, value: { tenant, site: name, group: 'stores', labels: {}, registration_id: `r-${name}`, machine_id: `m-${name}`, token_id: `t-${name}`, created_at: new Date().toISOString(), desired: null } });
    const names = Array.from({ length: 1234 }, (_, i) => `ce-${String(i).padStart(5, '0')}`);
    await cp.state.putMany(names.map((n, i) => site(i % 3 === 0 ? 'globex' : 'acme', n)));
    const list = async (query: string): Promise<{ status: number; body: { sites?: { site: string; tenant: string }[]; continue?: string; code?: string; message?: string } }> => {
      const r = await app.inject({ method: 'GET', url: `/api/v1/sites${query}`, headers: { authorization: `Bearer ${OP}` } });
      return { status: r.statusCode, body: r.json() };
    };
    const whole = await list('');
    assert.equal(whole.body.sites?.length, 1234, 'without limit: every site, as before');
    assert.equal(whole.body.continue, undefined);

    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await list(`?limit=100${token !== undefined ? `&continue=${token}` : ''}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok((r.body.sites?.length ?? 0) <= 100);
      seen.push(...(r.body.sites ?? []).map((s) => s.site));
      token = r.body.continue;
      pages++;
      if (pages === 3) {
        // Sites come and go between pages: one before the cursor, one after, one removed ahead.
        await cp.state.putMany([site('acme', 'ce-00000a'), site('acme', 'zz-late')]);
        await cp.state.delete('sites/ce-01000');
      }
    } while (token !== undefined);
    assert.equal(pages, 13);
    assert.equal(new Set(seen).size, seen.length, 'no site twice');
    assert.deepEqual(seen, [...names.filter((n) => n !== 'ce-01000'), 'zz-late'], 'in name order; what was added behind the cursor is not on later pages, what was added ahead is');

    // Filters apply before paging.
    const g1 = await list('?tenant=globex&limit=200');
    assert.equal(g1.body.sites?.length, 200);
    assert.ok(g1.body.sites?.every((s) => s.tenant === 'globex'));
    const g2 = await list(`?tenant=globex&limit=5000&continue=${g1.body.continue}`);
    assert.equal((g1.body.sites?.length ?? 0) + (g2.body.sites?.length ?? 0), names.filter((n, i) => i % 3 === 0 && n !== 'ce-01000').length);
    assert.equal(g2.body.continue, undefined);

    for (const bad of ['?limit=0', '?limit=5001', '?limit=ten', '?continue=%%%', '?continue=bm90IGEgbmFtZSE']) {
      const r = await list(bad);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.code, 'FS_CONTROL_BAD_REQUEST');
      assert.match(r.body.message ?? '', /limit|continue/);
    }
  } finally {
    await app.close();
    await cp.close();
    await rm(dir, { recursive: true, force: true });
  }
});
