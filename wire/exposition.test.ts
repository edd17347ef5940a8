import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireError } from './errors.js';
import { ExpositionParser, formatFromContentType, parseExposition, parseGoFloat } from './exposition.js';
import { formatGoFloat, formatSeries } from './exposition-format.js';

interface Valid {
  name: string;
  body: string;
  openmetrics?: boolean;
  series: [string[], number, number | undefined][];
}

const valid: Valid[] = [
  { name: 'bare metric', body: 'up 1\n', series: [[['__name__', 'up'], 1, undefined]] },
  { name: 'labels sorted on output', body: 'm{z="1",a="2"} 3\n', series: [[['__name__', 'm', 'a', '2', 'z', '1'], 3, undefined]] },
  { name: 'timestamp in ms', body: 'm{a="b"} 1.5 1700000000000\n', series: [[['__name__', 'm', 'a', 'b'], 1.5, 1700000000000]] },
  { name: 'negative timestamp', body: 'm 1 -5\n', series: [[['__name__', 'm'], 1, -5]] },
  { name: 'escapes in values', body: 'm{a="x\\"y\\\\z\\nw"} 1\n', series: [[['__name__', 'm', 'a', 'x"y\\z\nw'], 1, undefined]] },
  { name: 'unknown escape kept as written', body: 'm{a="t\\tab"} 1\n', series: [[['__name__', 'm', 'a', 't\\tab'], 1, undefined]] },
  { name: 'special values', body: 'a NaN\nb +Inf\nc -Inf\nd Inf\ne 1e-3\nf -0.5E+2\n', series: [
    [['__name__', 'a'], NaN, undefined], [['__name__', 'b'], Infinity, undefined], [['__name__', 'c'], -Infinity, undefined],
    [['__name__', 'd'], Infinity, undefined], [['__name__', 'e'], 0.001, undefined], [['__name__', 'f'], -50, undefined]] },
  { name: 'comments, HELP, TYPE and blank lines', body: '# a comment\n\n# HELP m Some \\\\ help\\n.\n# TYPE m counter\nm_total 1\n#no-space comment\n', series: [[['__name__', 'm_total'], 1, undefined]] },
  { name: 'blanks around tokens and a trailing comma', body: 'm { a = "1" , b="2", }   7   \n', series: [[['__name__', 'm', 'a', '1', 'b', '2'], 7, undefined]] },
  { name: 'empty label set and empty value', body: 'm{} 1\nn{a=""} 2\n', series: [[['__name__', 'm'], 1, undefined], [['__name__', 'n', 'a', ''], 2, undefined]] },
  { name: 'colons in metric names', body: 'job:rate5m:sum 3\n', series: [[['__name__', 'job:rate5m:sum'], 3, undefined]] },
  { name: 'unicode label value', body: 'm{a="Grüße 日本語"} 1\n', series: [[['__name__', 'm', 'a', 'Grüße 日本語'], 1, undefined]] },
  { name: 'no trailing newline', body: 'm 1', series: [[['__name__', 'm'], 1, undefined]] },
  { name: 'histogram family', body: '# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 0.3\nh_count 2\n', series: [
    [['__name__', 'h_bucket', 'le', '0.1'], 1, undefined], [['__name__', 'h_bucket', 'le', '+Inf'], 2, undefined],
    [['__name__', 'h_sum'], 0.3, undefined], [['__name__', 'h_count'], 2, undefined]] },
  { name: 'OpenMetrics with float-second timestamps and EOF', openmetrics: true, body: '# TYPE c_seconds counter\n# UNIT c_seconds seconds\n# HELP c_seconds Help.\nc_seconds_total 1 1700000000.123\nc_seconds_created 1700000000\n# EOF\n', series: [
    [['__name__', 'c_seconds_total'], 1, 1700000000123], [['__name__', 'c_seconds_created'], 1700000000, undefined]] },
  { name: 'OpenMetrics exemplar', openmetrics: true, body: 'h_bucket{le="1"} 3 # {trace_id="abc"} 0.5 1700000000.5\n# EOF\n', series: [[['__name__', 'h_bucket', 'le', '1'], 3, undefined]] },
  { name: 'OpenMetrics info and stateset types', openmetrics: true, body: '# TYPE i info\ni_info{v="1"} 1\n# TYPE s stateset\ns{s="a"} 1\n# EOF', series: [
    [['__name__', 'i_info', 'v', '1'], 1, undefined], [['__name__', 's', 's', 'a'], 1, undefined]] },
];

for (const c of valid) {
  test(`parses: ${c.name}`, () => {
    const { series } = parseExposition(c.body, { format: c.openmetrics ? 'openmetrics' : 'prometheus' });
    assert.equal(series.length, c.series.length);
    c.series.forEach(([labels, value, ts], i) => {
      const s = series[i];
      assert.deepEqual(s?.labels, labels);
      assert.ok(Object.is(s?.value, value) || (Number.isNaN(value) && Number.isNaN(s?.value)), `value ${s?.value} vs ${value}`);
      assert.equal(s?.timestamp, ts);
    });
  });
}

test('metadata is collected per family', () => {
  const { metadata } = parseExposition('# HELP m Line one\\nline two.\n# TYPE m gauge\nm 1\n');
  assert.deepEqual(metadata.get('m'), { help: 'Line one\nline two.', type: 'gauge' });
});

test('exemplars are parsed', () => {
  const { series } = parseExposition('h_bucket{le="1"} 3 # {trace_id="abc"} 0.5 1700000000.5\n# EOF\n', { format: 'openmetrics' });
  assert.deepEqual(series[0]?.exemplar, { labels: ['trace_id', 'abc'], value: 0.5, timestamp: 1700000000500 });
});

test('seriesKey is the raw series text, usable as a cache key without labels()', () => {
  const p = new ExpositionParser('m{b="2",a="1"}  5 123\nn 1\n');
  assert.equal(p.next(), 'series');
  assert.equal(p.seriesKey(), 'm{b="2",a="1"}');
  assert.equal(p.value(), 5);
  assert.equal(p.timestamp(), 123);
  assert.equal(p.next(), 'series');
  assert.equal(p.seriesKey(), 'n');
  assert.equal(p.next(), null);
});

// [body, line, what the message says, openmetrics?]
const malformed: [string, number, RegExp, boolean?][] = [
  ['ok 1\nbroken{a="b" 1\n', 2, /expected "," or "}"/],
  ['m{a="b} 1\n', 1, /not closed with '"'/],
  ['m{a=b} 1\n', 1, /expected '"' to open the value of label "a"/],
  ['m{a} 1\n', 1, /expected "=" after label name "a"/],
  ['m{1a="b"} 1\n', 1, /expected a label name/],
  ['m{a="1",a="2"} 1\n', 1, /duplicate label name "a"/],
  ['m\n', 1, /expected a value/],
  ['m abc\n', 1, /invalid value "abc"/],
  ['m 1 2.5\n', 1, /invalid timestamp "2\.5"/],
  ['m 1 2 3\n', 1, /unexpected text "3"/],
  ['1m 1\n', 1, /expected a metric name/],
  ['m-x 1\n', 1, /unexpected "-" after the series name/],
  ['ok 1\n\n# TYPE m bogus\n', 3, /invalid metric type "bogus"/],
  ['# HELP\n', 1, /expected a metric name after "# HELP"/],
  ['m 0x10\n', 1, /invalid value "0x10"/],
  ['m 1\n', 1, /must end with "# EOF"/, true],
  ['m 1\n# EOF\nn 2\n', 3, /after "# EOF"/, true],
  ['m 1\n\n# EOF\n', 2, /blank lines are not allowed/, true],
  ['# random comment\n# EOF\n', 1, /a comment line must be|unknown comment/, true],
  ['  m 1\n', 1, /must not start with blanks/],
  ['# UNIT c seconds\nc 1\n# EOF\n', 1, /unit "seconds" is not a suffix of metric "c"/, true],
];

for (const [body, line, reason, om] of malformed) {
  test(`rejects ${JSON.stringify(body)} at line ${line}`, () => {
    assert.throws(() => parseExposition(body, { format: om ? 'openmetrics' : 'prometheus' }), (err: unknown) => {
      assert.ok(err instanceof WireError, String(err));
      assert.equal(err.code, 'FS_WIRE_EXPOSITION_SYNTAX');
      assert.equal(err.status, 400);
      assert.match(err.message, new RegExp(`^line ${line}: `));
      assert.match(err.message, reason);
      return true;
    });
  });
}

test('limits: line length, labels per series, label name and value length', () => {
  const limit = (body: string, opts: object, what: RegExp): void => {
    assert.throws(() => parseExposition(body, opts), (err: unknown) => err instanceof WireError && err.code === 'FS_WIRE_EXPOSITION_LIMIT' && what.test(err.message));
  };
  limit(`m{a="${'x'.repeat(100)}"} 1\n`, { maxLineLength: 50 }, /line 1: line of \d+ characters is over the limit of 50/);
  limit('m{a="1",b="2",c="3"} 1\n', { maxLabels: 2 }, /more than 2 labels/);
  limit('m{abcdef="1"} 1\n', { maxLabelNameLength: 3 }, /label name of 6 characters/);
  limit('m{a="123456"} 1\n', { maxLabelValueLength: 3 }, /label value of 6 characters/);
  assert.equal(parseExposition('m{a="1",b="2"} 1\n', { maxLabels: 2 }).series.length, 1);
});

test('Go float syntax', () => {
  for (const [s, v] of [['1', 1], ['-1.5e3', -1500], ['.5', 0.5], ['5.', 5], ['+Inf', Infinity], ['inf', Infinity], ['-infinity', -Infinity], ['1E+2', 100]] as const) {
    assert.equal(parseGoFloat(s), v, s);
  }
  assert.ok(Number.isNaN(parseGoFloat('NaN')));
  for (const s of ['', '-', 'e5', '1e', '0x1', '1_000', '+NaN', 'Infinityx', '1.2.3', ' 1']) assert.equal(parseGoFloat(s), undefined, s);
});

test('formatGoFloat writes what Go strconv.FormatFloat(v, g, -1, 64) writes', () => {
  const rows: [number, string][] = [
    [0, '0'], [1, '1'], [-2.5, '-2.5'], [123456, '123456'], [1e6, '1e+06'], [1048576, '1.048576e+06'],
    [0.0001, '0.0001'], [0.00001, '1e-05'], [1.5e-7, '1.5e-07'], [1e21, '1e+21'], [123456789, '1.23456789e+08'],
    [NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf'], [0.1, '0.1'], [5e-324, '5e-324'],
  ];
  for (const [v, want] of rows) assert.equal(formatGoFloat(v), want, String(v));
});

test('formatSeries round-trips through the parser', () => {
  const cases: [string[], number, number | undefined][] = [
    [['__name__', 'm', 'a', 'x"y\\z\nw', 'b', 'Grüße'], 1.25, 1700000000000],
    [['__name__', 'up'], 0, undefined],
    [['__name__', 'big', 'le', '+Inf'], 1.048576e6, -1],
  ];
  for (const [labels, value, ts] of cases) {
    const line = formatSeries(labels, value, ts);
    const s = parseExposition(line + '\n').series[0];
    assert.deepEqual(s?.labels, labels);
    assert.equal(s?.value, value);
    assert.equal(s?.timestamp, ts);
  }
});

test('content type picks the format', () => {
  assert.equal(formatFromContentType('application/openmetrics-text; version=1.0.0; charset=utf-8'), 'openmetrics');
  assert.equal(formatFromContentType('text/plain; version=0.0.4'), 'prometheus');
  assert.equal(formatFromContentType(undefined), 'prometheus');
});

test('fuzz: mutated bodies either parse or fail with a typed error', () => {
  const promSeed = valid.filter((c) => !c.openmetrics).map((c) => (c.body.endsWith('\n') ? c.body : `${c.body}\n`)).join('');
  const omSeed = valid.filter((c) => c.openmetrics).map((c) => c.body.replace(/# EOF\n?$/, '')).join('') + '# EOF\n';
  assert.ok(parseExposition(promSeed).series.length > 10);
  assert.ok(parseExposition(omSeed, { format: 'openmetrics' }).series.length > 3);
  let state = 12345;
  const rand = (n: number): number => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state % n;
  };
  const alphabet = '{}=",\\\n #ab1.+-eE\t\u00e9\ud83d';
  const parsed = { prometheus: 0, openmetrics: 0 };
  const rejected = { prometheus: 0, openmetrics: 0 };
  for (let i = 0; i < 20_000; i++) {
    const format = i % 2 === 0 ? 'prometheus' : 'openmetrics';
    const chars = [...(format === 'prometheus' ? promSeed : omSeed)];
    for (let m = 1 + rand(4); m > 0; m--) {
      const at = rand(chars.length);
      const op = rand(3);
      if (op === 0) chars.splice(at, 1);
      else if (op === 1) chars.splice(at, 0, alphabet[rand(alphabet.length)] as string);
      else chars[at] = alphabet[rand(alphabet.length)] as string;
    }
    const body = chars.join('');
    try {
      parseExposition(body, { format });
      parsed[format]++;
    } catch (err) {
      if (!(err instanceof WireError)) throw new Error(`untyped error ${String(err)} for ${JSON.stringify(body)}`);
      rejected[format]++;
    }
  }
  // Both outcomes must occur for both formats, or the fuzzer is not exercising the parser.
  for (const f of ['prometheus', 'openmetrics'] as const) {
    assert.ok(parsed[f] > 500 && rejected[f] > 500, `${f}: parsed ${parsed[f]}, rejected ${rejected[f]}`);
  }
});
