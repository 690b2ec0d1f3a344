/**
 * HS256 JSON Web Tokens for the test servers, with node:crypto only: `signJwt` makes the tokens a
 * Supabase project would issue (role `authenticated`, `sub` = user id), `verifyJwt` checks them
 * the way PostgREST and Realtime do (signature, `exp`).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const TEST_JWT_SECRET = "mudsync-test-secret-at-least-32-characters-long";

export type JwtClaims = Record<string, unknown> & { sub?: string; role?: string; exp?: number };

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

export function signJwt(claims: JwtClaims, secret = TEST_JWT_SECRET): string {
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify({ iat: Math.floor(Date.now() / 1000), ...claims }));
  const sig = createHmac("sha256", secret).update(`${header}.${body}`).digest("base64url");
  return `${header}.${body}.${sig}`;
}

/** A user token as Supabase Auth issues it. */
export function userJwt(sub: string, secret = TEST_JWT_SECRET): string {
  return signJwt({ sub, role: "authenticated", aud: "authenticated", exp: Math.floor(Date.now() / 1000) + 3600 }, secret);
}

/** The project's anon key: a JWT with role anon and no sub. */
export function anonKey(secret = TEST_JWT_SECRET): string {
  return signJwt({ role: "anon", iss: "supabase-test" }, secret);
}

export type VerifyResult = { ok: true; claims: JwtClaims } | { ok: false; reason: string };

export function verifyJwt(token: string, secret = TEST_JWT_SECRET): VerifyResult {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "Expected 3 parts in JWT; got " + parts.length };
  const [header, body, sig] = parts as [string, string, string];
  let alg: unknown;
  let claims: JwtClaims;
  try {
    alg = (JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as { alg?: unknown }).alg;
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as JwtClaims;
  } catch {
    return { ok: false, reason: "JWT cannot be decoded" };
  }
  if (alg !== "HS256") return { ok: false, reason: "Wrong or unsupported encoding algorithm" };
  const expected = createHmac("sha256", secret).update(`${header}.${body}`).digest();
  const given = Buffer.from(sig, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "JWSInvalidSignature" };
  }
  if (typeof claims.exp === "number" && claims.exp * 1000 < Date.now()) return { ok: false, reason: "JWT expired" };
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) return { ok: false, reason: "JWT claims are not an object" };
  return { ok: true, claims };
}
