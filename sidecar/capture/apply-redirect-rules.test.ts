// Real iptables runs in test/netns/transparent-capture.test.ts (rules applied twice in a pod
// namespace); here: hook handling and error reporting, with stand-in commands.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyRedirectRules, omitInstalledHook, ApplyRedirectRulesError } from './apply-redirect-rules.js';
import { redirectRules, OUTPUT_HOOK_RULE } from './redirect-rules.js';

const rules = redirectRules({ capturePort: 16001, uid: 7331, gid: 7331, includePorts: [5432], excludePorts: [], excludeCidrs: [] });

describe('omitInstalledHook', () => {
  it('keeps the OUTPUT hook on a table that does not have it', () => {
    assert.equal(omitInstalledHook(rules.ipv4, '*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'), rules.ipv4);
  });

  it('drops only the OUTPUT hook when the saved table already has it', () => {
    const saved = `*nat\n:OUTPUT ACCEPT [0:0]\n${OUTPUT_HOOK_RULE}\n-A SIDEGATE_OUTPUT -d 127.0.0.0/8 -j RETURN\nCOMMIT\n`;
    const input = omitInstalledHook(rules.ipv4, saved);
    assert.ok(!input.split('\n').includes(OUTPUT_HOOK_RULE));
    assert.equal(input.split('\n').length, rules.ipv4.split('\n').length - 1);
    assert.match(input, /-F SIDEGATE_OUTPUT/);
  });

  it('is not fooled by a similar rule with extra matches', () => {
    const saved = `*nat\n-A OUTPUT -p tcp -m owner --uid-owner 5 -j SIDEGATE_OUTPUT\nCOMMIT\n`;
    assert.equal(omitInstalledHook(rules.ipv4, saved), rules.ipv4);
  });
});

describe('applyRedirectRules', () => {
  it('names the missing binary', async () => {
    await assert.rejects(
      applyRedirectRules(rules, { ipv4: { save: '/nonexistent/iptables-save', restore: '/nonexistent/iptables-restore' } }),
      (err: Error) => err instanceof ApplyRedirectRulesError && /IPv4 .*\/nonexistent\/iptables-save.*iptables package/.test(err.message),
    );
  });

  it('fails with the family, command and exit status when restore fails', async () => {
    await assert.rejects(
      applyRedirectRules(rules, { ipv4: { save: 'true', restore: 'false' } }),
      (err: Error) => err instanceof ApplyRedirectRulesError && /IPv4 redirect rules: false --noflush exited 1/.test(err.message),
    );
  });

  it('kills a command that hangs and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidegate-apply-'));
    try {
      const hang = join(dir, 'hang');
      writeFileSync(hang, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
      const started = Date.now();
      await assert.rejects(applyRedirectRules(rules, { ipv4: { save: 'true', restore: hang }, timeoutMs: 100 }), /did not finish within 100 ms/);
      assert.ok(Date.now() - started < 5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops at the first failing family', async () => {
    await assert.rejects(
      applyRedirectRules(rules, { ipv4: { save: 'true', restore: 'true' }, ipv6: { save: 'true', restore: 'false' } }),
      /IPv6 redirect rules: false --noflush exited 1/,
    );
  });

  it('feeds the rules to restore on stdin, without the hook once iptables-save shows it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidegate-apply-'));
    try {
      // Stand-ins: "save" prints a table that already has the hook; "restore" records its stdin and args.
      const save = join(dir, 'save');
      const restore = join(dir, 'restore');
      writeFileSync(save, `#!/bin/sh\nprintf '*nat\\n${OUTPUT_HOOK_RULE}\\nCOMMIT\\n'\n`, { mode: 0o755 });
      writeFileSync(restore, `#!/bin/sh\necho "$@" > "${dir}/args"\ncat > "${dir}/stdin"\n`, { mode: 0o755 });
      const applied = await applyRedirectRules(rules, { ipv4: { save: 'true', restore: 'true' }, ipv6: { save, restore } });
      assert.equal(applied.ipv4, rules.ipv4);
      assert.equal(applied.ipv6, omitInstalledHook(rules.ipv6, OUTPUT_HOOK_RULE));
      assert.notEqual(applied.ipv6, rules.ipv6);
      assert.equal(readFileSync(join(dir, 'stdin'), 'utf8'), applied.ipv6);
      assert.equal(readFileSync(join(dir, 'args'), 'utf8'), '--noflush\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
