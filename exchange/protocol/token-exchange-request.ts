// RFC 8693 §2.1 request parsing: what the form says, checked for shape only (the subject token is
// verified later, the target looked up later). Pure. Every problem is an OAuthError with the code
// RFC 8693 §2.2.2 asks for.
//
// A target is named by `audience` (its name) or `resource` (`urn:sidegate:target:<name>`); both may
// repeat per RFC 8693, but one exchange issues one target's credential, so they must all agree.
// Delegation (RFC 8693 §1.1): a sidecar exchanging a CI job's token sends its own pod token as
// `actor_token`; `actor_token_type` comes with it and never without it (§2.1).
import { MAX_TOKEN_BYTES } from '../../core/tokens/index.js';
import { OAuthError } from './oauth-error.js';
import { parseForm, required, single, type FormParameters } from './form-parameters.js';
import { CREDENTIAL_TOKEN_TYPE, SUBJECT_TOKEN_TYPES, TARGET_RESOURCE_PREFIX, TOKEN_EXCHANGE_GRANT } from './token-types.js';

export interface TokenExchangeRequest {
  subjectToken: string;
  subjectTokenType: string;
  /** The target's name, from audience or resource. */
  target: string;
  /** Roles asked for with `scope` (space-separated); empty: the grant's only role. */
  scope: string[];
  /** The party acting for the subject (a sidecar's pod token), verified later. */
  actorToken?: string;
}

export const MAX_EXCHANGE_BODY_BYTES = 2 * MAX_TOKEN_BYTES + 8 * 1024;
const MAX_TARGET_NAMES = 8;

const FORM_RULES = {
  repeatable: new Set(['resource', 'audience']),
  maxChars: { subject_token: MAX_TOKEN_BYTES, actor_token: MAX_TOKEN_BYTES },
  defaultMaxChars: 512,
};

/** Grant type first: a client of another grant learns that before anything else (RFC 6749 §5.2). */
function checkGrantType(form: FormParameters): void {
  const grantType = required(form, 'grant_type');
  if (grantType !== TOKEN_EXCHANGE_GRANT) throw new OAuthError('unsupported_grant_type', `only ${TOKEN_EXCHANGE_GRANT} is supported`);
}

function checkTokenTypes(form: FormParameters): string {
  const subjectTokenType = required(form, 'subject_token_type');
  if (!SUBJECT_TOKEN_TYPES.includes(subjectTokenType)) {
    throw new OAuthError('invalid_request', `subject_token_type must be one of ${SUBJECT_TOKEN_TYPES.join(', ')}`);
  }
  const requested = single(form, 'requested_token_type');
  if (requested !== undefined && requested !== CREDENTIAL_TOKEN_TYPE) {
    throw new OAuthError('invalid_request', `requested_token_type can only be ${CREDENTIAL_TOKEN_TYPE}`);
  }
  return subjectTokenType;
}

/** The actor token, when one is sent: a JWT with its type, or neither (RFC 8693 §2.1). */
function actorTokenOf(form: FormParameters): string | undefined {
  const token = single(form, 'actor_token');
  const type = single(form, 'actor_token_type');
  if (token === undefined && type === undefined) return undefined;
  if (token === undefined || token === '') throw new OAuthError('invalid_request', 'actor_token_type without actor_token');
  if (type === undefined) throw new OAuthError('invalid_request', 'actor_token requires actor_token_type');
  if (!SUBJECT_TOKEN_TYPES.includes(type)) throw new OAuthError('invalid_request', `actor_token_type must be one of ${SUBJECT_TOKEN_TYPES.join(', ')}`);
  return token;
}

/** The one target every audience and resource names. */
export function targetOf(form: FormParameters): string {
  const audiences = (form.get('audience') ?? []).filter((a) => a !== '');
  const resources = (form.get('resource') ?? []).filter((r) => r !== '');
  if (audiences.length + resources.length === 0) throw new OAuthError('invalid_request', 'name the target with audience or resource');
  if (audiences.length + resources.length > MAX_TARGET_NAMES) throw new OAuthError('invalid_target', 'one target per exchange');
  const names = new Set(audiences);
  for (const resource of resources) {
    if (!resource.startsWith(TARGET_RESOURCE_PREFIX) || resource.length === TARGET_RESOURCE_PREFIX.length) {
      throw new OAuthError('invalid_target', `a resource names a target as ${TARGET_RESOURCE_PREFIX}<name>`);
    }
    names.add(resource.slice(TARGET_RESOURCE_PREFIX.length));
  }
  if (names.size > 1) throw new OAuthError('invalid_target', 'one target per exchange: audience and resource name different targets');
  return [...names][0]!;
}

function scopeOf(form: FormParameters): string[] {
  const scope = single(form, 'scope');
  if (scope === undefined) return [];
  const roles = scope.split(' ').filter((s) => s !== '');
  if (roles.length !== 1) throw new OAuthError('invalid_scope', 'scope names one role');
  return roles;
}

export function parseTokenExchangeRequest(contentType: string | undefined, body: Buffer): TokenExchangeRequest {
  const form = parseForm(contentType, body, FORM_RULES);
  checkGrantType(form);
  const subjectToken = required(form, 'subject_token');
  const subjectTokenType = checkTokenTypes(form);
  const actorToken = actorTokenOf(form);
  return { subjectToken, subjectTokenType, target: targetOf(form), scope: scopeOf(form), ...(actorToken !== undefined ? { actorToken } : {}) };
}
