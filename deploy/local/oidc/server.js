// The local stand-in for the national identity (VNeID): the OpenID-certified
// `oidc-provider`, with one confidential client (intake), a user store read from a JSON
// file, and a plain HTML login and consent interaction that a browser or a test can drive
// over HTTP (GET the form, POST it, follow the redirects).
//
// Everything comes from the environment, so `make up`, the tests and docker compose run
// the same script:
//   OIDC_PORT            port to listen on (9400)
//   OIDC_HOST            address to bind (127.0.0.1)
//   OIDC_ISSUER          the issuer URL (http://127.0.0.1:<port>); it must be the address
//                        the browser and the relying party reach the provider at
//   OIDC_CLIENT_ID       intake's client id (dvc-intake)
//   OIDC_CLIENT_SECRET   its secret, for client_secret_basic (intake's development value)
//   OIDC_REDIRECT_URIS   intake's callback URLs, comma separated
//   OIDC_USERS_FILE      the accounts: [{login, password, sub, claims: {...}}] (users.json)
//   OIDC_KEYS_FILE       the signing keys (a private JWKS); made on first start and kept,
//                        so a restart does not change the keys relying parties cached
//   OIDC_ID_NUMBER_CLAIM the claim carrying the 12-digit personal ID number (so_dinh_danh)

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider from 'oidc-provider';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const port = Number(env.OIDC_PORT || 9400);
const host = env.OIDC_HOST || '127.0.0.1';
const issuer = env.OIDC_ISSUER || `http://127.0.0.1:${port}`;
const idNumberClaim = env.OIDC_ID_NUMBER_CLAIM || 'so_dinh_danh';
const usersFile = env.OIDC_USERS_FILE || join(here, 'users.json');
const keysFile = env.OIDC_KEYS_FILE || join(here, '..', '..', '..', '.local', 'oidc-keys.json');

const users = JSON.parse(readFileSync(usersFile, 'utf8'));
const byLogin = new Map(users.map((u) => [u.login, u]));
const bySub = new Map(users.map((u) => [u.sub, u]));

function signingKeys() {
  if (existsSync(keysFile)) return JSON.parse(readFileSync(keysFile, 'utf8'));
  // RS256 and ES256: a relying party must pick the key by `kid` and the algorithm by key.
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const jwks = {
    keys: [
      { ...rsa, kid: randomUUID(), use: 'sig', alg: 'RS256' },
      { ...ec, kid: randomUUID(), use: 'sig', alg: 'ES256' },
    ],
  };
  writeFileSync(keysFile, JSON.stringify(jwks), { mode: 0o600 });
  return jwks;
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: env.OIDC_CLIENT_ID || 'dvc-intake',
      client_secret: env.OIDC_CLIENT_SECRET || 'dvc-dev-oidc-client-secret-intake-change-me-0123456789',
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: (env.OIDC_REDIRECT_URIS || 'http://127.0.0.1:8001/api/v1/auth/oidc/callback')
        .split(',').map((s) => s.trim()).filter(Boolean),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: env.OIDC_ID_TOKEN_ALG || 'RS256',
    },
  ],
  jwks: signingKeys(),
  // The claims the national identity vouches for, by scope.
  claims: {
    openid: ['sub'],
    profile: ['name', 'birthdate'],
    phone: ['phone_number', 'phone_number_verified'],
    national_id: [idNumberClaim],
  },
  // The relying party reads the claims from the signed ID token, not from userinfo.
  conformIdTokenClaims: false,
  // PKCE (S256 only in this version) for every client, confidential ones included.
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  cookies: { keys: [env.OIDC_COOKIE_KEY || 'dvc-dev-oidc-cookie-key'] },
  ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Interaction: 600, Session: 3600, Grant: 3600 },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const user = bySub.get(sub);
    if (!user) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...user.claims }) };
  },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><h1>${escape(title)}</h1>${body}</body></html>`;
}

async function formBody(ctx) {
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > 16 * 1024) ctx.throw(413);
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// The interaction: a login form (ID number and password), then a consent form.
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/.exec(ctx.path);
  if (!match) return next();
  const [, uid, action] = match;
  ctx.set('Cache-Control', 'no-store');
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
  const { prompt, params } = details;

  if (!action && ctx.method === 'GET') {
    ctx.type = 'html';
    if (prompt.name === 'login') {
      ctx.body = page('Đăng nhập tài khoản định danh điện tử', `
<form method="post" action="/interaction/${uid}/login">
  <label>Số định danh cá nhân <input name="login" autocomplete="username"></label>
  <label>Mật khẩu <input name="password" type="password" autocomplete="current-password"></label>
  <button type="submit">Đăng nhập</button>
</form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Hủy</button></form>`);
    } else {
      ctx.body = page('Chia sẻ thông tin', `
<p>${escape(params.client_id)} yêu cầu: ${escape(params.scope)}</p>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit">Đồng ý</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Từ chối</button></form>`);
    }
    return undefined;
  }
  if (ctx.method !== 'POST') ctx.throw(405);
  const form = await formBody(ctx);
  let result;
  if (action === 'abort') {
    result = { error: 'access_denied', error_description: 'Người dùng đã từ chối.' };
  } else if (action === 'login' && prompt.name === 'login') {
    const user = byLogin.get(form.get('login') || '');
    if (!user || user.password !== form.get('password')) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = page('Đăng nhập tài khoản định danh điện tử', '<p>Sai số định danh hoặc mật khẩu.</p>');
      return undefined;
    }
    result = { login: { accountId: user.sub } };
  } else if (action === 'confirm' && prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  } else {
    ctx.throw(400, `unexpected ${action} at prompt ${prompt.name}`);
  }
  const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(to);
  return undefined;
});

provider.listen(port, host, () => {
  console.log(`oidc provider ${issuer} listening on ${host}:${port}, ${users.length} accounts`);
});
