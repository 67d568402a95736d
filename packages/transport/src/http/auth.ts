import { createHash, timingSafeEqual } from 'node:crypto';
import {
  OAuthError,
  OAuthErrorCode,
  buildOAuthProtectedResourceMetadata,
  verifyBearerToken,
  type AuthInfo,
  type OAuthMetadata,
  type OAuthProtectedResourceMetadata,
  type OAuthTokenVerifier,
} from '@modelcontextprotocol/server';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { isLoopbackHost, type ResolvedHttpOptions } from './options.js';

/** Verifies the Authorization header of a request; throws an `OAuthError` that maps to 401/403. */
export interface Authenticator {
  authenticate(header: string | undefined): Promise<AuthInfo>;
  /** URL of the protected resource metadata (advertised in `WWW-Authenticate`), in OAuth mode. */
  readonly resourceMetadataUrl: string | undefined;
  /** The RFC 9728 document, in OAuth mode. */
  readonly metadata: OAuthProtectedResourceMetadata | undefined;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

function bearerToken(header: string | undefined): string {
  if (!header) throw new OAuthError(OAuthErrorCode.InvalidToken, 'Missing Authorization header');
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (!match) throw new OAuthError(OAuthErrorCode.InvalidToken, "Invalid Authorization header format, expected 'Bearer TOKEN'");
  return match[1]!;
}

function scopesOf(payload: JWTPayload): string[] {
  const { scope, scp } = payload as { scope?: unknown; scp?: unknown };
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === 'string');
  return [];
}

/** A token verifier for JWT access tokens signed by a key in the JWKS at `jwksUrl`. */
export function jwtVerifier(options: { jwksUrl: string; issuer?: string; audience: string }): OAuthTokenVerifier {
  const keys = createRemoteJWKSet(new URL(options.jwksUrl));
  return {
    async verifyAccessToken(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          audience: options.audience,
          ...(options.issuer !== undefined && { issuer: options.issuer }),
          requiredClaims: ['exp'],
        }));
      } catch (error) {
        // A JWKS that cannot be fetched is our failure, not the client's.
        if (error instanceof joseErrors.JWKSTimeout || (error instanceof Error && /fetch/i.test(error.message) && !(error instanceof joseErrors.JOSEError))) {
          throw new OAuthError(OAuthErrorCode.ServerError, 'The token could not be verified (key set unavailable)');
        }
        throw new OAuthError(OAuthErrorCode.InvalidToken, error instanceof joseErrors.JWTExpired ? 'Token has expired' : 'Invalid access token');
      }
      const clientId = (payload as { client_id?: unknown; azp?: unknown }).client_id ?? (payload as { azp?: unknown }).azp ?? payload.sub ?? 'unknown';
      return {
        token,
        clientId: String(clientId),
        scopes: scopesOf(payload),
        ...(payload.exp !== undefined && { expiresAt: payload.exp }),
        extra: { ...(payload.sub !== undefined && { sub: payload.sub }), ...(payload.iss !== undefined && { iss: payload.iss }) },
      };
    },
  };
}

/** The authenticator the options ask for, or undefined when auth is off. */
export function createAuthenticator(options: ResolvedHttpOptions, endpointUrl: string): Authenticator | undefined {
  const { authToken, jwt } = options;
  if (authToken === undefined && jwt === undefined) return undefined;
  const expected = authToken !== undefined ? digest(authToken) : undefined;
  let metadata: OAuthProtectedResourceMetadata | undefined;
  let resourceMetadataUrl: string | undefined;
  let verifier: OAuthTokenVerifier | undefined;
  if (jwt) {
    const resource = new URL(endpointUrl);
    const issuer = jwt.issuer ?? new URL(jwt.jwksUrl).origin;
    metadata = {
      ...buildOAuthProtectedResourceMetadata({
        oauthMetadata: { issuer } as OAuthMetadata,
        resourceServerUrl: resource,
        // Plain http is accepted for an issuer on this machine only (local development and tests).
        dangerouslyAllowInsecureIssuerUrl: isLoopbackHost(new URL(issuer).hostname),
      }),
      bearer_methods_supported: ['header'],
    };
    resourceMetadataUrl = new URL('/.well-known/oauth-protected-resource', resource).href;
    verifier = jwtVerifier({ jwksUrl: jwt.jwksUrl, ...(jwt.issuer !== undefined && { issuer: jwt.issuer }), audience: jwt.audience ?? endpointUrl });
  }
  return {
    metadata,
    resourceMetadataUrl,
    async authenticate(header) {
      const token = bearerToken(header);
      if (expected && timingSafeEqual(digest(token), expected)) return { token, clientId: 'static-token', scopes: [] };
      if (!verifier) throw new OAuthError(OAuthErrorCode.InvalidToken, 'Invalid access token');
      return verifyBearerToken(header, { verifier, ...(resourceMetadataUrl !== undefined && { resourceMetadataUrl }) });
    },
  };
}
