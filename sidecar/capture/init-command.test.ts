import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runInitCommand } from './init-command.js';
import { ApplyRedirectRulesError } from './apply-redirect-rules.js';
import type { RedirectRules } from './redirect-rules.js';

function io(apply?: (rules: RedirectRules) => Promise<RedirectRules>) {
  let stdout = '';
  let stderr = '';
  const applied: RedirectRules[] = [];
  return {
    io: {
      stdout: { write: (s: string) => ((stdout += s), true) },
      stderr: { write: (s: string) => ((stderr += s), true) },
      apply: async (rules: RedirectRules) => {
        applied.push(rules);
        return apply ? apply(rules) : rules;
      },
    },
    out: () => stdout,
    err: () => stderr,
    applied,
  };
}

describe('sidegate init', () => {
  it('applies the default ports for uid/gid 7331 to port 16001 and prints what it applied', async () => {
    const t = io();
    assert.equal(await runInitCommand([], t.io as never), 0);
    assert.equal(t.applied.length, 1);
    assert.match(t.applied[0]!.ipv4, /--dport 5432 -j SIDEGATE_REDIRECT/);
    assert.match(t.applied[0]!.ipv4, /--dport 3306 -j SIDEGATE_REDIRECT/);
    for (const port of [22, 80, 443]) assert.doesNotMatch(t.applied[0]!.ipv4, new RegExp(`--dport ${port} -j SIDEGATE_REDIRECT`), `port ${port} has no adapter`);
    assert.match(t.applied[0]!.ipv6, /--uid-owner 7331 -j RETURN/);
    assert.match(t.applied[0]!.ipv4, /--to-ports 16001/);
    assert.match(t.out(), /# IPv4 rules applied[\s\S]*# IPv6 rules applied/);
  });

  it('passes every flag through', async () => {
    const t = io();
    const code = await runInitCommand(
      ['--capture-port', '17001', '--uid', '1000', '--gid', '1001', '--include-ports', '*', '--exclude-ports', '16002, 15090', '--exclude-cidrs', '10.96.0.0/12,fd00::/8'],
      t.io as never,
    );
    assert.equal(code, 0);
    const { ipv4, ipv6 } = t.applied[0]!;
    assert.match(ipv4, /--to-ports 17001/);
    assert.match(ipv4, /--uid-owner 1000 .*\n.*--gid-owner 1001/);
    assert.match(ipv4, /-A SIDEGATE_OUTPUT -p tcp -j SIDEGATE_REDIRECT/);
    assert.match(ipv4, /--dport 15090 -j RETURN\n.*--dport 16002 -j RETURN/);
    assert.match(ipv4, /-d 10\.96\.0\.0\/12 -j RETURN/);
    assert.match(ipv6, /-d fd00::\/8 -j RETURN/);
  });

  it('--dry-run prints without applying', async () => {
    const t = io();
    assert.equal(await runInitCommand(['--dry-run'], t.io as never), 0);
    assert.equal(t.applied.length, 0);
    assert.match(t.out(), /not applied/);
    assert.match(t.out(), /REDIRECT --to-ports 16001/);
  });

  const usageErrors: Array<[string, string[], RegExp]> = [
    ['an unknown flag', ['--include-port', '5432'], /include-port/],
    ['a non-numeric port', ['--include-ports', '5432,postgres'], /"postgres" is not a number/],
    ['an empty include list', ['--include-ports', ''], /capture nothing/],
    ['a bad CIDR', ['--exclude-cidrs', '10.0.0.0/8,nonsense'], /nonsense/],
    ['a bad uid', ['--uid', '-5'], /--uid/],
  ];
  for (const [name, argv, message] of usageErrors) {
    it(`exits 2 without applying on ${name}`, async () => {
      const t = io();
      assert.equal(await runInitCommand(argv, t.io as never), 2);
      assert.equal(t.applied.length, 0);
      assert.match(t.err(), message);
      assert.match(t.err(), /usage: sidegate init/);
    });
  }

  it('exits 1 and says traffic is not captured when applying fails (fail closed)', async () => {
    const t = io(async () => {
      throw new ApplyRedirectRulesError('IPv6 redirect rules: ip6tables-restore --noflush exited 2: table nat missing');
    });
    assert.equal(await runInitCommand([], t.io as never), 1);
    assert.match(t.err(), /ip6tables-restore --noflush exited 2/);
    assert.match(t.err(), /NOT captured/);
    assert.equal(t.out(), '');
  });
});
