// Drives the real ElastAlert 0.2.4 (Debian package) through its own
// `elastalert-test-rule --data FILE.json` machinery (elastalert/test_rule.py,
// MockElastAlerter.run_rule_test), as an oracle for what ElastAlert decides.
//
// What it needs, and why:
// - An Elasticsearch stand-in answering `GET /` (the client's product check:
//   version 7.10.2, build_flavor default, X-Elastic-Product header) and
//   `_search` with no hits (new_term's start-up terms query). Elasticsearch
//   itself cannot be installed here; the stand-in follows the REST spec for
//   just those two calls.
// - A Python driver instead of the console script, for three reasons:
//   test_rule.py calls `string.letters` (Python 2 only) to invent `_id`s, so
//   the driver sets `string.letters = string.ascii_letters`; the matches are
//   only logged as text, so the driver wraps ElastAlerter.alert to print each
//   match as JSON (after send_alert, which adds the top_count_keys counts:
//   the mock's get_hits_terms counts raw field values over [start, end) and
//   does not know `.keyword`, so only `raw_count_keys: false` is comparable); and one Python process runs every case (resetting
//   ChangeRule's class-level dicts between cases) to keep the test fast.
// - `buffer_time` in the global config is ten years, so the mock runs one
//   query over the whole data (test_rule.py sets run_every to the data's span,
//   but run_rule still segments by buffer_time).
// Its own limits: the mock ignores `filter` (pre-filter the documents), it
// silences by wall-clock realert (use realert 0), and metric_aggregation,
// spike_aggregation and percentage_match query Elasticsearch aggregations
// that the mock does not answer.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface ElastalertCase {
  /** The rule as YAML text. */
  readonly rule: string;
  readonly docs: readonly Record<string, unknown>[];
}

export interface ElastalertMatch {
  /** get_query_key_value of the match (the silence key's suffix), or null. */
  readonly key: string | null;
  readonly match: Record<string, unknown>;
}

export interface ElastalertResult {
  readonly matches: ElastalertMatch[];
  /** A Python exception the case raised, if any. */
  readonly error: string | null;
}

const DRIVER = String.raw`
import io, json, string, sys, traceback, contextlib
string.letters = string.ascii_letters
from elastalert import elastalert as ea
from elastalert import test_rule
from elastalert import ruletypes
current = []
orig = ea.ElastAlerter.alert
def alert(self, matches, rule, alert_time=None, retried=False):
    # Captured after send_alert has run: it adds the top_count_keys counts to each match.
    keys = [self.get_query_key_value(rule, m) for m in matches]
    res = orig(self, matches, rule, alert_time=alert_time, retried=retried)
    for k, m in zip(keys, matches):
        current.append({'key': k, 'match': json.loads(json.dumps(m, default=str))})
    return res
ea.ElastAlerter.alert = alert
cases = json.load(open(sys.argv[1]))
out = []
for case in cases:
    ruletypes.ChangeRule.change_map = {}
    ruletypes.ChangeRule.occurrence_time = {}
    del current[:]
    err = None
    sys.argv = ['elastalert-test-rule', '--config', case['config'], case['rule'], '--data', case['data']]
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            test_rule.main()
    except SystemExit as e:
        if e.code not in (None, 0):
            err = 'exit %s: %s' % (e.code, buf.getvalue()[-2000:])
    except Exception:
        err = traceback.format_exc()[-3000:]
    out.append({'matches': list(current), 'error': err})
sys.stdout.write('FSRESULT ' + json.dumps(out) + '\n')
`;

/** The Elasticsearch stand-in: `GET /` and an empty `_search`; everything else an empty object. */
export async function startElasticsearchStandIn(): Promise<{ port: number; stop(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('X-Elastic-Product', 'Elasticsearch');
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/') {
        res.end(JSON.stringify({ name: 'stand-in', cluster_name: 'stand-in', version: { number: '7.10.2', build_flavor: 'default', lucene_version: '8.7.0' }, tagline: 'You Know, for Search' }));
      } else if (path?.endsWith('/_search')) {
        res.end(JSON.stringify({ took: 0, timed_out: false, hits: { total: { value: 0, relation: 'eq' }, hits: [] } }));
      } else res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Runs every case through the real elastalert-test-rule machinery, in one Python process. */
export async function runElastalertCases(cases: readonly ElastalertCase[]): Promise<ElastalertResult[]> {
  const es = await startElasticsearchStandIn();
  const dir = await mkdtemp(join(tmpdir(), 'fleetscope-elastalert-'));
  try {
    const config = join(dir, 'config.yaml');
    await writeFile(config, `rules_folder: ${dir}\nes_host: 127.0.0.1\nes_port: ${es.port}\nwriteback_index: elastalert_status\nrun_every: {minutes: 1}\nbuffer_time: {days: 3650}\n`);
    const list = [];
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i] as ElastalertCase;
      const rule = join(dir, `rule${i}.yaml`);
      const data = join(dir, `data${i}.json`);
      await writeFile(rule, c.rule);
      await writeFile(data, JSON.stringify(c.docs.map((d, j) => ({ _id: `d${j}`, ...d }))));
      list.push({ config, rule, data });
    }
    const casesFile = join(dir, 'cases.json');
    await writeFile(casesFile, JSON.stringify(list));
    await writeFile(join(dir, 'driver.py'), DRIVER);
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      // /usr/bin/python3: the Debian interpreter the elastalert package is installed for.
      const p = spawn('/usr/bin/python3', [join(dir, 'driver.py'), casesFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC' } });
      let so = '';
      let se = '';
      p.stdout.on('data', (d: Buffer) => (so += d.toString()));
      p.stderr.on('data', (d: Buffer) => (se += d.toString()));
      p.once('error', (err) => reject(new Error(`cannot run /usr/bin/python3 with elastalert (install the Debian package): ${err.message}`)));
      p.once('exit', (c) => resolve({ code: c, stdout: so, stderr: se }));
    });
    const line = stdout.split('\n').find((l) => l.startsWith('FSRESULT '));
    if (code !== 0 || line === undefined) throw new Error(`elastalert driver failed (exit ${code}):\n${stderr.slice(-4000)}\n${stdout.slice(-2000)}`);
    return JSON.parse(line.slice('FSRESULT '.length)) as ElastalertResult[];
  } finally {
    await es.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
