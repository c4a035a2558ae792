// What the pipeline needs from a credential source: the target's login for this principal.
// The returned object is secret: adapters pass it straight to the upstream login and drop it.
import type { Principal, TargetSpec } from '../../policies/model.js';

export interface TargetLogin {
  readonly username: string;
  readonly password: string;
}

export interface CredentialSourceLike {
  credentialsFor(target: TargetSpec, principal: Principal): Promise<TargetLogin>;
}
