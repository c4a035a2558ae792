import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkScreen, caselessScreen, confirmedScreen, digitRunScreen, needleScreen } from './byte-screen.js';
import { BUILTIN_DETECTOR_NAMES, compileDetectors, findSensitive } from './detectors.js';

/** Lines framed as COPY TO sends them ('d', length, line) in one chunk, and a view of each line. */
function chunkOf(lines: string[]): { chunk: Buffer; views: Buffer[] } {
  const parts: Buffer[] = [];
  for (const l of lines) {
    const body = Buffer.from(l, 'utf8');
    const head = Buffer.alloc(5);
    head[0] = 0x64;
    head.writeInt32BE(body.length + 4, 1);
    parts.push(head, body);
  }
  const chunk = Buffer.concat(parts);
  const views: Buffer[] = [];
  let at = 0;
  for (const l of lines) {
    const n = Buffer.byteLength(l, 'utf8');
    views.push(chunk.subarray(at + 5, at + 5 + n));
    at += 5 + n;
  }
  return { chunk, views };
}

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

const PIECES = [
  '4111 1111 1111 1111', '4111-1111-1111-1111', '4111111111111111', '378282246310005', '12345', '9', ' ', '-', '--', '\t', '\\t', '\\\\',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig', 'eyJ', 'AKIAIOSFODNN7EXAMPLE', 'ASIA', 'aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'SeCrEt_KeY: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'ada@example.com', '@', 'ü', '€', '漢字', 'plain text', 'c4ca4238a0b923820dcc509a6f75849b',
  '-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----', 'PRIVATE KEY', '0000000000000', '1 2 3 4 5 6 7 8 9 0 1 2 3',
];

test('a screened row that is passed untouched never holds anything a built-in detector would mask', () => {
  const detectors = compileDetectors(BUILTIN_DETECTOR_NAMES.map((name) => ({ kind: 'builtin' as const, name })));
  const screen = new ChunkScreen(detectors.flatMap((d) => d.screens!));
  const next = rng(7);
  let skipped = 0;
  let matched = 0;
  for (let round = 0; round < 300; round++) {
    const lines = Array.from({ length: 1 + Math.floor(next() * 40) }, () =>
      Array.from({ length: Math.floor(next() * 6) }, () => PIECES[Math.floor(next() * PIECES.length)]).join(next() < 0.5 ? '\t' : ''),
    );
    const { chunk, views } = chunkOf(lines);
    screen.reset(chunk);
    lines.forEach((line, i) => {
      assert.ok(screen.holds(views[i]!));
      const found = findSensitive(line, detectors).length > 0;
      if (found) matched++;
      if (!screen.mayMatch(views[i]!)) {
        skipped++;
        assert.equal(found, false, `screen passed a row with a match: ${JSON.stringify(line)}`);
      }
    });
  }
  assert.ok(skipped > 100 && matched > 100, `both kinds of rows were seen (${skipped} skipped, ${matched} with matches)`);
});

test('screens: needles, caseless words and digit runs with single separators', () => {
  const b = Buffer.from('xx eyJ yy');
  assert.deepEqual(needleScreen('eyJ').next(b, 0), { start: 3, end: 6 });
  assert.equal(needleScreen('eyJ').next(b, 4), null);
  const anchored = needleScreen('eyJ', 'J');
  assert.deepEqual(anchored.next(Buffer.from('J yJ eJ eyJ'), 0), { start: 8, end: 11 }, 'J alone, yJ, eJ are no match');
  assert.equal(anchored.next(Buffer.from('xxeyJ'), 3), null, 'a match must start at or after from');
  assert.deepEqual(anchored.next(Buffer.from('xxeyJ'), 2), { start: 2, end: 5 });
  assert.throws(() => needleScreen('eyJ', 'q'));
  assert.deepEqual(caselessScreen('secret').next(Buffer.from('a_SeCrEt=1'), 0), { start: 2, end: 8 });
  assert.equal(caselessScreen('secret').next(Buffer.from('secre'), 0), null);
  const run = digitRunScreen(13, ' -').next;
  assert.deepEqual(run(Buffer.from('id 4111 1111-1111 1 end'), 0), { start: 3, end: 19 });
  assert.equal(run(Buffer.from('4111  1111 1111 1111'), 0), null, 'a double separator ends a run');
  assert.equal(run(Buffer.from('123456789012'), 0), null);
  assert.deepEqual(run(Buffer.from('12 x 1234567890123'), 0), { start: 5, end: 18 });
});

test('a chunk screen answers only for views of its chunk, and long views always need a look', () => {
  const { chunk, views } = chunkOf(['nothing here', 'x'.repeat(50)]);
  const screen = new ChunkScreen([needleScreen('@')], 20);
  screen.reset(chunk);
  assert.equal(screen.mayMatch(views[0]!), false);
  assert.equal(screen.mayMatch(views[1]!), true, 'longer than the masker scans: masked whole there');
  assert.equal(screen.holds(Buffer.from('nothing here')), false);
  assert.equal(screen.mayMatch(Buffer.from('nothing here')), true, 'a view of another buffer: no promise');
  assert.equal(screen.mayMatchRange(chunk, 5, 17), false, 'by position in the screened chunk');
  assert.equal(screen.mayMatchRange(Buffer.from(chunk), 5, 17), true, 'any other buffer: no promise');
  assert.equal(new ChunkScreen([undefined]).holds(views[0]!), false, 'nothing held before a reset');
  const everything = new ChunkScreen([undefined]);
  everything.reset(chunk);
  assert.equal(everything.mayMatch(views[0]!), true, 'a detector without a screen matches everywhere');
});

test('the digit-run screen covers every run of 13+ digits (single separators), whatever surrounds it', () => {
  const screen = digitRunScreen(13, ' -').next;
  const reference = /[0-9](?:[ -]?[0-9]){12}/g;
  const next = rng(11);
  const alphabet = '0123456789012345678901234567890123456789 - -ab\t';
  for (let round = 0; round < 3000; round++) {
    const text = Array.from({ length: Math.floor(next() * 80) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
    const buf = Buffer.from(text, 'latin1');
    const candidates: { start: number; end: number }[] = [];
    for (let c = screen(buf, 0); c !== null; c = screen(buf, c.end)) candidates.push(c);
    reference.lastIndex = 0;
    for (let m = reference.exec(text); m !== null; m = reference.exec(text)) {
      // Every digit of a true run lies inside some candidate (from any starting point).
      for (let at = m.index; at < m.index + m[0].length; at++) {
        assert.ok(candidates.some((c) => c.start <= at && at < c.end), `${JSON.stringify(text)}: position ${at} of run ${JSON.stringify(m[0])} not covered`);
      }
      reference.lastIndex = m.index + 1;
    }
  }
});

test('a confirmed screen clears a value only when the closer look fails within that value', () => {
  const onlyCards = confirmedScreen(digitRunScreen(13, ' -'), (t) => t.replace(/[ -]/g, '') === '4111111111111111');
  // Header bytes that look like digits must not change what is seen inside the value.
  const buf = Buffer.from('1234567890123 x 94111-1111-1111-1111 y');
  const screen = new ChunkScreen([onlyCards]);
  screen.reset(buf);
  assert.equal(screen.mayMatchRange(buf, 0, 13), false, 'a long run that is no card');
  assert.equal(screen.mayMatchRange(buf, 17, 36), true, 'the card, seen from the start of its value');
  assert.equal(screen.mayMatchRange(buf, 16, 36), false, 'the same digits with a 9 in front are no card');
});
