// The policy's egress rules as a pure decision: a captured connection to a destination no target
// names (address, port, detected protocol) → passthrough or refuse, and the rule that said so.
// First matching rule wins; none → the section's default (rule "egress-default"). Rules cannot
// match on TLS SNI or HTTP Host: those are the client's own words, while the bytes go to the
// original destination address, so an allow-list on them would be walked around by lying.
import { AddressRanges } from '../../core/network/cidr.js';
import { EGRESS_BUILTIN_RULES, type CapturedProtocol, type EgressAction, type EgressPolicy, type EgressRule } from '../../core/vocabulary.js';

export interface EgressDecision {
  action: EgressAction;
  /** The egress rule that decided (a policy rule's name, or one of EGRESS_BUILTIN_RULES). */
  rule: string;
}

export interface EgressDestination {
  host: string;
  port: number;
  protocol: CapturedProtocol;
}

interface CompiledRule {
  rule: EgressRule;
  ranges?: AddressRanges;
  ports?: ReadonlySet<number>;
  protocols?: ReadonlySet<CapturedProtocol>;
}

export class EgressRuleMatcher {
  private readonly rules: CompiledRule[];

  constructor(private readonly policy: EgressPolicy) {
    this.rules = policy.rules.map((rule) => ({
      rule,
      ranges: rule.destinations ? new AddressRanges(rule.destinations) : undefined,
      ports: rule.ports ? new Set(rule.ports) : undefined,
      protocols: rule.protocols ? new Set(rule.protocols) : undefined,
    }));
  }

  decide(d: EgressDestination): EgressDecision {
    for (const c of this.rules) {
      if (c.protocols && !c.protocols.has(d.protocol)) continue;
      if (c.ports && !c.ports.has(d.port)) continue;
      if (c.ranges && !c.ranges.has(d.host)) continue;
      return { action: c.rule.action, rule: c.rule.name };
    }
    return { action: this.policy.defaultAction, rule: EGRESS_BUILTIN_RULES.default };
  }
}
