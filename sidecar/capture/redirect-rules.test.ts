import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { redirectRules, RedirectRuleError, OUTPUT_HOOK_RULE, type RedirectRuleOptions } from './redirect-rules.js';

// Golden files live in the source tree; UPDATE_GOLDEN=1 rewrites them after an intended change.
const goldenDir = fileURLToPath(new URL('../../../test/golden/redirect-rules/', import.meta.url));

const defaults: RedirectRuleOptions = {
  capturePort: 16001,
  uid: 7331,
  gid: 7331,
  includePorts: [5432, 3306, 22, 80, 443],
  excludePorts: [],
  excludeCidrs: [],
};

const goldenCases: Array<{ name: string; opts: RedirectRuleOptions }> = [
  { name: 'default-ports', opts: defaults },
  { name: 'all-tcp', opts: { ...defaults, includePorts: 'all', excludePorts: [16002, 15020] } },
  {
    name: 'exclusions',
    opts: {
      ...defaults,
      capturePort: 17001,
      uid: 1500,
      gid: 1501,
      includePorts: [443, 5432, 5432, 80],
      excludePorts: [80, 9090],
      excludeCidrs: ['10.96.0.0/12', 'fd00:10:96::/112', '169.254.169.254', '2001:db8::1', '10.96.0.0/12'],
    },
  },
];

function assertGolden(file: string, actual: string): void {
  const path = goldenDir + file;
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  assert.equal(actual, readFileSync(path, 'utf8'), `${file} differs from the golden file (UPDATE_GOLDEN=1 to accept)`);
}

describe('redirectRules', () => {
  for (const { name, opts } of goldenCases) {
    it(`matches the golden rules: ${name}`, () => {
      const rules = redirectRules(opts);
      assertGolden(`${name}.ipv4.rules`, rules.ipv4);
      assertGolden(`${name}.ipv6.rules`, rules.ipv6);
    });
  }

  it('exempts the sidecar before anything can redirect, in both families', () => {
    const rules = redirectRules(defaults);
    for (const text of [rules.ipv4, rules.ipv6]) {
      const lines = text.split('\n');
      const firstRedirect = lines.findIndex((l) => l.startsWith('-A SIDEGATE_OUTPUT') && l.endsWith('-j SIDEGATE_REDIRECT'));
      const uid = lines.indexOf('-A SIDEGATE_OUTPUT -m owner --uid-owner 7331 -j RETURN');
      const gid = lines.indexOf('-A SIDEGATE_OUTPUT -m owner --gid-owner 7331 -j RETURN');
      assert.ok(uid > 0 && gid > 0 && uid < firstRedirect && gid < firstRedirect);
      assert.equal(lines.filter((l) => l === OUTPUT_HOOK_RULE).length, 1);
      assert.equal(lines.at(-2), 'COMMIT');
    }
  });

  it('keeps IPv4 ranges out of the IPv6 rules and the other way round', () => {
    const rules = redirectRules({ ...defaults, excludeCidrs: ['192.0.2.0/24', '2001:db8::/32'] });
    assert.match(rules.ipv4, /-d 192\.0\.2\.0\/24 -j RETURN/);
    assert.doesNotMatch(rules.ipv4, /2001:db8/);
    assert.match(rules.ipv6, /-d 2001:db8::\/32 -j RETURN/);
    assert.doesNotMatch(rules.ipv6, /192\.0\.2/);
    assert.match(rules.ipv4, /-d 127\.0\.0\.0\/8 -j RETURN/);
    assert.match(rules.ipv6, /-d ::1\/128 -j RETURN/);
  });

  it('lets an excluded port win over an included one', () => {
    const { ipv4 } = redirectRules({ ...defaults, excludePorts: [3306] });
    assert.match(ipv4, /--dport 3306 -j RETURN/);
    assert.doesNotMatch(ipv4, /--dport 3306 -j SIDEGATE_REDIRECT/);
    assert.match(ipv4, /--dport 5432 -j SIDEGATE_REDIRECT/);
  });

  const invalid: Array<[string, Partial<RedirectRuleOptions>, RegExp]> = [
    ['capture port 0', { capturePort: 0 }, /capture port 0/],
    ['capture port above 65535', { capturePort: 70000 }, /capture port 70000/],
    ['fractional include port', { includePorts: [80.5] }, /include port 80.5/],
    ['empty include list', { includePorts: [] }, /capture nothing/],
    ['negative uid', { uid: -1 }, /uid -1/],
    ['exclude port 0', { excludePorts: [0] }, /exclude port 0/],
    ['garbage CIDR', { excludeCidrs: ['not-an-ip'] }, /not-an-ip/],
    ['IPv4 prefix too long', { excludeCidrs: ['10.0.0.0/33'] }, /10\.0\.0\.0\/33/],
    ['IPv6 prefix too long', { excludeCidrs: ['fd00::/129'] }, /fd00::\/129/],
    ['option injection in a CIDR', { excludeCidrs: ['10.0.0.0/8 -j ACCEPT'] }, /-j ACCEPT/],
    ['two slashes', { excludeCidrs: ['10.0.0.0/8/8'] }, /10\.0\.0\.0\/8\/8/],
  ];
  for (const [name, patch, message] of invalid) {
    it(`refuses ${name}`, () => {
      assert.throws(() => redirectRules({ ...defaults, ...patch }), (err: Error) => err instanceof RedirectRuleError && message.test(err.message));
    });
  }
});
