import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNotificationTargets, parseNotificationsConfig } from './notifications-config.js';

const SLACK_URL = 'https://hooks.slack.com/services/T000/B000/SECRETPATHxyz';
const HMAC_SECRET = 'f'.repeat(64);

function secretsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sidegate-notify-'));
  writeFileSync(join(dir, 'slack-url'), `${SLACK_URL}\n`);
  writeFileSync(join(dir, 'hmac'), `${HMAC_SECRET}\n`);
  return dir;
}

test('a full block parses; webhooks default to none and events to all', () => {
  assert.deepEqual(parseNotificationsConfig({ publicUrl: 'https://sidegate.example.com' }), { publicUrl: 'https://sidegate.example.com', webhooks: [] });
  const config = parseNotificationsConfig({
    publicUrl: 'https://sidegate.example.com/',
    slack: { webhookUrlFile: '/etc/sidegate/slack-url' },
    webhooks: [{ url: 'https://hooks.example.com/sidegate', secretFile: '/etc/sidegate/hmac', events: ['approval.decided'] }],
  });
  assert.equal(config.webhooks[0]!.events![0], 'approval.decided');
});

test('mistakes fail with the field named', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{}, /publicUrl/],
    [{ publicUrl: 'ftp://x' }, /publicUrl/],
    [{ publicUrl: 'https://x', slack: { webhookUrl: 'https://hooks.slack.com/…' } }, /slack.*webhookUrl|webhookUrlFile/],
    [{ publicUrl: 'https://x', webhooks: [{ url: 'http://receiver.example/hook', secretFile: '/s' }] }, /webhooks\.0\.url: must be https/],
    [{ publicUrl: 'https://x', webhooks: [{ url: 'https://r.example', secretFile: '/s', events: ['approval.updated'] }] }, /webhooks\.0\.events\.0/],
    [{ publicUrl: 'https://x', webhooks: [{ url: 'https://r.example' }] }, /webhooks\.0\.secretFile/],
  ];
  for (const [value, expected] of cases) {
    assert.throws(() => parseNotificationsConfig(value, 'broker.yaml'), (err: Error) => {
      assert.match(err.message, /^broker\.yaml: invalid notifications configuration: /);
      assert.match(err.message, expected);
      return true;
    }, JSON.stringify(value));
  }
});

test('plain http is accepted only to a loopback receiver', () => {
  for (const url of ['http://127.0.0.1:9000/hook', 'http://localhost/hook', 'http://[::1]:9000/']) {
    assert.doesNotThrow(() => parseNotificationsConfig({ publicUrl: 'https://x', webhooks: [{ url, secretFile: '/s' }] }), url);
  }
});

test('secrets are read from their files, trimmed', async () => {
  const dir = secretsDir();
  const targets = await loadNotificationTargets(
    parseNotificationsConfig({
      publicUrl: 'https://sidegate.example.com',
      slack: { webhookUrlFile: join(dir, 'slack-url') },
      webhooks: [{ url: 'https://hooks.example.com/a', secretFile: join(dir, 'hmac'), events: ['approval.created'] }],
    }),
  );
  assert.deepEqual(targets, {
    publicUrl: 'https://sidegate.example.com',
    slack: { webhookUrl: SLACK_URL },
    webhooks: [{ url: 'https://hooks.example.com/a', secret: HMAC_SECRET, events: ['approval.created'] }],
  });
});

test('unusable secret files are refused, naming the file and never its content', async () => {
  const dir = secretsDir();
  writeFileSync(join(dir, 'short'), 'hunter2-is-short\n');
  writeFileSync(join(dir, 'plain-http-url'), 'http://hooks.example.com/services/SECRETPATHxyz');
  writeFileSync(join(dir, 'not-a-url'), 'SECRETPATHxyz');
  writeFileSync(join(dir, 'empty'), '\n');
  writeFileSync(join(dir, 'huge'), 'x'.repeat(5000));
  mkdirSync(join(dir, 'a-directory'));
  const slack = (file: string) => ({ publicUrl: 'https://x', slack: { webhookUrlFile: join(dir, file) } });
  const hook = (file: string) => ({ publicUrl: 'https://x', webhooks: [{ url: 'https://r.example', secretFile: join(dir, file) }] });
  const cases: Array<[unknown, RegExp]> = [
    [hook('short'), /short: a webhook secret needs at least 32 characters/],
    [slack('plain-http-url'), /plain-http-url: the webhook URL must be https/],
    [slack('not-a-url'), /not-a-url: does not hold a URL/],
    [slack('empty'), /empty: empty/],
    [hook('huge'), /huge: larger than 4096 bytes/],
    [hook('a-directory'), /a-directory: not a regular file/],
    [hook('missing'), /missing: cannot be read \(ENOENT\)/],
  ];
  for (const [value, expected] of cases) {
    await assert.rejects(loadNotificationTargets(parseNotificationsConfig(value)), (err: Error) => {
      assert.match(err.message, expected);
      assert.ok(!/SECRETPATH|hunter2/.test(err.message), err.message);
      return true;
    });
  }
});
