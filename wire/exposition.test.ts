import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireError } from './errors.js';
import { ExpositionError, ExpositionParser, type ExpositionOptions, type ParsedSeries, formatFromContentType, parseExposition, parseGoFloat } from './exposition.js';
import { formatGoFloat, formatSeries } from './exposition-format.js';

type Row = [labels: string[], value: number, timestamp?: number];

interface Valid {
  readonly name: string;
  readonly body: string;
  readonly om?: boolean;
  readonly series: Row[];
}

const OM = { format: 'openmetrics' } as const;

// Each accepted by Prometheus 2.42 with exactly these samples (the quirky
// ones were probed against the real binary; test/exposition-differential.test.ts
// keeps a scrape-level check).
const valid: Valid[] = [
  { name: 'bare metric', body: 'up 1\n', series: [[['__name__', 'up'], 1]] },
  { name: 'empty body', body: '', series: [] },
  { name: 'labels come out sorted by name', body: 'm{z="1",a="2",m="3"} 3\n', series: [[['__name__', 'm', 'a', '2', 'm', '3', 'z', '1'], 3]] },
  { name: 'names before "__name__" in byte order', body: 'm{b="1",Z="2",__a="3",_z="4"} 1\n', series: [[['Z', '2', '__a', '3', '__name__', 'm', '_z', '4', 'b', '1'], 1]] },
  { name: 'integer-millisecond timestamp', body: 'm{a="b"} 1.5 1700000000000\n', series: [[['__name__', 'm', 'a', 'b'], 1.5, 1700000000000]] },
  { name: 'timestamp with leading zeros, and the largest int64', body: 'a 1 000123\nb 2 9223372036854775807\n', series: [[['__name__', 'a'], 1, 123], [['__name__', 'b'], 2, 2 ** 63]] },
  { name: 'label value escapes', body: 'm{a="x\\"y\\\\z\\nw"} 1\n', series: [[['__name__', 'm', 'a', 'x"y\\z\nw'], 1]] },
  { name: 'other escapes are kept as written', body: 'm{a="t\\tab\\x\\\\"} 1\n', series: [[['__name__', 'm', 'a', 't\\tab\\x\\'], 1]] },
  { name: 'NaN, +Inf, -Inf, Inf, any case, Infinity', body: 'a NaN\nb +Inf\nc -Inf\nd Inf\ne nan\nf -inf\ng +Infinity\nh INFINITY\n', series: [
    [['__name__', 'a'], NaN], [['__name__', 'b'], Infinity], [['__name__', 'c'], -Infinity], [['__name__', 'd'], Infinity],
    [['__name__', 'e'], NaN], [['__name__', 'f'], -Infinity], [['__name__', 'g'], Infinity], [['__name__', 'h'], Infinity]] },
  { name: 'floats with exponents, signs, bare dots', body: 'a 1e3\nb -2.5E-2\nc +7\nd .5\ne 5.\nf 1.e5\ng 1e-400\nh -0\ni 0.1\nj 123456789012345678901234567890\nk 1e0000000000000000000001\n', series: [
    [['__name__', 'a'], 1000], [['__name__', 'b'], -0.025], [['__name__', 'c'], 7], [['__name__', 'd'], 0.5], [['__name__', 'e'], 5],
    [['__name__', 'f'], 100000], [['__name__', 'g'], 0], [['__name__', 'h'], -0], [['__name__', 'i'], 0.1],
    [['__name__', 'j'], 1.2345678901234568e29], [['__name__', 'k'], 10]] },
  { name: 'comments of every shape, and blank lines', body: '# a comment\n#no space\n#\n# HELP\n#HELP m x\n  # indented\n\n \t \nm 1\n', series: [[['__name__', 'm'], 1]] },
  { name: 'HELP and TYPE with tabs, odd text', body: '#\tHELP\tm\thelp\n# HELP m-x text\n# TYPE m counter\nm 1\n', series: [[['__name__', 'm'], 1]] },
  { name: 'blanks around every token, tabs, trailing comma', body: 'm { a = "1" ,\tb="2", }   7 \t 123 \t\n', series: [[['__name__', 'm', 'a', '1', 'b', '2'], 7, 123]] },
  { name: 'Prometheus: no comma between labels, no blank before the value', body: 'm{a="1"b="2"}3\n', series: [[['__name__', 'm', 'a', '1', 'b', '2'], 3]] },
  { name: 'Prometheus: the value may follow the name directly', body: 'm-1\nn+Inf\n', series: [[['__name__', 'm'], -1], [['__name__', 'n'], Infinity]] },
  { name: 'empty label set and empty label value', body: 'm{} 1\nn{ } 2\no{a=""} 3\n', series: [[['__name__', 'm'], 1], [['__name__', 'n'], 2], [['__name__', 'o', 'a', ''], 3]] },
  { name: 'colons in metric names, digits after the first character', body: 'job:rate5m:sum 3\n:a1 4\n_x{l9="y"} 5\n', series: [[['__name__', 'job:rate5m:sum'], 3], [['__name__', ':a1'], 4], [['__name__', '_x', 'l9', 'y'], 5]] },
  { name: 'unicode, lone surrogates, U+FFFD and NUL pass through', body: 'm{a="Grüße 日本語 😀",b="\ud800x\ufffd",c="n\u0000ul"} 1\n', series: [[['__name__', 'm', 'a', 'Grüße 日本語 😀', 'b', '\ud800x\ufffd', 'c', 'n\u0000ul'], 1]] },
  { name: 'wide characters whose low byte is syntax, in a value', body: 'm{a="\u0122\u015c\u010a\u017b\u017d\u0120\u013d"} 1\n', series: [[['__name__', 'm', 'a', '\u0122\u015c\u010a\u017b\u017d\u0120\u013d'], 1]] },
  { name: 'no final line break', body: 'm 1', series: [[['__name__', 'm'], 1]] },
  { name: 'Prometheus: a raw line break inside a label value', body: 'm{a="x\ny",b="\n"} 1\nn 2\n', series: [[['__name__', 'm', 'a', 'x\ny', 'b', '\n'], 1], [['__name__', 'n'], 2]] },
  { name: 'Prometheus: a NUL where a line starts ends the input', body: 'm 1\n\u0000 garbage {\n', series: [[['__name__', 'm'], 1]] },
  { name: 'histogram family', body: '# HELP h Latency.\n# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 0.3\nh_count 2\n', series: [
    [['__name__', 'h_bucket', 'le', '0.1'], 1], [['__name__', 'h_bucket', 'le', '+Inf'], 2], [['__name__', 'h_sum'], 0.3], [['__name__', 'h_count'], 2]] },
  { name: 'summary family', body: '# TYPE s summary\ns{quantile="0.5"} 0.1\ns{quantile="0.99"} NaN\ns_sum 1\ns_count 3\n', series: [
    [['__name__', 's', 'quantile', '0.5'], 0.1], [['__name__', 's', 'quantile', '0.99'], NaN], [['__name__', 's_sum'], 1], [['__name__', 's_count'], 3]] },
  { name: 'every 0.0.4 type, repeated TYPE lines', body: '# TYPE a counter\n# TYPE b gauge\n# TYPE c histogram\n# TYPE d summary\n# TYPE e untyped\n# TYPE e untyped\ne 1\n', series: [[['__name__', 'e'], 1]] },
  { name: 'many labels, long values', body: `m{${Array.from({ length: 60 }, (_, i) => `l${i}="${'v'.repeat(i * 20)}"`).join(',')}} 1\n`, series: [
    [['__name__', 'm', ...Array.from({ length: 60 }, (_, i) => [`l${i}`, 'v'.repeat(i * 20)]).sort((x, y) => (x[0]! < y[0]! ? -1 : 1)).flat()], 1]] },
  // OpenMetrics.
  { name: 'OM: counter with _total, _created, float-second timestamps, UNIT', om: true, body: '# TYPE c_seconds counter\n# UNIT c_seconds seconds\n# HELP c_seconds Help.\nc_seconds_total 1 1700000000.123\nc_seconds_created 1700000000\n# EOF\n', series: [
    [['__name__', 'c_seconds_total'], 1, 1700000000123], [['__name__', 'c_seconds_created'], 1700000000]] },
  { name: 'OM: timestamps truncate to milliseconds as int64(ts*1000)', om: true, body: 'a 1 1.0005\nb 1 -1.5\nc 1 1e3\nd 1 0.0009\n# EOF\n', series: [
    [['__name__', 'a'], 1, 1000], [['__name__', 'b'], 1, -1500], [['__name__', 'c'], 1, 1000000], [['__name__', 'd'], 1, 0]] },
  { name: 'OM: "# EOF" without a line break, and alone', om: true, body: 'm 1\n# EOF', series: [[['__name__', 'm'], 1]] },
  { name: 'OM: only "# EOF"', om: true, body: '# EOF\n', series: [] },
  { name: 'OM: exemplars on _bucket and _total, with and without timestamp', om: true, body: '# TYPE h histogram\nh_bucket{le="1"} 3 # {trace_id="abc"} 0.5 1700000000.5\nh_bucket{le="+Inf"} 4 1700000000 # {} 1\nh_sum 2\nh_count 4\nx_total 1 # {a="b",c="d\\"e"} -1 -5\n# EOF\n', series: [
    [['__name__', 'h_bucket', 'le', '1'], 3], [['__name__', 'h_bucket', 'le', '+Inf'], 4, 1700000000000], [['__name__', 'h_sum'], 2], [['__name__', 'h_count'], 4], [['__name__', 'x_total'], 1]] },
  { name: 'OM: gaugehistogram, info, stateset, unknown, summary', om: true, body: '# TYPE g gaugehistogram\ng_bucket{le="+Inf"} 1\ng_gcount 1\ng_gsum 2\n# TYPE i info\ni_info{v="1"} 1\n# TYPE s stateset\ns{s="a"} 1\ns{s="b"} 0\n# TYPE u unknown\nu 1\n# TYPE q summary\nq{quantile="0.5"} 1\nq_sum 1\nq_count 1\n# EOF\n', series: [
    [['__name__', 'g_bucket', 'le', '+Inf'], 1], [['__name__', 'g_gcount'], 1], [['__name__', 'g_gsum'], 2], [['__name__', 'i_info', 'v', '1'], 1],
    [['__name__', 's', 's', 'a'], 1], [['__name__', 's', 's', 'b'], 0], [['__name__', 'u'], 1], [['__name__', 'q', 'quantile', '0.5'], 1], [['__name__', 'q_sum'], 1], [['__name__', 'q_count'], 1]] },
  { name: 'OM: HELP escapes, empty HELP and UNIT text', om: true, body: '# HELP m a \\" \\\\ \\n b\n# HELP n \n# UNIT n \nm 1\nn 2\n# EOF\n', series: [[['__name__', 'm'], 1], [['__name__', 'n'], 2]] },
  { name: 'OM: label escapes, unsorted labels, NaN', om: true, body: 'm{b="x\\ny",a="\\\\"} NaN\n# EOF\n', series: [[['__name__', 'm', 'a', '\\', 'b', 'x\ny'], NaN]] },
];

function sameValue(actual: number | undefined, expected: number): boolean {
  return Object.is(actual, expected) || (Number.isNaN(expected) && Number.isNaN(actual));
}

function checkSeries(got: ParsedSeries[], want: Row[]): void {
  assert.equal(got.length, want.length, `series: ${JSON.stringify(got)}`);
  want.forEach(([labels, value, ts], i) => {
    const s = got[i];
    assert.deepEqual(s?.labels, labels);
    assert.ok(sameValue(s?.value, value), `value ${s?.value}, want ${value}`);
    assert.equal(s?.timestamp, ts);
  });
}

for (const c of valid) {
  test(`parses: ${c.name}`, () => {
    checkSeries(parseExposition(c.body, c.om ? OM : {}).series, c.series);
  });
}

test('wide characters whose low byte is syntax are not syntax', () => {
  const { series, metadata } = parseExposition('# HELP m \u0122\u015c\u010a\nm{a="\u0122"} 1\n');
  assert.deepEqual(series[0]?.labels, ['__name__', 'm', 'a', '\u0122']);
  assert.equal(metadata.get('m')?.help, '\u0122\u015c\u010a');
  // " m\u0000": a blank-led sample is refused whatever follows.
  assert.throws(() => parseExposition(' m\u0000'), /line 1: a sample line must not start with blanks/);
});

test('metadata per family: name, type, help, unit; the last line of a kind wins', () => {
  const { metadata } = parseExposition('# HELP m Line one\\nline two \\\\ \\" kept.\n# TYPE m gauge\n# TYPE m counter\nm 1\n# HELP n\n# TYPE h histogram\n');
  assert.deepEqual(metadata.get('m'), { name: 'm', help: 'Line one\nline two \\ \\" kept.', type: 'counter' });
  assert.deepEqual(metadata.get('n'), { name: 'n', help: '' });
  assert.deepEqual(metadata.get('h'), { name: 'h', type: 'histogram' });
  const om = parseExposition('# TYPE c_bytes counter\n# UNIT c_bytes bytes\n# HELP c_bytes Bytes \\"sent\\".\nc_bytes_total 1\n# EOF\n', OM).metadata;
  assert.deepEqual(om.get('c_bytes'), { name: 'c_bytes', type: 'counter', unit: 'bytes', help: 'Bytes "sent".' });
});

test('exemplars are parsed: labels sorted and unescaped, value, timestamp in ms', () => {
  const { series } = parseExposition('a_total 1 # {trace_id="abc",span="x\\"y"} 0.5 1700000000.5\nb_bucket{le="1"} 2 # {} -1\nc 3\n# EOF\n', OM);
  assert.deepEqual(series[0]?.exemplar, { labels: ['span', 'x"y', 'trace_id', 'abc'], value: 0.5, timestamp: 1700000000500 });
  assert.deepEqual(series[1]?.exemplar, { labels: [], value: -1, timestamp: undefined });
  assert.equal(series[2]?.exemplar, undefined);
  assert.equal('exemplar' in (series[2] as object), false);
});

test('the cursor: seriesKey, value and timestamp without labels(); entries; line numbers', () => {
  const body = '# HELP m Help.\n# TYPE m gauge\nm { b = "2", a="1" }  5 123\n\nn 1\nm{a="x\ny"} 2\n# comment\no{a="1"}7\n';
  const p = new ExpositionParser(body);
  const seen: unknown[] = [];
  for (let k = p.next(); k !== null; k = p.next()) {
    if (k === 'series') seen.push([k, p.lineNumber(), p.seriesKey(), p.metricName(), p.value(), p.timestamp(), p.labelCount()]);
    else seen.push([k, p.lineNumber(), p.familyName(), p.text()]);
  }
  assert.deepEqual(seen, [
    ['help', 1, 'm', 'Help.'],
    ['type', 2, 'm', 'gauge'],
    ['series', 3, 'm { b = "2", a="1" }', 'm', 5, 123, 3],
    ['series', 5, 'n', 'n', 1, undefined, 1],
    ['series', 6, 'm{a="x\ny"}', 'm', 2, undefined, 2],
    ['series', 9, 'o{a="1"}', 'o', 7, undefined, 2],
  ]);
  assert.equal(p.next(), null);
  assert.equal(p.next(), null);
});

test('the cursor: OpenMetrics entries, "# EOF" is an entry', () => {
  const p = new ExpositionParser('# TYPE a_seconds counter\n# UNIT a_seconds seconds\na_seconds_total 1\n# EOF\n', OM);
  assert.deepEqual([p.next(), p.text(), p.next(), p.text(), p.next(), p.seriesKey(), p.next(), p.next()], ['type', 'counter', 'unit', 'seconds', 'series', 'a_seconds_total', 'eof', null]);
});

test('seriesKey() is a cache key: the same key text always gives the same labels', () => {
  const bodies = ['m{b="2",a="1"} 1\nm{b="2",a="1"} 2 5\nm{a="1",b="2"} 3\n', 'm{b="2",a="1"} 9\n'];
  const cache = new Map<string, string[]>();
  for (const body of bodies) {
    const p = new ExpositionParser(body);
    for (let k = p.next(); k !== null; k = p.next()) {
      const key = p.seriesKey();
      const cached = cache.get(key);
      if (cached === undefined) cache.set(key, p.labels());
      else assert.deepEqual(p.labels(), cached);
    }
  }
  assert.deepEqual([...cache.keys()], ['m{b="2",a="1"}', 'm{a="1",b="2"}']);
  assert.deepEqual(cache.get('m{b="2",a="1"}'), ['__name__', 'm', 'a', '1', 'b', '2']);
});

test('parsers in use at the same time do not disturb each other', () => {
  const a = 'a{x="1"} 1\na{x="2"} 2\na{x="3"} 3\n';
  const b = 'b{y="1"} 1\nb{y="2"} 2\n';
  const pa = new ExpositionParser(a);
  const pb = new ExpositionParser(b);
  const abandoned = new ExpositionParser(a);
  abandoned.next();
  const got: string[] = [];
  let more = true;
  while (more) {
    more = false;
    if (pa.next() !== null) {
      got.push(pa.seriesKey());
      more = true;
    }
    if (pb.next() !== null) {
      got.push(pb.seriesKey());
      more = true;
    }
  }
  assert.deepEqual(got, ['a{x="1"}', 'b{y="1"}', 'a{x="2"}', 'b{y="2"}', 'a{x="3"}']);
  assert.equal(abandoned.seriesKey(), 'a{x="1"}');
  assert.deepEqual(parseExposition(a).series.map((s) => s.value), [1, 2, 3]);
});

// [body, line, what the message says, OpenMetrics?]
const malformed: [string, number, RegExp, boolean?][] = [
  // 0.0.4
  ['ok 1\nbroken{a="b" 1\n', 2, /expected a label name or "}", found "1"/],
  ['m{a="b"\n', 1, /label set is not closed with "}"/],
  ['m{a="b} 1\n', 1, /label value is not closed with '"'/],
  ['ok 1\nm{a="b\nc\nd', 2, /label value is not closed with '"'/],
  ['m{a="b\\\n"} 1\n', 1, /must not end a line with "\\"/],
  ['m{a=b} 1\n', 1, /expected '"' to open the value of label "a", found "b} 1"/],
  ['m{a} 1\n', 1, /expected "=" after label name "a", found "} 1"/],
  ['m{a:b="1"} 1\n', 1, /expected "=" after label name "a"/],
  ['m{1a="b"} 1\n', 1, /expected a label name or "}", found "1a/],
  ['m{,a="1"} 1\n', 1, /expected a label name or "}", found ",a/],
  ['m{a="1",,} 1\n', 1, /expected a label name or "}", found ",}/],
  ['m{a="1",a="2"} 1\n', 1, /duplicate label name "a"/],
  ['m{b="1",a="2",c="3",a="4"} 1\n', 1, /duplicate label name "a"/],
  ['m{ab="1",a="2",ab="3"} 1\n', 1, /duplicate label name "ab"/],
  ['m{__name__="m"} 1\n', 1, /duplicate label name "__name__"/],
  ['m\n', 1, /expected a value after the series, found end of line/],
  ['m{a="1"}\n', 1, /expected a value after the series/],
  ['m{}{} 1\n', 1, /expected a value after the series, found "{} 1"/],
  ['m abc\n', 1, /invalid value "abc"/],
  ['m +nan\n', 1, /invalid value "\+nan"/],
  ['m infin\n', 1, /invalid value "infin"/],
  ['m 0x10\n', 1, /invalid value "0x10"/],
  ['m 0x1p3\n', 1, /invalid value "0x1p3"/],
  ['m 1_000\n', 1, /invalid value "1_000"/],
  ['m .\n', 1, /invalid value "\."/],
  ['m 1e\n', 1, /invalid value "1e"/],
  ['m 1e400\n', 1, /value out of range "1e400"/],
  ['m -1e400\n', 1, /value out of range "-1e400"/],
  ['m 1\r\n', 1, /invalid value "1\\r"/],
  ['m 1 -5\n', 1, /expected a timestamp \(integer milliseconds\) or the end of the line after the value, found "-5"/],
  ['m 1 2.5\n', 1, /expected the end of the line after the timestamp, found "\.5"/],
  ['m 1 2 3\n', 1, /expected the end of the line after the timestamp, found "3"/],
  ['m 1 123abc\n', 1, /found "abc"/],
  ['m 1{\n', 1, /after the value, found "{"/],
  ['m 1 9223372036854775808\n', 1, /timestamp out of range "9223372036854775808"/],
  ['m 1 12345678901234567890\n', 1, /timestamp out of range/],
  ['1m 1\n', 1, /expected a metric name or "#" at the start of a line, found "1m 1"/],
  ['{a="b"} 1\n', 1, /expected a metric name or "#" at the start of a line/],
  ['  m 1\n', 1, /a sample line must not start with blanks/],
  ['ok 1\n\n# TYPE m bogus\n', 3, /invalid metric type "bogus"/],
  ['# TYPE m counter \n', 1, /invalid metric type "counter "/],
  ['# TYPE m  counter\n', 1, /invalid metric type " counter"/],
  ['# TYPE m\n', 1, /invalid metric type ""/],
  ['# TYPE m gaugehistogram\n', 1, /invalid metric type "gaugehistogram"/],
  ['# HELP \n', 1, /expected a metric name after "# HELP", found end of line/],
  ['# TYPE 1m gauge\n', 1, /expected a metric name after "# TYPE", found "1m gauge"/],
  ['a 1\nm{a="x\ny"} 2\nbad line\n', 4, /invalid value "line"/],
  // OpenMetrics
  ['m 1\n', 1, /OpenMetrics input must end with "# EOF"/, true],
  ['m 1', 1, /OpenMetrics input must end with "# EOF"/, true],
  ['', 1, /OpenMetrics input must end with "# EOF"/, true],
  ['m 1\n# EOF\nn 2\n', 3, /unexpected data after "# EOF"/, true],
  ['m 1\n# EOF\n\n', 3, /unexpected data after "# EOF"/, true],
  ['m 1\n# EOF \n', 2, /OpenMetrics has no other comments/, true],
  ['m 1\n\n# EOF\n', 2, /blank lines are not allowed in OpenMetrics/, true],
  ['# random comment\n# EOF\n', 1, /OpenMetrics has no other comments/, true],
  ['#HELP m x\n# EOF\n', 1, /OpenMetrics has no other comments/, true],
  ['# HELP\tm x\n# EOF\n', 1, /OpenMetrics has no other comments/, true],
  ['# HELP m\n# EOF\n', 1, /expected a space and text after the metric name in "# HELP"/, true],
  ['# HELP m-x y\n# EOF\n', 1, /expected a space after the metric name in "# HELP", found "-x y"/, true],
  ['# TYPE m untyped\n# EOF\n', 1, /invalid metric type "untyped"/, true],
  ['# TYPE m gauge \n# EOF\n', 1, /invalid metric type "gauge "/, true],
  ['# UNIT c seconds\nc 1\n# EOF\n', 1, /unit "seconds" is not a suffix of metric "c" after "_"/, true],
  ['# UNIT cseconds seconds\n# EOF\n', 1, /unit "seconds" is not a suffix of metric "cseconds"/, true],
  [' m 1\n# EOF\n', 1, /expected a metric name or "#" at the start of a line, found a space/, true],
  ['m\t1\n# EOF\n', 1, /expected a space and a value after the series, found a tab/, true],
  ['m {a="1"} 1\n# EOF\n', 1, /invalid value "{a=\\"1\\"}"/, true],
  ['m{a="1"}1\n# EOF\n', 1, /expected a space and a value after the series, found "1"/, true],
  ['m-1\n# EOF\n', 1, /expected a space and a value after the series, found "-1"/, true],
  ['m{a="1", b="2"} 1\n# EOF\n', 1, /expected a label name, found a space/, true],
  ['m{a = "1"} 1\n# EOF\n', 1, /expected "=" after label name "a", found a space/, true],
  ['m{a="1",} 1\n# EOF\n', 1, /expected a label name, found "} 1"/, true],
  ['m{a="1"b="2"} 1\n# EOF\n', 1, /expected "," or "}" after the value of label "a", found "b=/, true],
  ['m{a="x\ny"} 1\n# EOF\n', 1, /label value is not closed with '"'/, true],
  ['m{a="1",a="2"} 1\n# EOF\n', 1, /duplicate label name "a"/, true],
  ['m  1\n# EOF\n', 1, /expected a value after the series, found a space/, true],
  ['m 1 \n# EOF\n', 1, /expected a timestamp or "# {" after the value, found end of line/, true],
  ['m 1  2\n# EOF\n', 1, /expected a timestamp or "# {" after the value, found a space/, true],
  ['m 1 NaN\n# EOF\n', 1, /invalid timestamp "NaN"/, true],
  ['m 1 +Inf\n# EOF\n', 1, /invalid timestamp "\+Inf"/, true],
  ['m 1 1e400\n# EOF\n', 1, /timestamp out of range "1e400"/, true],
  ['m 1 1e300\n# EOF\n', 1, /timestamp out of range "1e300"/, true],
  ['m 1 2 3\n# EOF\n', 1, /expected "# {" or the end of the line after the timestamp, found "3"/, true],
  ['m_total 1 # x\n# EOF\n', 1, /invalid timestamp "#"/, true],
  ['g 1 # {a="b"} 1\n# EOF\n', 1, /metric "g" cannot have an exemplar: only _total and _bucket series can/, true],
  ['m_total 1 # {a="b"}\n# EOF\n', 1, /expected a space and a value after the exemplar's labels, found end of line/, true],
  ['m_total 1 # {a="b", c="d"} 1\n# EOF\n', 1, /expected a label name in the exemplar, found a space/, true],
  ['m_total 1 # {a="b"} 1 2 3\n# EOF\n', 1, /expected the end of the line after the exemplar, found a space/, true],
  ['m_total 1 # {a="b"} 1 NaN\n# EOF\n', 1, /invalid exemplar timestamp "NaN"/, true],
  ['m_total 1 # {a="b"} x\n# EOF\n', 1, /invalid exemplar value "x"/, true],
  ['m_total 1 # {a="b"} 1\n', 1, /OpenMetrics input must end with "# EOF"/, true],
  ['\u0000m 1\n# EOF\n', 1, /expected a metric name or "#" at the start of a line/, true],
];

for (const [body, line, reason, om] of malformed) {
  test(`rejects${om ? ' (OpenMetrics)' : ''} ${JSON.stringify(body)} at line ${line}`, () => {
    assert.throws(() => parseExposition(body, om ? OM : {}), (err: unknown) => {
      assert.ok(err instanceof ExpositionError && err instanceof WireError, String(err));
      assert.equal(err.code, 'FS_WIRE_EXPOSITION_SYNTAX');
      assert.equal(err.status, 400);
      assert.equal(err.line, line);
      assert.equal(err.limit, undefined);
      assert.match(err.message, new RegExp(`^line ${line}: `));
      assert.match(err.message, reason);
      return true;
    });
  });
}

test('after an error, next() throws the same error again', () => {
  const p = new ExpositionParser('a 1\nb x\nc 3\n');
  assert.equal(p.next(), 'series');
  let first: unknown;
  assert.throws(() => p.next(), (err) => ((first = err), err instanceof ExpositionError && err.line === 2));
  assert.throws(() => p.next(), (err) => err === first);
});

// [body, options, limit, line, what the message says]
const limits: [string, ExpositionOptions, string, number, RegExp][] = [
  [`ok 1\nm{a="${'x'.repeat(100)}"} 1\n`, { maxLineLength: 50 }, 'maxLineLength', 2, /line of 109 characters is over the limit of 50 \(maxLineLength\)/],
  [`m{a="x\n${'y'.repeat(60)}"} 1\n`, { maxLineLength: 50 }, 'maxLineLength', 2, /line of 64 characters/],
  // A line over the limit is reported as such even when it is also malformed.
  [`m{a="${'x'.repeat(100)}" 1\n`, { maxLineLength: 50 }, 'maxLineLength', 1, /over the limit of 50/],
  ['# HELP m ' + 'h'.repeat(70_000) + '\n', {}, 'maxLineLength', 1, /line of 70009 characters is over the limit of 65536/],
  ['m{a="1",b="2",c="3"} 1\n', { maxLabels: 3 }, 'maxLabels', 1, /series has more than 3 labels, __name__ counted \(maxLabels\)/],
  [`m{${Array.from({ length: 128 }, (_, i) => `l${i}="1"`).join(',')}} 1\n`, {}, 'maxLabels', 1, /more than 128 labels/],
  ['m{abcdef="1"} 1\n', { maxLabelNameLength: 5 }, 'maxLabelNameLength', 1, /label name of 6 characters is over the limit of 5 \(maxLabelNameLength\)/],
  ['m{a="123456"} 1\n', { maxLabelValueLength: 5 }, 'maxLabelValueLength', 1, /value of label "a" has 6 characters, over the limit of 5 \(maxLabelValueLength\)/],
  ['m{a="\\\\\\"\\n\\t"} 1\n', { maxLabelValueLength: 4 }, 'maxLabelValueLength', 1, /has 5 characters/],
  ['abcdef 1\n', { maxLabelValueLength: 5 }, 'maxLabelValueLength', 1, /metric name of 6 characters is over the limit of 5/],
  ['m{a="1",b="2",c="3"} 1\n# EOF\n', { format: 'openmetrics', maxLabels: 2 }, 'maxLabels', 1, /more than 2 labels/],
];

for (const [body, opts, limit, line, reason] of limits) {
  test(`limit ${limit}: ${reason.source.slice(0, 60)}`, () => {
    assert.throws(() => parseExposition(body, opts), (err: unknown) => {
      assert.ok(err instanceof ExpositionError, String(err));
      assert.equal(err.code, 'FS_WIRE_EXPOSITION_LIMIT');
      assert.equal(err.status, 400);
      assert.equal(err.limit, limit);
      assert.equal(err.line, line);
      assert.match(err.message, new RegExp(`^line ${line}: `));
      assert.match(err.message, reason);
      return true;
    });
  });
}

test('limits are inclusive', () => {
  assert.equal(parseExposition('m{a="1",b="2"} 1\n', { maxLabels: 3 }).series.length, 1);
  assert.equal(parseExposition('m{abcde="12345"} 1\n', { maxLabelNameLength: 5, maxLabelValueLength: 5 }).series.length, 1);
  assert.equal(parseExposition('m{a="\\\\\\"\\n\\t"} 1\n', { maxLabelValueLength: 5 }).series.length, 1);
  assert.equal(parseExposition(`m{a="${'x'.repeat(41)}"} 1\n`, { maxLineLength: 50 }).series.length, 1);
});

test('Go float syntax: parseGoFloat', () => {
  const rows: [string, number][] = [
    ['1', 1], ['-1.5e3', -1500], ['.5', 0.5], ['5.', 5], ['+Inf', Infinity], ['inf', Infinity], ['-infinity', -Infinity], ['1E+2', 100],
    ['0.1', 0.1], ['-0', -0], ['123456789.123456789', 123456789.12345679], ['1e-400', 0], ['9007199254740993', 9007199254740992],
    ['2.2250738585072014e-308', 2.2250738585072014e-308], ['1.7976931348623157e308', 1.7976931348623157e308], ['4.9e-324', 5e-324],
  ];
  for (const [s, v] of rows) assert.ok(Object.is(parseGoFloat(s), v), `${s}: ${parseGoFloat(s)}`);
  assert.ok(Number.isNaN(parseGoFloat('NaN')));
  assert.ok(Number.isNaN(parseGoFloat('nAn')));
  for (const s of ['', '-', '+', 'e5', '1e', '1e+', '0x1', '0x1p3', '1_000', '+NaN', '-nan', 'Infinityx', 'infin', '1.2.3', ' 1', '1 ', '1e400', '1.8e308', '١']) {
    assert.equal(parseGoFloat(s), undefined, s);
  }
});

test('parseGoFloat: 16 to 19 significant digits and large exponents (the Eisel-Lemire path) round as Go does, ties to even', () => {
  // Number() rounds decimals correctly, as Go's ParseFloat does; the fast path must agree bit for bit.
  const rand = prng(11);
  const digits = (k: number): string => {
    let d = String(1 + rand(9));
    while (d.length < k) d += String(rand(10));
    return d;
  };
  const cases: string[] = [
    '9007199254740993', '9007199254740995', '18014398509481985', '18446744073709551615', '1e-64', '1e64', '0e50', '-0e50',
    '496.64139398373663', '4.9406564584124654e-320', '123456789012345678e-40', '35034180506e32', '5.497797412667465637',
  ];
  for (let i = 0; i < 30_000; i++) {
    const d = digits(1 + rand(19));
    const cut = rand(d.length + 1);
    cases.push(`${d.slice(0, cut)}.${d.slice(cut)}`, `${i % 2 === 0 ? '-' : ''}${d}e${rand(140) - 70}`);
    // An odd 54-bit integer is halfway between two doubles; scaled by 10^-k it is a tie written with k more digits.
    const tie = (BigInt(rand(2 ** 26)) * 2n ** 26n + BigInt(rand(2 ** 26))) * 2n + 2n ** 53n + 1n;
    const k = rand(4);
    cases.push(tie.toString(), `${tie * 5n ** BigInt(k)}e-${k}`.replace(/e-0$/, ''));
  }
  for (const s of cases) {
    const want = Number(s);
    assert.ok(Object.is(parseGoFloat(s), Number.isFinite(want) ? want : undefined), `${s}: ${parseGoFloat(s)}, want ${want}`);
  }
});

test('formatGoFloat writes what Go strconv.FormatFloat(v, \'g\', -1, 64) writes', () => {
  const rows: [number, string][] = [
    [0, '0'], [-0, '-0'], [1, '1'], [-2.5, '-2.5'], [123456, '123456'], [999999, '999999'], [1e6, '1e+06'], [1048576, '1.048576e+06'],
    [-1e6, '-1e+06'], [0.0001, '0.0001'], [0.00012345, '0.00012345'], [0.00001, '1e-05'], [1.5e-7, '1.5e-07'], [1e21, '1e+21'],
    [123456789, '1.23456789e+08'], [1e100, '1e+100'], [NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf'], [0.1, '0.1'],
    [5e-324, '5e-324'], [1.7976931348623157e308, '1.7976931348623157e+308'], [1700000000.123, '1.700000000123e+09'], [0.3, '0.3'],
  ];
  for (const [v, want] of rows) assert.equal(formatGoFloat(v), want, String(v));
});

test('formatGoFloat and parseGoFloat round-trip every double', () => {
  const rand = prng(7);
  const view = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < 20_000; i++) {
    view.setUint32(0, rand(2 ** 32));
    view.setUint32(4, rand(2 ** 32));
    const v = i % 2 === 0 ? view.getFloat64(0) : (rand(2 ** 31) - 2 ** 30) / 10 ** rand(12);
    const back = parseGoFloat(formatGoFloat(v));
    assert.ok(Object.is(back, v) || (Number.isNaN(v) && Number.isNaN(back)), `${v} → ${formatGoFloat(v)} → ${back}`);
  }
});

test('formatSeries: one 0.0.4 line', () => {
  const rows: [string[], number, number | undefined, string][] = [
    [['__name__', 'up'], 1, undefined, 'up 1'],
    [['__name__', 'm', 'a', 'b', 'c', 'd'], 1.5, 1700000000000, 'm{a="b",c="d"} 1.5 1700000000000'],
    [['c', 'd', '__name__', 'm', 'a', 'b'], 2, undefined, 'm{a="b",c="d"} 2'],
    [['Z', '1', '__name__', 'm'], 1e6, undefined, 'm{Z="1"} 1e+06'],
    [['__name__', 'm', 'a', 'q"b\\s\nn\tt'], NaN, -1, 'm{a="q\\"b\\\\s\\nn\tt"} NaN -1'],
    [['__name__', 'h_bucket', 'le', '+Inf'], Infinity, undefined, 'h_bucket{le="+Inf"} +Inf'],
    [['__name__', 'm', 'a', ''], -Infinity, undefined, 'm{a=""} -Inf'],
  ];
  for (const [labels, value, ts, want] of rows) assert.equal(formatSeries(labels, value, ts), want);
});

test('round trip: parse(formatSeries(x)) is x', () => {
  const rand = prng(99);
  const nameChars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789';
  const valueChars = ['a', 'Z', '0', ' ', '\t', '"', '\\', '\n', '{', '}', '=', ',', '#', 'é', '日', '😀', '\ud800', '\u0122', '\u0000', 'n'];
  const name = (first: string): string => {
    let s = first[rand(first.length)] as string;
    for (let n = rand(12); n > 0; n--) s += nameChars[rand(nameChars.length)];
    return s;
  };
  const values = [0, -0, 1, -1.5, 0.1, 1e6, 1e-7, 1e21, 5e-324, 1.7976931348623157e308, NaN, Infinity, -Infinity, 1700000000.123];
  for (let i = 0; i < 2000; i++) {
    const pairs = new Map<string, string>();
    pairs.set('__name__', name('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:'));
    for (let n = rand(20); n > 0; n--) {
      let v = '';
      for (let k = rand(10); k > 0; k--) v += valueChars[rand(valueChars.length)];
      const key = name('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_');
      if (key !== '__name__') pairs.set(key, v);
    }
    const labels = [...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flat();
    const value = i % 3 === 0 ? (values[rand(values.length)] as number) : (rand(2 ** 31) - 2 ** 30) / 10 ** rand(8);
    const ts = i % 2 === 0 ? undefined : rand(2 ** 31) * 1000 + rand(1000);
    const line = formatSeries(labels, value, ts);
    const { series } = parseExposition(`${line}\n`);
    assert.equal(series.length, 1, line);
    checkSeries(series, [[labels, value, ts]]);
  }
});

test('content type picks the format', () => {
  const rows: [string | undefined, string][] = [
    ['application/openmetrics-text; version=1.0.0; charset=utf-8', 'openmetrics'],
    ['application/openmetrics-text', 'openmetrics'],
    ['Application/OpenMetrics-Text;version=0.0.1', 'openmetrics'],
    ['application/openmetrics-textx', 'prometheus'],
    ['text/plain; version=0.0.4; charset=utf-8', 'prometheus'],
    ['application/json', 'prometheus'],
    ['', 'prometheus'],
    [undefined, 'prometheus'],
  ];
  for (const [ct, want] of rows) assert.equal(formatFromContentType(ct), want, String(ct));
});

/** A small deterministic generator: rand(n) is an integer in [0, n). */
function prng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

/** Checks one parse outcome: a result whose every series is well formed and keyed consistently, or an ExpositionError naming a line of the body. */
function checkOutcome(body: string, opts: ExpositionOptions): 'parsed' | 'rejected' {
  let result: ReturnType<typeof parseExposition>;
  try {
    result = parseExposition(body, opts);
  } catch (err) {
    if (!(err instanceof ExpositionError)) throw new Error(`untyped error ${String(err)} for ${JSON.stringify(body)}`, { cause: err });
    assert.ok(err.code === 'FS_WIRE_EXPOSITION_SYNTAX' || err.code === 'FS_WIRE_EXPOSITION_LIMIT');
    assert.ok(err.line >= 1 && err.line <= body.split('\n').length + 1, `line ${err.line} of ${JSON.stringify(body)}`);
    assert.ok(err.message.startsWith(`line ${err.line}: `));
    return 'rejected';
  }
  // The cursor sees the same series, and each key alone parses to the same labels.
  const p = new ExpositionParser(body, opts);
  let i = 0;
  for (let k = p.next(); k !== null; k = p.next()) {
    if (k !== 'series') continue;
    const s = result.series[i++] as ParsedSeries;
    assert.ok(sameValue(p.value(), s.value));
    const labels = s.labels;
    assert.equal(labels[labels.indexOf('__name__') + 1], p.metricName());
    for (let j = 2; j < labels.length; j += 2) assert.ok((labels[j - 2] as string) < (labels[j] as string), `unsorted or repeated: ${JSON.stringify(labels)}`);
    const alone = parseExposition(opts.format === 'openmetrics' ? `${p.seriesKey()} 1\n# EOF\n` : `${p.seriesKey()} 1\n`, opts);
    assert.deepEqual(alone.series[0]?.labels, labels);
  }
  assert.equal(i, result.series.length);
  return 'parsed';
}

test('fuzz: 20,000 mutated bodies each parse or fail with a typed error', { timeout: 120_000 }, () => {
  const promSeed = valid.filter((c) => !c.om && !c.body.includes('\u0000')).map((c) => (c.body.endsWith('\n') || c.body === '' ? c.body : `${c.body}\n`)).join('');
  const omSeed = valid.filter((c) => c.om).map((c) => c.body.replace(/# EOF\n?$/, '')).join('') + '# EOF\n';
  assert.ok(parseExposition(promSeed).series.length > 50);
  assert.ok(parseExposition(omSeed, OM).series.length > 20);
  const rand = prng(12345);
  const alphabet = ['{', '}', '=', '"', ',', '\\', '\n', ' ', '\t', '#', 'a', '_', ':', '1', '.', '+', '-', 'e', 'E', 'N', 'I', '\u0000', '\r', 'é', '\ud83d', '\u0122', '\u015c', '\u010a', '# EOF\n', '# HELP ', '# TYPE ', ' # {a="b"} 1', '_total', '\\n'];
  const outcomes = { prometheus: { parsed: 0, rejected: 0 }, openmetrics: { parsed: 0, rejected: 0 } };
  for (let i = 0; i < 20_000; i++) {
    const format = i % 2 === 0 ? 'prometheus' : 'openmetrics';
    let body = format === 'prometheus' ? promSeed : omSeed;
    // Mutate a window of the seed, so that most of a body stays valid and the parser gets deep into it.
    const from = body.indexOf('\n', rand(body.length)) + 1;
    const to = body.indexOf('\n', from + 200 + rand(400)) + 1;
    body = body.slice(from, to > from ? to : body.length);
    if (format === 'openmetrics' && rand(8) !== 0) body = `${body.replace('# EOF\n', '')}# EOF\n`;
    for (let m = 1 + rand(3); m > 0; m--) {
      const at = rand(body.length + 1);
      const op = rand(4);
      const piece = alphabet[rand(alphabet.length)] as string;
      if (op === 0) body = body.slice(0, at) + body.slice(at + 1 + rand(3));
      else if (op === 1) body = body.slice(0, at) + piece + body.slice(at);
      else if (op === 2) body = body.slice(0, at) + piece + body.slice(at + 1);
      else body = body.slice(0, at) + body.slice(at, at + rand(20)) + body.slice(at);
    }
    outcomes[format][checkOutcome(body, { format, maxLineLength: 300, maxLabels: 12, maxLabelValueLength: 200 })]++;
  }
  // Both outcomes must be common for both formats, or the fuzzer is not exercising the parser.
  for (const f of ['prometheus', 'openmetrics'] as const) {
    assert.ok(outcomes[f].parsed > 500 && outcomes[f].rejected > 500, `${f}: ${JSON.stringify(outcomes[f])}`);
  }
});

test('fuzz: random bytes, 5,000 bodies', { timeout: 60_000 }, () => {
  const rand = prng(2024);
  const chars = ' \t\n{}=",\\#:_abcEN1.+-\u0000\r\u00e9\u0122\ud800';
  for (let i = 0; i < 5000; i++) {
    let body = '';
    for (let n = rand(80); n > 0; n--) body += rand(4) === 0 ? String.fromCharCode(rand(65536)) : chars[rand(chars.length)];
    checkOutcome(body, {});
    checkOutcome(body, OM);
  }
});
