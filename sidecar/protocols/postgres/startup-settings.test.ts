import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideStartup, parseOptions } from './startup-settings.js';

test('options are split like pg_split_opts: white space, backslash escapes', () => {
  assert.deepEqual(parseOptions('  -c statement_timeout=5s\t--lock-timeout=2s -capplication_name=a\\ b\\\\c '), {
    ok: true,
    settings: [
      ['statement_timeout', '5s'],
      ['lock_timeout', '2s'],
      ['application_name', 'a b\\c'],
    ],
  });
  assert.deepEqual(parseOptions(''), { ok: true, settings: [] });
});

test('options switches other than -c/-- and settings without a value are refused', () => {
  for (const o of ['-P', '-e', '-S 4096', '-c', '-c search_path', '--foo', 'dbname', '-B 10']) {
    const r = parseOptions(o);
    assert.equal(r.ok, false, o);
    if (!r.ok) assert.equal(r.sqlState, '42601');
  }
});

test('the safe settings are forwarded lower-cased, options first then parameters (last wins)', () => {
  const d = decideStartup({
    user: 'ci',
    database: 'app',
    options: '-c statement_timeout=1s -c DateStyle=ISO',
    statement_timeout: '5s',
    application_name: 'psql',
    TimeZone: 'UTC',
    lock_timeout: '3s',
    idle_in_transaction_session_timeout: '10s',
    client_encoding: 'UTF8',
  });
  assert.equal(d.ok, true);
  if (d.ok) {
    assert.deepEqual({ ...d.forward }, {
      statement_timeout: '5s',
      datestyle: 'ISO',
      application_name: 'psql',
      timezone: 'UTC',
      lock_timeout: '3s',
      idle_in_transaction_session_timeout: '10s',
    });
    assert.deepEqual(d.unsupportedProtocolOptions, []);
  }
});

test('settings that change who the session is, how names resolve or how text parses are refused by name', () => {
  const cases: Record<string, string>[] = [
    { options: '-c search_path=evil,public' },
    { options: '--role=postgres' },
    { options: '-c session_authorization=postgres' },
    { search_path: 'evil' },
    { role: 'admin' },
    { standard_conforming_strings: 'off' },
    { options: '-c default_transaction_read_only=off' },
    { backslash_quote: 'on' },
    { 'my.custom': 'x' },
    { bytea_output: 'escape' },
  ];
  for (const params of cases) {
    const d = decideStartup(params);
    assert.equal(d.ok, false, JSON.stringify(params));
    if (!d.ok) {
      assert.equal(d.sqlState, '42501');
      const name = Object.keys(params)[0] === 'options' ? params['options']!.replace(/^(-c |--)/, '').split('=')[0]! : Object.keys(params)[0]!;
      assert.ok(d.message.includes(`"${name}"`), d.message);
    }
  }
});

test('client_encoding: UTF8 aliases and SQL_ASCII accepted and never forwarded; others refused (22023)', () => {
  for (const enc of ['UTF8', 'utf-8', 'UNICODE', 'SQL_ASCII']) {
    const d = decideStartup({ client_encoding: enc, options: `-c client_encoding=${enc}` });
    assert.equal(d.ok, true, enc);
    if (d.ok) assert.equal(d.forward['client_encoding'], undefined);
  }
  const refused: Record<string, string>[] = [{ client_encoding: 'SJIS' }, { options: '-c client_encoding=BIG5' }, { CLIENT_ENCODING: 'gbk' }, { options: '--client-encoding=LATIN1' }];
  for (const params of refused) {
    const d = decideStartup(params);
    assert.equal(d.ok, false, JSON.stringify(params));
    if (!d.ok) assert.equal(d.sqlState, '22023');
  }
});

test('replication is refused unless false; _pq_ options are listed for NegotiateProtocolVersion', () => {
  assert.equal(decideStartup({ replication: 'false' }).ok, true);
  assert.equal(decideStartup({ replication: '0' }).ok, true);
  for (const v of ['true', 'database', 'on']) {
    const d = decideStartup({ replication: v });
    assert.equal(d.ok, false);
    if (!d.ok) assert.equal(d.sqlState, '0A000');
  }
  const d = decideStartup({ '_pq_.compression': 'on', '_pq_.x': '1' });
  assert.equal(d.ok, true);
  if (d.ok) {
    assert.deepEqual(d.unsupportedProtocolOptions, ['_pq_.compression', '_pq_.x']);
    assert.deepEqual({ ...d.forward }, {});
  }
});
