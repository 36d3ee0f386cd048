// A real OpenID provider (the npm `oidc-provider` package) for Smiletap's single sign-on tests.
//
//   node provider.js PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI POST_LOGOUT_URI
//
// The issuer is http://127.0.0.1:PORT: oidc-provider serves plain http when not told it is
// behind TLS, fine on loopback. Its built-in development interaction is the sign-in page: any
// login name signs in as an account of that name, whose e-mail it is. A name starting with
// "unverified" gets email_verified false, to test that such a claim is refused.
// Prints "listening <issuer>" once it accepts connections.
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri, postLogoutUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const configuration = {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [postLogoutUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: !id.startsWith('unverified') };
      },
    };
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ['smiletap-test-only-cookie-key'] },
  // Fixed, test-only signing key material is not needed: oidc-provider makes one per start.
};

const provider = new Provider(issuer, configuration);
provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
