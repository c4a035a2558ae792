import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeMrkdwn, escapeMrkdwnBounded, mrkdwnLink } from './slack-mrkdwn.js';

test('&, < and > are escaped so no link, mention or entity can be written', () => {
  assert.equal(escapeMrkdwn('<!channel> <@U123> <https://evil.example|click> &amp;'), '&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt; &amp;amp;');
  assert.equal(escapeMrkdwn('SELECT 1'), 'SELECT 1');
});

test('the bound counts escaped characters and never cuts an entity', () => {
  const cut = escapeMrkdwnBounded('a<b<c', 6);
  assert.deepEqual(cut, { text: 'a&lt;b', omitted: 2 });
  assert.deepEqual(escapeMrkdwnBounded('<<<', 5), { text: '&lt;', omitted: 2 });
  assert.deepEqual(escapeMrkdwnBounded('abc', 3), { text: 'abc', omitted: 0 });
});

test('in a code block, backtick runs are broken so the text cannot close the block', () => {
  const shown = escapeMrkdwnBounded('a```b`c', 100, { code: true });
  assert.equal(shown.text, 'a`\u200b`\u200b`b`c');
  assert.equal(shown.omitted, 0);
  assert.ok(!shown.text.includes('``'));
});

test('links only to http(s), with the URL unable to end or split the link', () => {
  assert.equal(mrkdwnLink('https://ci.example/run/1?a=1&b=2', 'CI run'), '<https://ci.example/run/1?a=1&amp;b=2|CI run>');
  assert.equal(mrkdwnLink('https://ci.example/x|y>z', 'run'), '<https://ci.example/x%7Cy%3Ez|run>');
  assert.equal(mrkdwnLink('javascript:alert(1)', 'run <1>'), 'run &lt;1&gt;');
  assert.equal(mrkdwnLink('not a url', 'run'), 'run');
});
