import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ciAttributes } from './ci-attributes.js';

test('every CI field under its sidegate.ci.* name, absent ones left out', () => {
  assert.deepEqual(ciAttributes({ system: 'github', repository: 'acme/shop', runId: '991', runUrl: 'https://github.com/acme/shop/actions/runs/991', actor: 'octocat' }), {
    'sidegate.ci.system': 'github',
    'sidegate.ci.repository': 'acme/shop',
    'sidegate.ci.run_id': '991',
    'sidegate.ci.run_url': 'https://github.com/acme/shop/actions/runs/991',
    'sidegate.ci.actor': 'octocat',
  });
  assert.deepEqual(ciAttributes(undefined), {});
});
