import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allStored } from './egress.js';

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
