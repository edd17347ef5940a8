import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allStored, bulkBody } from './egress.js';
import { decodeBufferRecord } from './pipeline.js';

test('an all-stored bulk answer is recognised without parsing; anything else is parsed', () => {
  const items = (n: number, item = '{"index":{"status":201}}'): string => new Array(n).fill(item).join(',');
  const cases: [string, number, boolean][] = [
    [`{"errors":false,"items":[${items(3)}]}`, 3, true],
    [`{"took":12,"errors":false,"items":[${items(3)}]}`, 3, true],
    [`{"errors":false,"items":[${items(2)}]}`, 3, false], // fewer items than documents: parsed (missing items are retried)
    [`{"errors":true,"items":[${items(2)},{"index":{"status":400,"error":{"type":"mapper_parsing_exception"}}}]}`, 3, false],
    [`{"took":1,"errors":true,"items":[]} ${' '.repeat(80)}"errors":false`, 0, false],
    ['not json', 1, false],
  ];
  for (const [raw, docs, want] of cases) assert.equal(allStored(Buffer.from(raw), docs), want, raw.slice(0, 60));
});

test('a bulk body is the documents in order: runs of one record without a copy, others joined', () => {
  const a = Buffer.from('{"index":{}}\n{"a":1}\n{"index":{}}\n{"a":2}\n{"index":{}}\n{"a":3}\n');
  const b = Buffer.from('{"index":{}}\n{"b":1}\n');
  const da = decodeBufferRecord(a);
  const db = decodeBufferRecord(b);
  const whole = bulkBody(da);
  assert.equal(whole.toString(), a.toString());
  assert.equal(whole.buffer, a.buffer, 'one record: a view, not a copy');
  assert.equal(bulkBody([da[0], da[2], ...db].filter((d) => d !== undefined)).toString(), '{"index":{}}\n{"a":1}\n{"index":{}}\n{"a":3}\n{"index":{}}\n{"b":1}\n');
  assert.equal(bulkBody([da[1], da[2], db[0]].filter((d) => d !== undefined)).toString(), '{"index":{}}\n{"a":2}\n{"index":{}}\n{"a":3}\n{"index":{}}\n{"b":1}\n');
});
