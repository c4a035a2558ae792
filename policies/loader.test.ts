import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicy } from './loader.js';
import { PolicyError } from './source-positions.js';

function problems(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (err) {
    assert.ok(err instanceof PolicyError);
    return err.issues.map((i) => `${i.line}:${i.column}: ${i.message}`);
  }
  return [];
}

test('YAML syntax errors carry line and column', () => {
  const p = problems('version: 1\nrules:\n  - name: [unclosed\n');
  assert.equal(p.length > 0, true);
  assert.match(p[0]!, /^\d+:\d+: /);
});

test('unknown keys point at the key', () => {
  assert.deepEqual(problems('version: 1\nrulez: []\n'), ['2:1: rulez: unknown key "rulez"']);
});

test('wrong enum values name the allowed ones and what was written', () => {
  const p = problems('version: 1\nrules:\n  - name: r\n    action: permit\n');
  assert.deepEqual(p, ['4:13: rules[0].action: expected one of allow|deny|approve, got "permit"']);
});

test('cross-references: unknown identity, duplicates, approval without approve, bad regex, hash without key', () => {
  const p = problems(`version: 1
identities:
  - { name: ci, issuer: "https://ci.example", audiences: [sidegate], jwksUrl: "https://ci.example/jwks" }
rules:
  - { name: r, identities: [nobody], action: allow }
  - { name: r, action: allow, approval: { approvers: [x] } }
  - { name: t, when: { text: "(" }, action: deny }
masking:
  - { name: m, columns: ["*.x"], strategy: hash }
`);
  assert.ok(p.some((x) => /^5:\d+: rules\[0\]\.identities\[0\]: unknown identity "nobody"/.test(x)), p.join('\n'));
  assert.ok(p.some((x) => /^6:\d+: rules\[1\]\.name: duplicate name "r"/.test(x)), p.join('\n'));
  assert.ok(p.some((x) => /rules\[1\]\.approval: approval is only allowed with action: approve/.test(x)), p.join('\n'));
  assert.ok(p.some((x) => /rules\[2\]\.when\.text: invalid regular expression/.test(x)), p.join('\n'));
  assert.ok(p.some((x) => /masking\[0\]\.strategy: strategy hash needs a top-level maskingKey/.test(x)), p.join('\n'));
});

test('an identity needs exactly one key source and an audience', () => {
  const p = problems(`version: 1
identities:
  - { name: ci, issuer: "https://ci.example" }
`);
  assert.ok(p.some((x) => /exactly one of jwksUrl, jwks, jwksFile/.test(x)));
  assert.ok(p.some((x) => /an audience is required/.test(x)));
});
